"""More than one process: the same training run by P operating-system processes on this machine.

A real multi-host job is several processes, each owning its own devices, that agree on one
global mesh. ``jax.distributed.initialize`` makes that happen: process 0 starts a coordination
service on ``localhost:PORT``, every process connects to it, and afterwards ``jax.devices()``
lists the devices of all processes while ``jax.local_devices()`` lists a process's own. On CPU
the collectives between processes go through gloo (TCP). The training code is the same as in
one process: each process places only its own shards (``jax.device_put`` of data that every
process holds) and gathers other processes' shards with ``process_allgather``.

``launch`` starts the P processes and watches them:

- each runs in its own process group (``start_new_session``), and ``initialize_from_env`` asks
  the kernel to kill it when the launcher dies (``PR_SET_PDEATHSIG``), so nothing is left
  behind even if the launcher itself is killed;
- when one process exits with an error, the others are stopped at once (SIGTERM to the group,
  SIGKILL after ``grace_s``) and the launcher reports which process failed and why;
- a run longer than ``timeout_s`` is stopped the same way;
- a port already in use is refused before anything starts.

Each launched process writes ``simlib: launch: process N of P joined the job`` to its stderr
once ``jax.distributed`` is up: a readiness signal that tools (and the tests) can wait on
instead of sleeping.

Each process also knows that its peers may die: ``jax.distributed`` is started with a short
heartbeat timeout, so a process left alone stops by itself within ``heartbeat_timeout_s``.

Example:
    >>> result = launch(LaunchConfig(processes=2, devices_per_process=4),     # doctest: +SKIP
    ...                 [sys.executable, "-m", "simlib.cli.engine_parallel", "tp", "--json"])
    >>> result.stdout                                                           # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from simlib.errors import ConfigError, SimlibError, check_positive

__all__ = [
    "LaunchConfig",
    "LaunchError",
    "LaunchResult",
    "check_port",
    "die_with_launcher",
    "distributed_env",
    "free_port",
    "initialize_from_env",
    "launch",
]

ENV_COORDINATOR = "SIMLIB_COORDINATOR"
ENV_PROCESSES = "SIMLIB_NUM_PROCESSES"
ENV_PROCESS_ID = "SIMLIB_PROCESS_ID"
ENV_HEARTBEAT = "SIMLIB_HEARTBEAT_TIMEOUT_S"
ENV_LAUNCHER_PID = "SIMLIB_LAUNCHER_PID"


class LaunchError(SimlibError, RuntimeError):
    """A launched process failed or the run timed out (the other processes were stopped)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class LaunchConfig:
    """How many processes, how many CPU devices each, and the limits that end a bad run."""

    processes: int = 2
    devices_per_process: int = 4
    port: int = 0  # 0: pick a free port
    timeout_s: float = 600.0
    heartbeat_timeout_s: int = 10
    grace_s: float = 2.0

    def __post_init__(self):
        check_positive("processes", self.processes, integer=True)
        check_positive("devices_per_process", self.devices_per_process, integer=True)
        check_positive("timeout_s", self.timeout_s)
        check_positive("heartbeat_timeout_s", self.heartbeat_timeout_s, integer=True)
        if int(self.port) != self.port or not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0 (pick a free one) or 1-65535, got {self.port!r}")

    @property
    def devices(self) -> int:
        return self.processes * self.devices_per_process


@dataclass(frozen=True)
class LaunchResult:
    """What the processes did: process 0's output, every exit status, and the time taken."""

    stdout: str
    returncodes: tuple[int, ...]
    pids: tuple[int, ...]
    port: int
    seconds: float


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def check_port(port: int) -> None:
    """Raise ``ConfigError`` naming the port and the fix if something already holds ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("", port))
        except OSError as exc:
            raise ConfigError(
                f"port {port} is already in use ({exc.strerror}); choose another with "
                "--port, or leave --port out to pick a free one"
            ) from None


def distributed_env(config: LaunchConfig, port: int, process_id: int) -> dict[str, str]:
    """The environment of process ``process_id``: coordinator, rank, its CPU device count."""
    env = dict(os.environ)
    env.update({
        ENV_COORDINATOR: f"localhost:{port}",
        ENV_PROCESSES: str(config.processes),
        ENV_PROCESS_ID: str(process_id),
        ENV_HEARTBEAT: str(config.heartbeat_timeout_s),
        ENV_LAUNCHER_PID: str(os.getpid()),
        "JAX_NUM_CPU_DEVICES": str(config.devices_per_process),
        "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    env.pop("XLA_FLAGS", None)  # a forced device count there would override ours
    return env


def initialize_from_env() -> bool:
    """In a launched process: ``jax.distributed.initialize`` from the launcher's environment.

    Returns False (and does nothing) in a process the launcher did not start. Must run before
    anything else uses JAX; it starts the backend, so the device count is fixed afterwards.
    """
    if ENV_COORDINATOR not in os.environ:
        return False
    die_with_launcher()
    import jax

    jax.distributed.initialize(
        coordinator_address=os.environ[ENV_COORDINATOR],
        num_processes=int(os.environ[ENV_PROCESSES]),
        process_id=int(os.environ[ENV_PROCESS_ID]),
        initialization_timeout=60,
        heartbeat_timeout_seconds=int(os.environ.get(ENV_HEARTBEAT, "10")),
    )
    jax.devices()  # start the backend now: later device-count requests must not change it
    rank, size = os.environ[ENV_PROCESS_ID], os.environ[ENV_PROCESSES]  # the readiness line:
    print(f"simlib: launch: process {rank} of {size} joined the job ({jax.device_count()} "
          "devices)", file=sys.stderr, flush=True)  # fmt: skip
    return True


def die_with_launcher() -> None:
    """In a launched process: be killed by the kernel when the launcher dies (Linux), and exit
    now if it already has. Called first thing, so a killed launcher leaves no orphans."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    launcher = os.environ.get(ENV_LAUNCHER_PID)
    if launcher and os.getppid() != int(launcher):
        os._exit(1)


