"""One writer per directory: an exclusive lock that the system drops when its process ends."""

import fcntl
import os

LOCK_FILE = ".lock"

# The directories this process has locked: absolute path -> open lock file.
_held: dict = {}


class DirectoryInUseError(RuntimeError):
    """Another process holds the lock of a directory this one was about to write."""


def lock_directory(path: str, purpose: str = "writing to") -> None:
    """Take `path`'s exclusive lock (creating `path`), or raise `DirectoryInUseError`.

    The lock is an `flock` on `<path>/.lock`, which holds the owner's pid
    for the message: the operating system releases it when the owner
    exits, however it ends, so a killed run never leaves a stale lock.
    Locking a directory this process already holds does nothing.

    Args:
        path: the directory.
        purpose: what the holder does, for the message ("training into").
    """
    path = os.path.abspath(os.fspath(path))
    if path in _held:
        return
    if os.path.exists(path) and not os.path.isdir(path):
        raise FileExistsError(f"{path} exists and is not a directory; {purpose} it needs a directory there.")
    os.makedirs(path, exist_ok=True)
    lock = open(os.path.join(path, LOCK_FILE), "a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        raise DirectoryInUseError(
            f"Another process{f' (pid {holder})' if holder else ''} is {purpose} {path}. Two writers "
            "would overwrite each other's files: wait for it to end, or write somewhere else."
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    _held[path] = lock


def unlock_directory(path: str) -> None:
    """Release `path`'s lock if this process holds it."""
    lock = _held.pop(os.path.abspath(os.fspath(path)), None)
    if lock is not None:
        lock.close()  # closing the file releases the flock
