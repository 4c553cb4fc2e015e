"""Write a directory so that readers see the old one or the new one, never half."""

import contextlib
import dataclasses
import errno
import fcntl
import glob
import os
import shutil
import tempfile
import time

# A staging directory or half-deleted copy younger than this is left alone
# even when no process holds it: its writer may be between making it and
# locking it, or still deleting it.
ABANDONED_AFTER_S = 60


@dataclasses.dataclass(frozen=True)
class DirectoryKind:
    """What a directory that `atomic_directory` may replace holds.

    Replacing a directory deletes what was in it, so a writer names the
    kind it writes and replaces only an earlier one of that kind: a preset
    over a preset, an export over an export, never a run's folder with its
    checkpoints or a folder of the user's own files.
    """

    name: str  # for messages: "a preset directory"
    marker: str  # the entry every such directory holds: "config.json"
    entries: frozenset  # every top-level entry such a directory may hold


def check_replaceable(path, kind):
    """Raise `FileExistsError` unless writing `kind` at `path` would delete nothing but an earlier one.

    `path` may be missing, an empty directory, or a directory of `kind`:
    one that holds `kind.marker` and nothing outside `kind.entries`.
    """
    path = absolute(path)
    if not os.path.exists(path):
        return
    if not os.path.isdir(path):
        raise FileExistsError(f"{path} exists and is not a directory.")
    held = sorted(os.listdir(path))
    if not held or (kind.marker in held and kind.entries.issuperset(held)):
        return
    foreign = [entry for entry in held if entry not in kind.entries] or held
    listed = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    raise FileExistsError(
        f"{path} already exists and is not {kind.name}: it holds {listed}. Writing there would "
        "delete what it holds; give a new or empty directory, or move it away first."
    )


@contextlib.contextmanager
def atomic_directory(path, kind=None):
    """Yield a temporary directory that replaces `path` when the block succeeds.

    The new directory is written beside `path` and renamed into place; an
    existing `path` is moved aside first and removed only after the rename.
    Before it is removed it is renamed once more, to `.<name>.trash-*`, so a
    copy that a kill left half-deleted is never taken for a whole one (see
    `recover_directory`).
    If the block raises, `path` is left as it was and the temporary
    directory is removed. With a `kind` (`DirectoryKind`), an existing
    `path` that is not an earlier directory of that kind raises
    `FileExistsError` before anything is written (see `check_replaceable`).

    The staging directory is locked (`flock`) until it is in place, and
    the system drops the lock when its process ends, however it ends. So
    what a killed writer left beside `path` (its staging directory, a copy
    it was deleting) is removed by the next write, once no process holds
    it (see `remove_abandoned`).
    """
    path = absolute(path)
    parent, name = os.path.split(path)
    if kind is not None:
        check_replaceable(path, kind)
    elif os.path.exists(path) and not os.path.isdir(path):
        raise FileExistsError(f"{path} exists and is not a directory.")
    _make_parent(path)
    remove_abandoned(path)
    staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    lock = _lock(staging)
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private (0700); a saved model is not
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        sync_tree(staging)
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.rmdir(old)
            os.rename(path, old)
        os.rename(staging, path)
        _sync(parent)
    finally:
        if lock is not None:
            os.close(lock)
    if old is not None:
        trash = tempfile.mkdtemp(prefix=f".{name}.trash-", dir=parent)
        os.rmdir(trash)
        os.rename(old, trash)
        shutil.rmtree(trash, ignore_errors=True)


def remove_abandoned(path):
    """Remove what killed writers left beside `path`: staging copies and half-deleted ones.

    That is `.<name>.tmp-*` (directories, or files that `atomic_file`
    staged) and `.<name>.trash-*`, and only those older than
    `ABANDONED_AFTER_S` that no process holds: a writer holds its staging
    copy's `flock` until the copy is in place. Where the file system gives
    no locks, staging copies are left. A whole earlier copy
    (`.<name>.old-*`, which a kill between the two renames leaves) is never
    removed here: `recover_directory` puts it back.
    """
    parent, name = os.path.split(absolute(path))
    for stray in _siblings(parent, f".{name}.tmp-") + _siblings(parent, f".{name}.trash-"):
        try:
            if os.path.islink(stray) or time.time() - os.path.getmtime(stray) < ABANDONED_AFTER_S:
                continue
        except OSError:  # removed meanwhile
            continue
        lock = _lock(stray)
        if lock is None:
            continue  # its writer is alive, or there are no locks to tell
        try:
            if os.path.isdir(stray):
                shutil.rmtree(stray, ignore_errors=True)
            else:
                os.remove(stray)
        except OSError:  # removed meanwhile
            pass
        finally:
            os.close(lock)


