"""The ``simlib`` command line: one module per command group, one entry point.

Every subcommand accepts ``--json`` and then prints exactly one JSON object on stdout. Errors a
user can fix print one line on stderr (``simlib: error: ...``) and exit with status 2.

The groups are kept in separate modules (``simlib.cli.devices``, ``simlib.cli.engine``, ...) so
that each stays small and ``simlib --help`` imports none of the heavy libraries (JAX, SimPy):
a group imports what it needs inside its handlers. A grading install (the core, without the
``course`` extra) has no JAX, SimPy or matplotlib: a command that needs one says so in one line.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import sys
from collections.abc import Sequence

from simlib.errors import SimlibError

# What the `course` extra brings; a command that needs one of these on a grading install says so.
COURSE_MODULES = frozenset(
    {"jax", "jaxlib", "optax", "orbax", "simpy", "matplotlib", "ipywidgets", "tqdm", "voila"}
)

__all__ = ["main", "build_parser"]

# Modules that add a command group; each defines ``register(subparsers)``.
GROUP_MODULES = (
    "simlib.cli.devices",
    "simlib.cli.engine",
    "simlib.cli.quiz",
    "simlib.cli.sim",
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line that says where to look for help."""

    def error(self, message: str):  # noqa: D401 - argparse API
        message = _LONG_QUOTE.sub(lambda m: _short_quote(m.group(0)), message)
        if len(message) > 600:  # a long value argparse quoted some other way
            message = f"{message[:600]}... ({len(message):,} characters)"
        self.exit(2, f"simlib: error: {message} (see `{self.prog} --help`)\n")


# argparse quotes the whole bad value ("invalid choice: 'xxx...'"); a 5,000-character value
# must not fill the terminal, so quoted runs of 60 or more characters are cut (without spaces:
# prose between two apostrophes is left alone).
_LONG_QUOTE = re.compile(r"'[^'\s]{60,}'")


def _short_quote(quoted: str) -> str:
    return f"{quoted[:41]}...' ({len(quoted) - 2:,} characters)"


def build_parser() -> argparse.ArgumentParser:
    """The full ``simlib`` parser with every command group registered."""
    parser = _Parser(
        prog="simlib",
        description="simlib: distributed training you can run, simulate and be quizzed on.",
    )
    parser.add_argument("--version", action="version", version=f"simlib {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in GROUP_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simlib-course")
    except PackageNotFoundError:  # a source checkout on PYTHONPATH, not installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 a usage or input error).

    Bare ``simlib`` prints the help and exits 0.

    A ``SimlibError`` may carry its own ``exit_status`` (a training run whose loss became
    non-finite exits 1). An ``OSError`` that reaches here (a name the file system refuses, a
    full disk or a full stdout) is one line with exit status 2, never a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "handler"):
            parser.print_help()
            return 0
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a full stdout fails here, where it can still be reported
        return status
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in COURSE_MODULES:
            raise
        print(
            f"simlib: error: this command needs {exc.name}, which the grading install leaves "
            "out; install the course: pip install 'simlib-course[course]'",
            file=sys.stderr,
        )
        return 2
    except SystemExit as exc:  # argparse's own exits (--help, errors)
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    except SimlibError as exc:
        print(f"simlib: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_status", 2))
    except KeyboardInterrupt:
        print("simlib: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `simlib quiz list | head`: the reader left, nothing to say
        _silence_stdout()
        return 0
    except OSError as exc:
        return _os_error(exc)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _os_error(exc: OSError) -> int:
    """One line for a file-system refusal (ENAMETOOLONG, ENOSPC on stdout, EACCES, ...)."""
    from simlib.yaml_files import shorten

    why = exc.strerror or type(exc).__name__
    name = exc.filename if isinstance(exc.filename, str) else None
    if name is None and exc.errno in (errno.ENOSPC, errno.EIO, errno.EPIPE, errno.EFBIG):
        _silence_stdout()
        name = "standard output"
    where = f"{shorten(name)}: " if name else ""
    print(f"simlib: error: {where}{why}; check the path and the space left", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
