"""One writer per directory: `training.locks`, the checkpoint and `zoo train`."""

import contextlib
import os
import re
import subprocess
import sys

import pytest

from training.checkpoint import TrainingCheckpoint
from training.cli import main
from training.locks import DirectoryInUseError, lock_directory, unlock_directory

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOLD = (
    "import sys; from training.locks import lock_directory; lock_directory(sys.argv[1]); "
    "print('locked', flush=True); sys.stdin.read()"
)


@contextlib.contextmanager
def held_by_another_process(path):
    """A child process that holds `path`'s lock until the block ends (then it is killed)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, os.fspath(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=REPO),
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        yield child
    finally:
        child.kill()  # SIGKILL: the lock must not outlive it
        child.wait()


def test_a_second_process_is_refused_until_the_first_ends(tmp_path):
    with held_by_another_process(tmp_path) as child:
        with pytest.raises(
            DirectoryInUseError, match=re.escape(f"(pid {child.pid}) is writing to {tmp_path}")
        ):
            lock_directory(tmp_path)
    lock_directory(tmp_path)  # the holder was killed: no stale lock
    unlock_directory(tmp_path)


def test_the_holder_may_lock_again_and_unlocking_frees_it(tmp_path):
    lock_directory(tmp_path / "run")  # creates the directory
    lock_directory(tmp_path / "run")
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(
            [sys.executable, "-c", HOLD, str(tmp_path / "run")],
            input="",
            capture_output=True,
            check=True,
            env=dict(os.environ, PYTHONPATH=REPO),
        )
    unlock_directory(tmp_path / "run")
    unlock_directory(tmp_path / "run")  # not held: nothing to do
    done = subprocess.run(
        [sys.executable, "-c", HOLD, str(tmp_path / "run")],
        input="",
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=REPO),
    )
    assert done.stdout.strip() == "locked"


def test_a_checkpoint_in_use_is_left_alone(tmp_path):
    # Repairing would delete the running writer's staging directory.
    staging = tmp_path / ".latest.tmp-abc"
    staging.mkdir()
    with held_by_another_process(tmp_path):
        with pytest.raises(DirectoryInUseError, match="training into"):
            TrainingCheckpoint(tmp_path).recover()
        assert staging.exists()
    checkpoint = TrainingCheckpoint(tmp_path)
    assert not checkpoint.recover()  # now this process may repair it
    assert not staging.exists()
    unlock_directory(tmp_path)


def test_zoo_train_into_a_directory_in_use_exits_2(tmp_path, capsys):
    with held_by_another_process(tmp_path) as child:
        assert main(["train", "--num-pairs", "50", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"Another process (pid {child.pid}) is training into {tmp_path}" in err
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == [".lock"]  # nothing written


def test_zoo_train_into_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["train", "--num-pairs", "50", "--out", str(tmp_path / "notes.txt")]) == 2
    err = capsys.readouterr().err
    assert (
        f"{tmp_path / 'notes.txt'} exists and is not a directory; training into it needs a directory" in err
    )
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_run_that_fails_before_writing_leaves_no_directory_behind(tmp_path, capsys):
    """A typo in a setting fails after the lock is taken: the new `--out` it made goes again."""
    out = tmp_path / "new" / "run"
    args = ["train", "--preset", "gru_luong_small", "--num-pairs", "50", "--out", str(out)]
    assert main([*args, "--set", "num_layers=0"]) == 2
    assert "num_layers" in capsys.readouterr().err
    assert not out.exists() and (tmp_path / "new").is_dir()
    # A directory that was there before is left as it was, its lock file included.
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main([*args, "--set", "num_layers=0"]) == 2
    assert sorted(os.listdir(out)) == [".lock", "notes.txt"]
