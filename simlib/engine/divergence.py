"""A training run whose loss stops being a number ends at once, saying where and why.

Plain SGD with a learning rate far too large (``--lr 1e308``) overflows on the first step: every
later loss is nan, and a run that carried on would report nan losses, save nan checkpoints and
exit 0. Every training loop of the engine calls :func:`check_loss` after each step (and the
checkpointer checks the parameters it saves), so such a run stops with
:class:`NonFiniteLoss`, whose line names the step and the learning rate; the CLI exits with
status 1 (the input was valid, the run failed), not 2.

Example:
    >>> check_loss(3, 0.25, 0.1)
    >>> check_loss(4, float("nan"), 1e308)
    Traceback (most recent call last):
    ...
    simlib.engine.divergence.NonFiniteLoss: the loss became nan at step 4 with learning rate 1e+308: the training diverged; lower the learning rate (--lr), e.g. 0.1
"""  # noqa: E501 - the doctest's expected line is one line

from __future__ import annotations

import math

from simlib.errors import SimlibError

__all__ = ["NonFiniteLoss", "check_loss"]


class NonFiniteLoss(SimlibError):
    """The loss (or the parameters) became inf or nan: the run diverged. CLI exit status 1."""

    exit_status = 1

    def __init__(self, where: str, value: float, learning_rate: float, what: str = "the loss"):
        self.where, self.value, self.learning_rate = where, value, learning_rate
        suggestion = 0.1 if learning_rate > 0.1 else learning_rate / 10
        super().__init__(
            f"{what} became {value} at {where} with learning rate {learning_rate:g}: the "
            f"training diverged; lower the learning rate (--lr), e.g. {suggestion:g}"
        )


def check_loss(step: int, loss: float, learning_rate: float) -> None:
    """Raise :class:`NonFiniteLoss` unless ``loss`` (of step ``step``, from 1) is finite."""
    if not math.isfinite(loss):
        raise NonFiniteLoss(f"step {step}", loss, learning_rate)
