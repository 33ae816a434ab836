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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simlib.errors import ConfigError, SimlibError, check_positive

__all__ = ["CheckpointConfig", "Checkpointer", "SimulatedCrash"]

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


class Checkpointer:
    """Saves and restores one run's parameters and losses with an orbax ``CheckpointManager``."""

    def __init__(self, config: CheckpointConfig, run_config):
        import orbax.checkpoint as ocp

        logging.getLogger("absl").setLevel(logging.ERROR)  # orbax is chatty at INFO
        self._ocp, self.config = ocp, config
        self._identity = {k: _jsonable(getattr(run_config, k)) for k in _MUST_MATCH}
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

    def restore(self, template) -> tuple[int, object, list[float]]:
        """``(step, host params, losses so far)`` of the newest finished checkpoint, or step 0."""
        step = self._manager.latest_step() if self.config.resume else None
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

    def after_step(self, step: int, host_params_fn, losses: list[float]) -> None:
        """Save after every ``every_steps``-th step; raise SimulatedCrash at ``fail_at_step``.

        Each save is written in the background while training goes on, and is finished before
        the next step ends (a simplification: real writes of large models overlap more steps).
        A crash right after a save's step therefore catches that write half-done.
        """
        if self._pending:
            self._manager.wait_until_finished()
            self.last_saved, self._pending = self._pending, None
        if step % self.config.every_steps == 0:
            ocp = self._ocp
            state = {"params": host_params_fn()}
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
        """Wait for the last write to finish."""
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


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def _abstract(tree):
    import jax

    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), tree)


def _to_host(tree):
    import jax

    return jax.tree.map(np.asarray, tree)