def _stop(procs: Sequence[subprocess.Popen], grace_s: float) -> None:
    """SIGTERM every process group still running, SIGKILL after ``grace_s``, reap them all."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [p for p in procs if p.poll() is None]
        for p in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, sig)
        deadline = time.monotonic() + grace_s
        while any(p.poll() is None for p in alive) and time.monotonic() < deadline:
            time.sleep(0.02)
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=grace_s)


def _last_error_line(path: str) -> str:
    """The most telling line of a process's stderr: its simlib error, else its last error."""
    with open(path, errors="replace") as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("[Gloo]")]
    for line in reversed(lines):
        if line.startswith("simlib: error:"):
            return line.removeprefix("simlib: error:").strip()
    for line in reversed(lines):
        if re.search(r"\w+(Error|Exception)\b|Check failed|Aborted|Terminated", line):
            return line[:300]
    return ""


def launch(
    config: LaunchConfig,
    command: Sequence[str],
    *,
    on_start: Callable[[int, int], None] | None = None,
) -> LaunchResult:
    """Run ``command`` as ``config.processes`` processes that form one JAX job; watch them.

    Args:
        config: processes, devices per process, port, timeouts.
        command: the argv each process runs (it must call ``initialize_from_env`` first).
        on_start: called with ``(process_id, pid)`` as each process starts.

    Returns:
        ``LaunchResult`` with process 0's stdout once every process exited with status 0.

    Raises:
        ConfigError: the port is in use.
        LaunchError: a process failed (the others were stopped) or ``timeout_s`` passed.
    """
    port = config.port or free_port()
    check_port(port)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="simlib-launch-") as tmp:
        procs, outs, errs = [], [], []
        try:
            for rank in range(config.processes):
                outs.append(os.path.join(tmp, f"{rank}.out"))
                errs.append(os.path.join(tmp, f"{rank}.err"))
                with open(outs[-1], "w") as out, open(errs[-1], "w") as err:
                    procs.append(subprocess.Popen(
                        list(command), env=distributed_env(config, port, rank), stdout=out,
                        stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
                    ))  # fmt: skip
                if on_start:
                    on_start(rank, procs[-1].pid)
            _watch(procs, errs, config, start)
        finally:
            _stop(procs, config.grace_s)
        with open(outs[0]) as f:
            stdout = f.read()
    return LaunchResult(
        stdout=stdout, returncodes=tuple(p.returncode for p in procs),
        pids=tuple(p.pid for p in procs), port=port, seconds=time.monotonic() - start,
    )  # fmt: skip


def _watch(procs, errs, config: LaunchConfig, start: float) -> None:
    """Return when all processes exited 0; raise ``LaunchError`` on a failure or the timeout."""
    while True:
        codes = [p.poll() for p in procs]
        failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            rank, code = failed[0]
            others = len(procs) - 1
            how = (f"was killed by {signal.Signals(-code).name}" if code < 0
                   else f"exited with status {code}")  # fmt: skip
            why = _last_error_line(errs[rank])
            raise LaunchError(
                f"process {rank} of {len(procs)} {how}{': ' + why if why else ''}; "
                f"stopped the other {others} process{'es' if others != 1 else ''}",
                exit_code=2 if code == 2 else 1,
            )
        if all(c == 0 for c in codes):
            return
        if time.monotonic() - start > config.timeout_s:
            raise LaunchError(
                f"the {len(procs)} processes did not finish within {config.timeout_s:g} s; "
                "stopped them all; raise --timeout if the run needs longer"
            )
        time.sleep(0.05)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `simlib engine launch`")
