"""Upper bounds on every size-like flag and field, each with the reason it exists.

A number that sizes an allocation (workers x steps, servers, devices, hidden widths, ...) is
checked against its :class:`Limit` *before* anything is allocated, so that a typo such as
``--workers 10000000`` is one line with exit status 2 instead of gigabytes of memory or a
crash. Each bound is generous next to the course's own uses (the largest shipped scenario is
1,024 workers x 1,000 steps) and says why it is there. ``LIMITS`` lists them all; the README's
"Limits and bad input" table is held equal to it by a test.

Example:
    >>> DEVICES.check(8, "--devices")
    8
    >>> DEVICES.check(100_000_000, "--devices")
    Traceback (most recent call last):
    ...
    simlib.errors.ConfigError: --devices 100,000,000 is over the limit of 512 devices: every virtual CPU device adds to JAX's start-up and to every collective (512 measured at 290 MB and 1.5 s just to list them; 10^8 took all 23 GB of a machine); use at most 512
"""  # noqa: E501 - the doctest's expected line is one line

from __future__ import annotations

import math
from dataclasses import dataclass

from simlib.errors import ConfigError

__all__ = [
    "ACTIVATIONS",
    "DEVICES",
    "ENGINE_EXAMPLES",
    "EVENT_WORKER_STEPS",
    "FAST_WORKER_STEPS",
    "HIDDEN_LAYERS",
    "HIDDEN_WIDTH",
    "LAUNCH_PROCESSES",
    "LIMITS",
    "Limit",
    "PARAMETERS",
    "PIPELINE_COUNT",
    "QUIZ_VARIANTS",
    "RANKS",
    "EVENT_RANKS",
    "SEED",
    "SERVERS",
    "SIGMA",
    "SLOWDOWN",
    "WORKERS",
    "check_seed",
]


@dataclass(frozen=True)
class Limit:
    """An upper bound: ``value <= maximum`` of ``unit``, for the reason ``why``."""

    unit: str
    maximum: float
    why: str

    def check(self, value, label: str):
        """Return ``value`` if it is within the bound, else raise ConfigError naming both.

        ``value`` may be a (possibly huge) int or a float; nothing is allocated to check it.
        """
        if isinstance(value, float) and math.isnan(value):
            raise ConfigError(f"{label} is not a number (nan); use at most {self.shown}")
        if value > self.maximum:
            raise ConfigError(
                f"{label} {_number(value)} is over the limit of {self.shown} {self.unit}: "
                f"{self.why}; use at most {self.shown}"
            )
        return value

    @property
    def shown(self) -> str:
        return _number(self.maximum)


def _number(value) -> str:
    if isinstance(value, int) and abs(value) < 10**15:
        return f"{value:,}"
    if isinstance(value, int):
        return f"{float(value):.3g}" if value < 10**300 else f"a {len(str(value))}-digit number"
    return f"{value:g}"


