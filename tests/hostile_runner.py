"""Run ``simlib`` command lines one by one, each in a forked child with bounded memory and time.

Used by ``tests/test_hostile_cli.py``: started once, it imports ``simlib.cli`` (not JAX), then
reads one JSON request per line on stdin, ``{"argv": [...], "limit_bytes": N, "timeout_s": T}``,
forks a child per request and answers one JSON line: the exit status (99: an exception escaped
``main``), stdout and stderr, the child's peak resident memory (``ru_maxrss`` from ``wait4``)
and whether it ran past ``timeout_s``. The child sets ``RLIMIT_AS`` (address space) to
``limit_bytes`` before it runs the command, reads stdin from ``/dev/null`` and writes its output
to files, so a fork per case costs milliseconds instead of a Python start-up.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback

os.environ.setdefault("MPLBACKEND", "Agg")
import simlib.cli  # noqa: E402 - after the backend is chosen

simlib.cli.build_parser()  # import every command group once, before any fork


def _child(argv, limit_bytes, out_path, err_path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, out_path), (2, err_path)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the child exits with os._exit
    try:
        status = simlib.cli.main(argv)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - anything escaping main is what we look for
        traceback.print_exc()
        sys.stderr.flush()
        status = 99
    os._exit(status)


def run_one(argv, limit_bytes: int, timeout_s: float) -> dict:
    folder = tempfile.mkdtemp(prefix="hostile-")
    out_path, err_path = os.path.join(folder, "out"), os.path.join(folder, "err")
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(argv, limit_bytes, out_path, err_path)
    timed_out = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - start > timeout_s:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.02)
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
    else:
        code = -os.WTERMSIG(status)
    read = lambda p: open(p, encoding="utf-8", errors="replace").read()[-20_000:]  # noqa: E731
    result = {
        "rc": code,
        "stdout": read(out_path),
        "stderr": read(err_path),
        "maxrss_kb": usage.ru_maxrss,
        "seconds": time.monotonic() - start,
        "timed_out": timed_out,
    }
    for path in (out_path, err_path):
        os.unlink(path)
    os.rmdir(folder)
    return result


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        result = run_one(request["argv"], request["limit_bytes"], request["timeout_s"])
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
