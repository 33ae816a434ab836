"""Data sets that work offline, and deterministic batches split into per-device shards.

Two data sets:

- ``"digits"``: 1,797 real 8x8 handwritten digits (UCI, CC BY 4.0), shipped in the package.
- ``"synthetic"``: Gaussian inputs labelled by a fixed random "teacher" network, any size; the
  benchmarks use it at MNIST's shape (784 features, 10 classes).

Batches are drawn epoch by epoch from a seeded permutation (``numpy.random.Generator``), so the
same seed gives the same batches on every machine and for every parallel style. A global batch
``x[B, D]`` is split for ``n`` devices as ``x.reshape(n, B // n, D)``: device ``i`` gets rows
``i*B/n .. (i+1)*B/n - 1``, which is exactly how ``NamedSharding(mesh, P("data"))`` lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

from simlib.errors import ConfigError, check_divisible, check_positive

__all__ = ["DATASETS", "Dataset", "digits", "global_batches", "load_dataset", "shard", "synthetic"]

DATASETS = ("digits", "synthetic")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs ``x[N, D]`` (float32) and labels ``y[N]`` (int32, ``0..num_classes-1``)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    num_classes: int

    @property
    def num_examples(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_features(self) -> int:
        return int(self.x.shape[1])


def digits() -> Dataset:
    """The 1,797 8x8 digits, pixels scaled from 0..16 to 0..1."""
    with resources.files("simlib.engine").joinpath("datasets/digits.npz").open("rb") as f:
        raw = np.load(f)
        x, y = raw["x"], raw["y"]
    return Dataset("digits", (x / 16.0).astype(np.float32), y.astype(np.int32), 10)


def synthetic(
    num_examples: int = 4096, num_features: int = 784, num_classes: int = 10, seed: int = 0
) -> Dataset:
    """Gaussian inputs labelled by ``argmax(tanh(x W1) W2)`` of a fixed random teacher.

    Learnable but not linearly trivial; the same ``seed`` gives the same data set.
    """
    for name, value in (("num_examples", num_examples), ("num_features", num_features)):
        check_positive(name, value, integer=True)
    if int(num_classes) != num_classes or num_classes < 2:
        raise ConfigError(f"num_classes must be a whole number >= 2, got {num_classes!r}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_examples, num_features), dtype=np.float32)
    w1 = rng.standard_normal((num_features, 32)) / np.sqrt(num_features)
    w2 = rng.standard_normal((32, num_classes))
    y = np.argmax(np.tanh(x @ w1) @ w2, axis=1).astype(np.int32)
    return Dataset("synthetic", x, y, int(num_classes))


def load_dataset(name: str, *, seed: int = 0) -> Dataset:
    """A data set by name: ``"digits"`` or ``"synthetic"`` (784 features, seeded)."""
    if name == "digits":
        return digits()
    if name == "synthetic":
        return synthetic(seed=seed)
    raise ConfigError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")


def global_batches(
    dataset: Dataset, batch_size: int, steps: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``steps`` global batches ``(x[B, D], y[B])``, drawn without replacement epoch by epoch.

    Each epoch is a fresh permutation from ``numpy.random.default_rng(seed)``; an epoch's tail
    that cannot fill a batch is skipped, so every batch has exactly ``batch_size`` rows.
    """
    check_positive("batch", batch_size, integer=True)
    check_positive("steps", steps, integer=True)
    if batch_size > dataset.num_examples:
        raise ConfigError(
            f"batch={batch_size} is larger than the {dataset.name} data set "
            f"({dataset.num_examples} examples); use a batch of at most {dataset.num_examples}"
        )
    rng = np.random.default_rng(seed)
    per_epoch = dataset.num_examples // batch_size
    out: list[tuple[np.ndarray, np.ndarray]] = []
    while len(out) < steps:
        order = rng.permutation(dataset.num_examples)
        for i in range(min(per_epoch, steps - len(out))):
            idx = order[i * batch_size : (i + 1) * batch_size]
            out.append((dataset.x[idx], dataset.y[idx]))
    return out


def shard(array: np.ndarray, num_shards: int) -> np.ndarray:
    """Split a global batch ``A[B, ...]`` into ``A[n, B // n, ...]`` (one row per device)."""
    check_divisible("batch", array.shape[0], num_shards, "devices")
    return array.reshape(num_shards, array.shape[0] // num_shards, *array.shape[1:])