def _lock(path):
    """An open descriptor of `path`, a directory or a file, that holds its exclusive `flock`.

    `None` if another open file holds it (another writer), or the file
    system gives no lock.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def recover_directory(path):
    """Undo what a kill inside `atomic_directory(path)` left behind; `True` if `path` exists.

    A kill between its two renames leaves `path` missing and the previous
    content, complete, in a `.<name>.old-*` copy beside it: the copy is
    moved back. Staging directories (`.<name>.tmp-*`), old copies that are
    no longer needed, and copies a kill left half-deleted (`.<name>.trash-*`)
    are removed. Call it only while no other process writes `path`, such as
    when a training run starts.
    """
    path = absolute(path)
    parent, name = os.path.split(path)
    old = sorted(_siblings(parent, f".{name}.old-"), key=os.path.getmtime)
    if not os.path.isdir(path) and old:
        # An old copy is renamed to `.trash-*` before any of it is deleted, so
        # every `.old-*` copy is whole. With `path` missing, the newest is the
        # one the kill interrupted (older ones outlive a failed cleanup).
        os.rename(old.pop(), path)
    for stray in old + _siblings(parent, f".{name}.tmp-") + _siblings(parent, f".{name}.trash-"):
        shutil.rmtree(stray, ignore_errors=True)
    return os.path.isdir(path)


def interrupted_save(path):
    """The whole earlier copy that a save into `path` moved aside when a kill stopped it, or None.

    A kill between `atomic_directory`'s two renames leaves `path` missing and
    the content it replaced, whole, in `.<name>.old-*` beside it (the newest
    such copy). `recover_directory` moves it back; this only finds it, for
    an error message that names it.
    """
    path = absolute(path)
    if os.path.lexists(path):
        return None
    parent, name = os.path.split(path)
    old = sorted(_siblings(parent, f".{name}.old-"), key=os.path.getmtime)
    return old[-1] if old else None


def _siblings(parent, prefix):
    return glob.glob(os.path.join(glob.escape(parent), glob.escape(prefix) + "*"))


def check_file_target(path):
    """Raise unless a file can be written at `path`; return it as an absolute path.

    `IsADirectoryError` if `path` is a directory, `NotADirectoryError` if a
    file stands where one of its parent directories would go. Missing
    parent directories are fine: `atomic_file` makes them.
    """
    path = absolute(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot write the file {path}: it is a directory.")
    _check_parent(path)
    return path


def _check_parent(path):
    """`NotADirectoryError` if a file stands where a parent directory of `path` would go."""
    parent = os.path.dirname(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise NotADirectoryError(f"Cannot write {path}: {parent} is a file, not a directory.")


def _make_parent(path):
    _check_parent(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)


@contextlib.contextmanager
def atomic_file(path, in_directory=False):
    """Yield a temporary file path that replaces `path` when the block succeeds.

    `path` is checked before the block runs (see `check_file_target`). The
    file is flushed to the disk before it takes the name; staging files
    that killed writers left beside `path` are removed (`remove_abandoned`).
    `in_directory=True` stages it as `.<name>.tmp-*/<name>`: under its own
    name, for a writer that reads the format from it (Keras' `.keras` and
    `.weights.h5`), and with the lock on the directory, for a writer that
    locks the file it writes (HDF5).
    """
    path = check_file_target(path)
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    remove_abandoned(path)
    if in_directory:
        holder = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
        descriptor, staging = os.open(holder, os.O_RDONLY), os.path.join(holder, name)
    else:
        holder = None
        descriptor, staging = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        # Held until the file is in place, and dropped by the system however
        # this process ends: a staging file no one holds was abandoned.
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # no locks here: `remove_abandoned` then leaves staging files alone
    try:
        if holder is None:  # the writer creates it otherwise, as `open` would
            os.chmod(staging, 0o666 & ~_umask())  # mkstemp makes it 0600
        yield staging
        _sync(staging)
        os.replace(staging, path)
        _sync(parent)
    except BaseException:
        if os.path.exists(staging):
            os.remove(staging)
        raise
    finally:
        os.close(descriptor)
        if holder is not None:
            shutil.rmtree(holder, ignore_errors=True)


def sync_tree(root):
    """Flush the files and directories under `root`, and `root`, to the disk (`fsync`).

    A rename is atomic, but a machine that stops (power, a preempted VM)
    before the system writes its cache back can leave the new name on
    files whose data never reached the disk: empty or half written. So
    what is renamed into place is flushed first, and the directory that
    holds the new name after.
    """
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            _sync(os.path.join(directory, name))
        _sync(directory)


def _sync(path):
    """`fsync` one file or directory; a file system that cannot flush a directory is let be."""
    if os.path.islink(path):
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(descriptor)


def absolute(path):
    """`path` made absolute, `~` read as the home folder (as `zoo.load` reads it)."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def _umask():
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask
