import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from zoo import atomic
from zoo.atomic import atomic_directory, atomic_file


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_writes_get_the_permissions_a_plain_write_would(tmp_path, umask_022):
    with atomic_file(tmp_path / "plot.png") as staging, open(staging, "w") as f:
        f.write("x")
    with atomic_directory(tmp_path / "preset") as staging:
        with open(os.path.join(staging, "config.json"), "w") as f:
            f.write("{}")
    assert stat.S_IMODE(os.stat(tmp_path / "plot.png").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "preset").st_mode) == 0o755


def test_a_failed_atomic_write_leaves_the_old_content(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as staging:
            with open(staging, "w") as f:
                f.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.json"]


def _write(directory, text):
    with open(os.path.join(directory, "config.json"), "w") as f:
        f.write(text)


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no cleanup of the step it lands in."""


def _kill_at_call(monkeypatch, name, number):
    """Make the `number`-th call of `zoo.atomic`'s `os.<name>` (or `shutil.<name>`) a kill."""
    module = atomic.shutil if name == "rmtree" else atomic.os
    real, calls = getattr(module, name), []

    def fake(*args, **kwargs):
        calls.append(args)
        if len(calls) == number:
            if name == "rmtree":  # dies half way through deleting, which touches the directory last
                os.remove(os.path.join(args[0], "config.json"))
                later = os.path.getmtime(args[0]) + 60
                os.utime(args[0], (later, later))
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, fake)


@pytest.mark.parametrize("name, number", [("rename", 1), ("rename", 2), ("rename", 3), ("rmtree", 1)])
def test_recover_directory_repairs_what_a_kill_inside_atomic_directory_left(
    tmp_path, monkeypatch, name, number
):
    target = tmp_path / "latest"
    target.mkdir()
    _write(target, "old")
    _kill_at_call(monkeypatch, name, number)
    with pytest.raises(Killed):
        with atomic_directory(target) as staging:
            _write(staging, "new")
    monkeypatch.undo()
    assert atomic.recover_directory(target)
    # Killed before the new copy was in place: the old one; after: the new one.
    expected = "old" if (name, number) in (("rename", 1), ("rename", 2)) else "new"
    assert (target / "config.json").read_text() == expected
    assert os.listdir(tmp_path) == ["latest"]  # no staging or old copies left


def test_a_copy_left_half_deleted_is_never_put_back(tmp_path, monkeypatch):
    # A save whose cleanup died half way (a kill, or an error rmtree ignored),
    # then the next save killed between its renames, before any recovery ran.
    # The half-deleted copy was touched last, yet the whole one comes back.
    target = tmp_path / "latest"
    target.mkdir()
    _write(target, "first")
    for name, number, text in (("rmtree", 1, "second"), ("rename", 2, "third")):
        _kill_at_call(monkeypatch, name, number)
        with pytest.raises(Killed):
            with atomic_directory(target) as staging:
                _write(staging, text)
        monkeypatch.undo()
    assert atomic.recover_directory(target)
    assert (target / "config.json").read_text() == "second"
    assert os.listdir(tmp_path) == ["latest"]


def test_recover_directory_without_anything_to_recover(tmp_path):
    assert not atomic.recover_directory(tmp_path / "latest")
    (tmp_path / "latest").mkdir()
    assert atomic.recover_directory(tmp_path / "latest")
    assert os.listdir(tmp_path) == ["latest"]


def _age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


# A writer in a process of its own, stopped inside `atomic_directory` with
# its staging directory written. zoo/atomic.py is loaded alone: `import zoo`
# would take seconds to import TensorFlow.
_WRITER = """
import importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
with atomic.atomic_directory(sys.argv[2]) as staging:
    with open(os.path.join(staging, "config.json"), "w") as f:
        f.write("half")
    print(staging, flush=True)
    time.sleep(600)
"""


def _start_writer(script, target):
    """A writer in a process of its own, stopped inside an atomic write: the process and its staging path."""
    writer = subprocess.Popen(
        [sys.executable, "-c", script, atomic.__file__, str(target)], stdout=subprocess.PIPE, text=True
    )
    return writer, writer.stdout.readline().strip()


def _kill(writer):
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()


def test_what_a_killed_writer_left_is_removed_by_the_next_write_and_not_before(tmp_path):
    target = tmp_path / "preset"
    writer, staging = _start_writer(_WRITER, target)
    try:
        assert os.path.basename(staging).startswith(".preset.tmp-")
        _age(staging, 2 * atomic.ABANDONED_AFTER_S)
        # Alive, the writer holds its staging directory: another write leaves it.
        with atomic_directory(target) as mine:
            _write(mine, "first")
            assert atomic._lock(mine) is None  # this writer holds its own
        assert os.path.isdir(staging)
    finally:
        _kill(writer)
    # A copy a kill left half-deleted, and a staging directory younger than a minute.
    trash, young = tmp_path / ".preset.trash-x", tmp_path / ".preset.tmp-young"
    for stray in (trash, young):
        stray.mkdir()
    _age(trash, 2 * atomic.ABANDONED_AFTER_S)
    with atomic_directory(target) as mine:
        _write(mine, "second")
    assert (target / "config.json").read_text() == "second"
    # Killed, its lock went with it; the young one may be a writer between making and locking it.
    assert sorted(os.listdir(tmp_path)) == [".preset.tmp-young", "preset"]


_FILE_WRITER = _WRITER.replace(
    """with atomic.atomic_directory(sys.argv[2]) as staging:
    with open(os.path.join(staging, "config.json"), "w") as f:""",
    """with atomic.atomic_file(sys.argv[2]) as staging:
    with open(staging, "w") as f:""",
)


def test_a_staging_file_a_killed_writer_left_is_removed_by_the_next_write_and_not_before(tmp_path):
    target = tmp_path / "history.csv"
    writer, staging = _start_writer(_FILE_WRITER, target)
    try:
        assert os.path.basename(staging).startswith(".history.csv.tmp-") and os.path.isfile(staging)
        _age(staging, 2 * atomic.ABANDONED_AFTER_S)
        with atomic_file(target) as mine, open(mine, "w") as f:  # alive, the writer holds it
            f.write("first")
        assert os.path.isfile(staging)
    finally:
        _kill(writer)
    young = tmp_path / ".history.csv.tmp-young"
    young.write_text("")
    with atomic_file(target) as mine, open(mine, "w") as f:
        f.write("second")
    assert target.read_text() == "second"
    assert sorted(os.listdir(tmp_path)) == [".history.csv.tmp-young", "history.csv"]


def test_a_file_staged_in_a_directory_keeps_its_name_and_a_killed_writer_leaves_nothing_for_long(tmp_path):
    """`in_directory=True`, for Keras' `.keras` and `.weights.h5`: the lock is on the directory (HDF5 locks the file)."""
    target = tmp_path / "model.keras"
    script = _FILE_WRITER.replace(
        "atomic.atomic_file(sys.argv[2])", "atomic.atomic_file(sys.argv[2], in_directory=True)"
    )
    writer, staging = _start_writer(script, target)
    holder = os.path.dirname(staging)
    try:
        assert os.path.basename(staging) == "model.keras"
        assert os.path.basename(holder).startswith(".model.keras.tmp-") and os.path.isfile(staging)
        _age(holder, 2 * atomic.ABANDONED_AFTER_S)
        with atomic_file(target, in_directory=True) as mine:  # alive, the writer holds its directory
            with open(mine, "w") as f:
                f.write("first")
            lock = atomic._lock(mine)  # the file itself is left free for its writer to lock
            assert lock is not None
            os.close(lock)
        assert os.path.isfile(staging)
    finally:
        _kill(writer)
    with atomic_file(target, in_directory=True) as mine, open(mine, "w") as f:
        f.write("second")
    assert target.read_text() == "second"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_a_whole_earlier_copy_is_left_for_recovery(tmp_path):
    old = tmp_path / ".preset.old-x"  # what a kill between the two renames leaves: `preset` is missing
    old.mkdir()
    _write(old, "whole")
    _age(old, 2 * atomic.ABANDONED_AFTER_S)
    atomic.remove_abandoned(tmp_path / "preset")
    assert (old / "config.json").read_text() == "whole"
    assert atomic.recover_directory(tmp_path / "preset")
    assert (tmp_path / "preset" / "config.json").read_text() == "whole"


PRESET_LIKE = atomic.DirectoryKind("a preset directory", "config.json", frozenset({"config.json", "assets"}))


def test_a_directory_is_replaced_only_by_its_own_kind(tmp_path):
    target = tmp_path / "preset"
    for before in ([], ["config.json"], ["config.json", "assets"]):  # nothing, or an earlier one
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for entry in before:
            (target / entry).write_text("old")
        with atomic_directory(target, PRESET_LIKE) as staging:
            _write(staging, "new")
        assert os.listdir(target) == ["config.json"] and (target / "config.json").read_text() == "new"
    with atomic_directory(tmp_path / "new", PRESET_LIKE) as staging:
        _write(staging, "new")
    assert (tmp_path / "new" / "config.json").read_text() == "new"


