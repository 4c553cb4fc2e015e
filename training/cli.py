"""The `zoo` command: train, evaluate, translate, export, presets.

The arguments are in `training.cli_arguments`, the commands in
`training.cli_commands`; here is what runs them: TensorFlow's start-up kept
quiet, and a user's error, an interrupt or a full disk told in one line.
"""

import contextlib
import errno
import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

from training import cli_arguments, cli_commands  # noqa: E402 - light: no TensorFlow
from training.locks import DirectoryInUseError  # noqa: E402 - light: no TensorFlow

EXIT_USER_ERROR = 2

# Each command's function, by the name `zoo COMMAND` gives it.
COMMANDS = {
    "train": cli_commands.run_train,
    "evaluate": cli_commands.run_evaluate,
    "translate": cli_commands.run_translate,
    "export": cli_commands.run_export,
    "presets": cli_commands.run_presets,
}


def main(argv=None):
    """Run the CLI; returns the exit code (0 ok, 2 a user error)."""
    parser = cli_arguments.build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "sentences", None) is not None and not any(a.startswith("-") for a in extra):
        # argparse ends `zoo translate`'s SENTENCE list at the first option, and
        # left `zoo translate DIR --beam-width 4 "hola"` an unrecognized "hola".
        args.sentences += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        with _startup_info_dropped():
            import zoo  # noqa: F401 - first: a wrong Keras backend is named before a command imports Keras

        return COMMANDS[args.command](args) or 0
    except ImportError as e:
        backend = sys.modules.get("zoo.backend")
        if backend is None or not isinstance(e, backend.BackendError):
            raise
        print(f"zoo {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (
        ValueError,
        TypeError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        DirectoryInUseError,
    ) as e:
        print(f"zoo {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted{_how_to_resume(args)}", file=sys.stderr)
        return 130
    except PermissionError as e:  # a place the user may not write or read
        print(f"zoo {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        # The reader stopped early (`zoo translate ... | head`): not an error
        # of ours. Python's own recipe: no traceback, and no second error
        # when the interpreter flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE
    except OSError as e:
        if e.errno not in MACHINE_ERRORS:
            raise  # a bug's traceback stays
        # A full disk, a read-only or lost file system: the files are
        # written atomically, so what was saved before is whole.
        print(f"zoo {args.command}: error: {e}{_how_to_resume(args)}", file=sys.stderr)
        return 1


# TensorFlow's C++ lines at INFO ("I0000 ... Could not find cuda drivers"), and absl's
# notice that comes before them.
_STARTUP_INFO = re.compile(r"I\d{4} |WARNING: All log messages before absl::InitializeLog\(\) is called")


@contextlib.contextmanager
def _startup_info_dropped():
    """Leave out the INFO lines TensorFlow writes while it is imported; pass on all else it writes.

    TensorFlow 2.21 logs them through absl before absl's logging is set up,
    where `TF_CPP_MIN_LOG_LEVEL` does not reach (tensorflow/tensorflow#100442):
    six lines of noise before every command's output. They are dropped at
    the level that asks for it (1 and up; the CLI's default is 2); warnings,
    errors and Python's own messages are written as they came, once the
    import ends or fails.
    """
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")
    if "tensorflow" in sys.modules or not level.isdigit() or int(level) < 1:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to keep clean (`2>&-`, a closed sys.stderr)
        yield
        return
    try:
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                captured.seek(0)
                lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
                sys.stderr.write("".join(line for line in lines if not _STARTUP_INFO.match(line)))
                sys.stderr.flush()
    finally:
        os.close(saved)


# The operating system's errors that say the machine, not the code, stopped the command.
MACHINE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ESTALE, errno.ENOMEM}


def _how_to_resume(args):
    """For an interrupted `zoo train`: where its state is, and that the same command resumes from it."""
    if args.command != "train":
        return ""
    from training.checkpoint import LATEST, read_state
    from training.config import CHECKPOINT_DIR

    latest = os.path.join(args.out, CHECKPOINT_DIR, LATEST)
    try:
        state = read_state(latest)
    except ValueError:
        return "; nothing was saved yet, so the same command starts afresh"
    where = f"epoch {state['epoch'] + 1}, step {state['step']}"
    return f"; the same command resumes from {latest} ({where})"


if __name__ == "__main__":
    sys.exit(main())
