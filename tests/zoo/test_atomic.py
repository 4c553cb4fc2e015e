import os
import stat

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
            if name == "rmtree":  # dies half way through deleting
                os.remove(os.path.join(args[0], "config.json"))
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, fake)


@pytest.mark.parametrize("name, number", [("rename", 1), ("rename", 2), ("rmtree", 1)])
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
    expected = "new" if (name, number) == ("rmtree", 1) else "old"
    assert (target / "config.json").read_text() == expected
    assert os.listdir(tmp_path) == ["latest"]  # no staging or old copies left


def test_recover_directory_without_anything_to_recover(tmp_path):
    assert not atomic.recover_directory(tmp_path / "latest")
    (tmp_path / "latest").mkdir()
    assert atomic.recover_directory(tmp_path / "latest")
    assert os.listdir(tmp_path) == ["latest"]