@pytest.mark.parametrize(
    "entries, named",
    [
        (["config.json", "README.md"], "README.md"),  # the user's own file beside a preset
        (["checkpoint", "logs"], "checkpoint, logs"),  # a run's folder: no config.json
        (["assets"], "assets"),  # the marker missing: not a preset
        ([f"f{i}" for i in range(7)], "f0, f1, f2, f3, f4 and 2 more"),
    ],
)
def test_anything_else_is_refused_and_left_as_it_was(tmp_path, entries, named):
    target = tmp_path / "out"
    target.mkdir()
    for entry in entries:
        (target / entry).write_text("mine")
    message = f"{target} already exists and is not a preset directory: it holds {named}. Writing there"
    with pytest.raises(FileExistsError, match=re.escape(message)):
        with atomic_directory(target, PRESET_LIKE) as staging:
            _write(staging, "new")
    assert sorted(os.listdir(target)) == sorted(entries)
    assert all((target / entry).read_text() == "mine" for entry in entries)
    assert os.listdir(tmp_path) == ["out"]  # nothing staged
    (tmp_path / "file").write_text("mine")
    with pytest.raises(FileExistsError, match="is not a directory"):
        atomic.check_replaceable(tmp_path / "file", PRESET_LIKE)


def test_a_path_that_cannot_be_written_is_refused_before_the_block_runs(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    in_the_way = "notes.txt is a file, not a directory"
    cases = [
        (atomic_file, tmp_path / "folder", IsADirectoryError, "it is a directory"),
        (atomic_file, tmp_path / "notes.txt" / "plot.png", NotADirectoryError, in_the_way),
        (atomic_file, tmp_path / "notes.txt" / "a" / "plot.png", NotADirectoryError, in_the_way),
        (atomic_directory, tmp_path / "notes.txt" / "a" / "saved", NotADirectoryError, in_the_way),
    ]
    for writer, path, error, message in cases:
        with pytest.raises(error, match=message):
            with writer(path):
                pytest.fail("the block ran")
    assert sorted(os.listdir(tmp_path)) == ["folder", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert os.listdir(tmp_path / "folder") == []
    # Missing parents are made.
    with atomic_file(tmp_path / "new" / "deeper" / "plot.png") as staging:
        open(staging, "w").close()
    assert (tmp_path / "new" / "deeper" / "plot.png").is_file()


def test_loading_a_preset_whose_save_was_killed_names_the_whole_copy(
    tmp_path, monkeypatch, capsys, toy_pairs
):
    import zoo
    from tests.conftest import TINY
    from training.cli import main

    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    target = tmp_path / "preset"
    model.save_to_preset(target)
    assert atomic.interrupted_save(target) is None
    real = os.rename

    def killed_before_the_new_copy_is_in_place(source, destination):
        if os.path.basename(source).startswith(".preset.tmp-"):
            raise Killed
        real(source, destination)

    monkeypatch.setattr(atomic.os, "rename", killed_before_the_new_copy_is_in_place)
    with pytest.raises(Killed):
        model.save_to_preset(target)
    monkeypatch.undo()
    assert not target.exists()
    copy = atomic.interrupted_save(target)
    assert os.path.basename(copy).startswith(".preset.old-")
    with pytest.raises(
        FileNotFoundError, match=f"whole at {re.escape(copy)}: rename that to {re.escape(str(target))}"
    ):
        zoo.load(str(target))
    assert main(["translate", str(target), "hola"]) == 2
    assert f"what it was replacing is whole at {copy}: rename that to" in capsys.readouterr().err
    os.rename(copy, target)  # as the message says
    assert zoo.load(str(target)).translate("hola") == model.translate("hola")


def test_what_is_renamed_into_place_reaches_the_disk_first(tmp_path, monkeypatch):
    """A machine that stops after the rename must not leave the new name on unwritten data."""
    events = []
    fsync, rename, replace = os.fsync, os.rename, os.replace

    def synced(descriptor):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        return fsync(descriptor)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(
        os, "rename", lambda a, b: (events.append(("rename", str(a), str(b))), rename(a, b))[1]
    )
    monkeypatch.setattr(
        os, "replace", lambda a, b: (events.append(("rename", str(a), str(b))), replace(a, b))[1]
    )
    for _ in range(2):  # the first write, then one that replaces it
        events.clear()
        with atomic_directory(tmp_path / "preset") as staging:
            os.makedirs(os.path.join(staging, "assets"))
            for name in ("config.json", os.path.join("assets", "vocabulary.txt")):
                with open(os.path.join(staging, name), "w") as f:
                    f.write("x")
        into_place = next(
            i for i, e in enumerate(events) if e[0] == "rename" and e[2] == str(tmp_path / "preset")
        )
        synced_before = {e[1] for e in events[:into_place] if e[0] == "fsync"}
        staged = events[into_place][1]
        assert synced_before >= {
            staged,
            os.path.join(staged, "assets"),
            os.path.join(staged, "config.json"),
            os.path.join(staged, "assets", "vocabulary.txt"),
        }
        assert ("fsync", str(tmp_path)) in events[into_place:]  # the new name itself
    events.clear()
    with atomic_file(tmp_path / "history.csv") as staging, open(staging, "w") as f:
        f.write("x")
    assert [e[0] for e in events] == ["fsync", "rename", "fsync"]
    assert events[0][1] == events[1][1] and events[2][1] == str(tmp_path)