FAST_WORKER_STEPS = Limit(
    "worker-steps (workers x steps) for all-reduce policies",
    4_000_000,
    "the trace keeps a record of every worker-step, about 270 bytes each: 4 million (four times "
    "the largest shipped scenario) measured 1.1 GB and 12 s",
)
EVENT_WORKER_STEPS = Limit(
    "worker-step-messages (workers x steps x messages per step) for event-level runs",
    1_000_000,
    "the event loop keeps every span and message, up to 2 KB per worker-step and message "
    "(one per server shard, or 2(p-1) chunks of an event-level ring): a million measured 1.3 GB "
    "and two minutes",
)
WORKERS = Limit(
    "workers",
    1_000_000,
    "a cluster keeps one step time per worker and every output lists each worker",
)
SERVERS = Limit(
    "parameter-server shards",
    4_096,
    "each shard is a SimPy resource with its own NIC (about 1 KB before any message), and "
    "every worker sends to every shard each step",
)
DEVICES = Limit(
    "devices",
    512,
    "every virtual CPU device adds to JAX's start-up and to every collective (512 measured at "
    "290 MB and 1.5 s just to list them; 10^8 took all 23 GB of a machine)",
)
LAUNCH_PROCESSES = Limit(
    "processes",
    16,
    "every launched process is a full Python and JAX runtime (about 300 MB) on this machine",
)
HIDDEN_WIDTH = Limit(
    "units in one hidden layer",
    65_536,
    "a layer's weights are width x width floats on every device",
)
HIDDEN_LAYERS = Limit(
    "hidden layers",
    16,
    "the course's networks have one to three; every layer more lengthens compilation",
)
PARAMETERS = Limit(
    "parameters",
    16_000_000,
    "parameters, gradients and optimizer state are kept on every device: 15.5 million on 8 "
    "devices (--hidden 3900,3900) measured 1.9 GB",
)
ENGINE_EXAMPLES = Limit(
    "examples (steps x batch)",
    400_000,
    "every step's batch is prepared and placed on the devices before training starts: "
    "400,000 examples of the 784-feature synthetic data set are 1.25 GB",
)
ACTIVATIONS = Limit(
    "activations (batch x widest layer)",
    32_000_000,
    "each layer's activations, batch x width float32 values, are kept for the backward pass: "
    "a 4,096 x 7,800 batch (32 million) measured 0.9 GB",
)
RANKS = Limit(
    "ranks",
    2**40,
    "closed forms are O(1) in the ranks; 2^40 is far past any machine ever built and keeps p and "
    "every count exact in a float (2^53)",
)
PIPELINE_COUNT = Limit(
    "stages, microbatches or chunks",
    2**20,
    "the closed form is O(1), but a million is far past any real pipeline, and "
    "simlib.sim.pipeline_schedule lists every operation of one",
)
EVENT_RANKS = Limit(
    "ranks for an event-level collective",
    4_096,
    "an event-level run moves every chunk between every pair of partners: p^2 messages for a ring",
)
QUIZ_VARIANTS = Limit(
    "variants per numeric item (quiz check --students)",
    10_000,
    "every variant of every numeric item computes its key: 1,000 took 1.1 s and 100,000 took "
    "a minute",
)
SEED = Limit(
    "(the largest seed)",
    2**32 - 1,
    "NumPy generators and JAX keys are seeded with a 32-bit number here",
)
SLOWDOWN = Limit(
    "times slower (straggler slowdown)",
    1_000,
    "a step 1,000 times slower than the rest is a failure, not a straggler (model it with "
    "simlib.sim.simulate_failures)",
)
SIGMA = Limit(
    "(lognormal sigma)",
    3.0,
    "mean-1 lognormal noise with sigma 3 already has its median at 1/90 of the mean; beyond it "
    "almost every step takes ~0 s and a handful take all the time, so no run resembles the mean",
)

LIMITS: dict[str, Limit] = {
    "workers x steps (all-reduce)": FAST_WORKER_STEPS,
    "workers x steps x messages (event-level runs)": EVENT_WORKER_STEPS,
    "workers": WORKERS,
    "servers": SERVERS,
    "devices": DEVICES,
    "launch processes": LAUNCH_PROCESSES,
    "hidden width": HIDDEN_WIDTH,
    "hidden layers": HIDDEN_LAYERS,
    "parameters": PARAMETERS,
    "engine steps x batch": ENGINE_EXAMPLES,
    "engine batch x widest layer": ACTIVATIONS,
    "ranks (closed forms)": RANKS,
    "ranks (event-level collectives)": EVENT_RANKS,
    "pipeline stages, microbatches, chunks": PIPELINE_COUNT,
    "quiz check variants": QUIZ_VARIANTS,
    "seed": SEED,
    "straggler slowdown": SLOWDOWN,
    "lognormal sigma": SIGMA,
}


def check_seed(value, label: str = "seed") -> int:
    """A seed: a whole number from 0 to ``SEED.maximum`` (NumPy refuses negative ones)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{label} must be a whole number from 0 to {SEED.shown}, got {value!r}")
    if value < 0:
        raise ConfigError(
            f"{label} {value:,} is negative; seeds are whole numbers from 0 to {SEED.shown}"
        )
    return SEED.check(value, label)
