"""Checkpoints that survive crashes, written with orbax, and a crash you can cause on purpose.

A run with ``CheckpointConfig(directory, every_steps=K)`` saves the parameters and the losses so
far after every ``K``-th step. Orbax writes each checkpoint into a temporary folder
(``<step>.orbax-checkpoint-tmp...``) and renames it to ``<step>`` only once it is complete; a
crash in the middle of a write leaves the temporary folder behind, which is never read, and
older checkpoints are deleted only after a newer one is finished. So the last *finished*
checkpoint stays usable.

``fail_at_step=F`` makes the run stop right after step ``F`` as a crash would. The CLI then
exits at once, so a checkpoint being written is cut short; called from Python, the exception
``SimulatedCrash`` is raised and orbax's background write may still finish. ``resume=True``
restores the newest finished checkpoint and continues from the step after it with the same
batches: with the same style and devices the final parameters are bitwise identical to an
uninterrupted run's (on other devices, equal up to float rounding).

Checkpoints verify themselves (orbax itself keeps no checksum of the arrays it writes). Once
orbax has finished a step's folder, :func:`write_manifest` records the size and SHA-256 of
every file in it in ``<step>/simlib-sha256.json``. On resume the step folders are checked
newest first (:func:`verify`): one with a flipped byte, a truncated or deleted file, or no
manifest (the run stopped before it was verified) is reported in one line, moved aside into
``<dir>/damaged/``, and the next older one is tried. No intact checkpoint left, or ``resume``
on a folder that holds none (missing, mistyped, empty): a ``ConfigError`` (CLI exit 2), never a
silent start from step 0.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simlib.errors import ConfigError, SimlibError, check_positive

__all__ = [
    "CheckpointConfig",
    "Checkpointer",
    "SimulatedCrash",
    "finished_steps",
    "verify",
    "write_manifest",
]

MANIFEST = "simlib-sha256.json"
DAMAGED = "damaged"

# Fields of the run that must match for a checkpoint to continue it (devices and style may
# change: the parameters are saved unsharded and re-placed on whatever devices resume, and the
# result then matches up to float rounding instead of bitwise).
_MUST_MATCH = ("steps", "batch_size", "learning_rate", "microbatches", "hidden", "dataset", "seed")


class SimulatedCrash(SimlibError):
    """The run stopped on purpose (``fail_at_step``), as a crashed machine would."""

    def __init__(self, step: int, last_checkpoint: int | None, directory: str):
        self.step, self.last_checkpoint = step, last_checkpoint
        saved = f"step {last_checkpoint}" if last_checkpoint else "none yet"
        super().__init__(
            f"simulated crash after step {step} (last finished checkpoint in {directory}: "
            f"{saved}); to continue, run again with resume=True and no fail_at_step "
            "(CLI: add --resume, drop --fail-at-step)"
        )


@dataclass(frozen=True)
class CheckpointConfig:
    """Where and how often to checkpoint, whether to resume, and an optional planned crash."""

    directory: str
    every_steps: int
    resume: bool = False
    fail_at_step: int | None = None
    keep: int = 2

    def __post_init__(self):
        check_positive("checkpoint_every", self.every_steps, integer=True)
        check_positive("keep", self.keep, integer=True)
        if self.fail_at_step is not None:
            check_positive("fail_at_step", self.fail_at_step, integer=True)
        object.__setattr__(self, "directory", str(Path(self.directory).expanduser().resolve()))


def _files(step_dir: Path) -> list[Path]:
    return sorted(p for p in step_dir.rglob("*") if p.is_file() and p.name != MANIFEST)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(step_dir: str | Path) -> None:
    """Record ``{relative path: [bytes, sha256]}`` of every file of a finished step folder.

    Written to a temporary name and renamed, so a crash leaves either no manifest or a whole one.
    """
    step_dir = Path(step_dir)
    files = {str(p.relative_to(step_dir)): [p.stat().st_size, _sha256(p)] for p in _files(step_dir)}
    tmp = step_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"sha256": files}, sort_keys=True), encoding="utf-8")
    os.replace(tmp, step_dir / MANIFEST)


def verify(step_dir: str | Path) -> str | None:
    """None if the step folder matches its manifest, else what is wrong (a short phrase)."""
    step_dir = Path(step_dir)
    try:
        listed = json.loads((step_dir / MANIFEST).read_text(encoding="utf-8"))["sha256"]
    except FileNotFoundError:
        return "it has no checksum manifest (the run stopped before it was verified)"
    except (OSError, ValueError, KeyError, TypeError):
        return f"its checksum manifest {MANIFEST} is unreadable"
    if not isinstance(listed, dict):
        return f"its checksum manifest {MANIFEST} is unreadable"
    present = {str(p.relative_to(step_dir)) for p in _files(step_dir)}
    for name, entry in sorted(listed.items()):
        path = step_dir / name
        if name not in present:
            return f"file {name} is missing"
        size = path.stat().st_size
        if not isinstance(entry, list) or len(entry) != 2:
            return f"its checksum manifest {MANIFEST} is unreadable"
        if size != entry[0]:
            return f"file {name} has {size:,} bytes, not {entry[0]:,} (truncated or changed)"
        if _sha256(path) != entry[1]:
            return f"file {name} does not match its SHA-256 (bytes changed)"
    extra = sorted(present - set(listed))
    return f"file {extra[0]} was not part of the checkpoint" if extra else None


def finished_steps(directory: str | Path, *, resume: bool = False) -> list[int]:
    """The finished step folders, newest first (orbax renames a folder to its step when done).

    With ``resume``, a folder that is missing or holds no finished step is a ConfigError (cheap:
    the CLI calls it before JAX starts).
    """
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        if resume:
            raise ConfigError(
                f"--resume: the checkpoint folder {folder} does not exist, so there is nothing "
                "to resume; check the --checkpoint-dir path, or drop --resume to start afresh"
            )
        return []
    steps = sorted((int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir()),
                   reverse=True)  # fmt: skip
    if resume and not steps:
        raise ConfigError(
            f"--resume: {folder} holds no finished checkpoint; check the --checkpoint-dir path, "
            "or drop --resume to start afresh"
        )
    return steps


def _say(line: str) -> None:
    print(f"simlib: warning: {line}", file=sys.stderr, flush=True)


class Checkpointer:
    """Saves and restores one run's parameters and losses with an orbax ``CheckpointManager``.

    ``notify`` receives the one-line report of each damaged checkpoint skipped on resume
    (default: printed to stderr as ``simlib: warning: ...``).
    """

    def __init__(self, config: CheckpointConfig, run_config, notify: Callable[[str], None] = _say):
        import orbax.checkpoint as ocp

        logging.getLogger("absl").setLevel(logging.ERROR)  # orbax is chatty at INFO
        self._ocp, self.config, self._notify = ocp, config, notify
        self._identity = {k: _jsonable(getattr(run_config, k)) for k in _MUST_MATCH}
        self.skipped: list[str] = []
        if os.path.lexists(config.directory) and not Path(config.directory).is_dir():
            raise ConfigError(
                f"checkpoint directory {config.directory} is not a folder (a file or a broken "
                "link is there); choose another --checkpoint-dir"
            )
        self._resume_step = self._intact_step() if config.resume else None
        options = ocp.CheckpointManagerOptions(max_to_keep=config.keep, create=True)
        try:
            self._manager = ocp.CheckpointManager(config.directory, options=options)
        except OSError as err:
            raise ConfigError(f"checkpoint directory {config.directory}: {err.strerror}") from None
        self.last_saved: int | None = self._manager.latest_step()
        self._pending: int | None = None
        if self.last_saved is not None and not config.resume:  # orbax would silently skip saves
            raise ConfigError(
                f"checkpoint directory {config.directory} already holds checkpoints (newest: "
                f"step {self.last_saved}); continue that run with --resume (resume=True), or "
                "choose an empty --checkpoint-dir"
            )

    def _intact_step(self) -> int:
        """The newest step whose folder matches its manifest; damaged newer ones moved aside."""
        folder = self.config.directory
        steps = finished_steps(folder, resume=True)
        for step in steps:
            problem = verify(Path(folder) / str(step))
            if problem is None:
                return step
            self._set_aside(step, problem, steps)
        raise ConfigError(
            f"--resume: no intact checkpoint in {folder} ({'; '.join(self.skipped)}); the damaged "
            f"ones are in {Path(folder) / DAMAGED}; start afresh with an empty --checkpoint-dir"
        )

    def _set_aside(self, step: int, problem: str, steps: list[int]) -> None:
        folder = Path(self.config.directory)
        target = folder / DAMAGED / str(step)
        n = 1
        while target.exists():
            target, n = folder / DAMAGED / f"{step}.{n}", n + 1
        target.parent.mkdir(exist_ok=True)
        os.replace(folder / str(step), target)
        older = [s for s in steps if s < step]
        then = f"trying step {older[0]}" if older else "no older checkpoint is left"
        self.skipped.append(f"step {step}: {problem}")
        self._notify(f"checkpoint step {step} in {folder} is damaged: {problem}; moved to "
                     f"{target}; {then}")  # fmt: skip

    def restore(self, template) -> tuple[int, object, list[float]]:
        """``(step, host params, losses so far)`` of the newest intact checkpoint, or step 0."""
        step = self._resume_step
        if step is None:
            return 0, template, []
        ocp = self._ocp
        abstract = {"params": _abstract(template)}
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()
            ),
        )
        meta = restored["meta"]
        self._check_identity(meta.get("run", {}), step)
        params = _to_host(restored["state"]["params"])
        return step, params, [float(v) for v in meta["losses"]]

    def _finish_pending(self) -> None:
        if self._pending:
            self._manager.wait_until_finished()
            write_manifest(Path(self.config.directory) / str(self._pending))
            self.last_saved, self._pending = self._pending, None

    def after_step(self, step: int, host_params_fn, losses: list[float]) -> None:
        """Save after every ``every_steps``-th step; raise SimulatedCrash at ``fail_at_step``.

        Each save is written in the background while training goes on, and is finished (and
        its manifest written) before the next step ends (a simplification: real writes of large
        models overlap more steps). A crash right after a save's step therefore catches that
        write half-done. Parameters that are not finite are never saved (NonFiniteLoss).
        """
        self._finish_pending()
        if step % self.config.every_steps == 0:
            ocp = self._ocp
            state = {"params": host_params_fn()}
            _check_finite_params(state["params"], step, self._identity["learning_rate"])
            meta = {"run": self._identity, "losses": list(losses)}
            saved = self._manager.save(
                step,
                args=ocp.args.Composite(
                    state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)
                ),
            )
            if not saved:  # orbax skips a step it already holds
                raise ConfigError(f"checkpoint of step {step} was not written: "
                                  f"{self.config.directory} already holds it")  # fmt: skip
            self._pending = step
        if self.config.fail_at_step == step:  # a crash does not wait for the write to finish
            raise SimulatedCrash(step, self.last_saved, self.config.directory)

    def close(self) -> None:
        """Wait for the last write to finish and verify it."""
        self._finish_pending()
        self._manager.wait_until_finished()
        self._manager.close()

    def _check_identity(self, saved: dict, step: int) -> None:
        for key, value in self._identity.items():
            if key in saved and saved[key] != value:
                raise ConfigError(
                    f"checkpoint step {step} in {self.config.directory} is of a run with "
                    f"{key}={saved[key]!r}, not {value!r}; use the same {key}, or another "
                    "--checkpoint-dir to start afresh"
                )


def _check_finite_params(params, step: int, learning_rate: float) -> None:
    import jax

    from simlib.engine.divergence import NonFiniteLoss

    for leaf in jax.tree.leaves(params):
        if not np.isfinite(leaf).all():
            raise NonFiniteLoss(f"step {step}", float("nan"), learning_rate, "a parameter")


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def _abstract(tree):
    import jax

    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), tree)


def _to_host(tree):
    import jax

    return jax.tree.map(np.asarray, tree)
