"""Devices and meshes: N virtual CPU devices, or the real accelerators when there are enough.

JAX decides how many CPU devices exist when its backend starts (the first device query or the
first array), and that number cannot change afterwards without restarting the process. So the
first thing a notebook or a script does is::

    from simlib.engine import request_devices
    devices = request_devices(8)      # 8 GPUs/TPUs if present, else 8 virtual CPU devices

Asking later for more devices than the started backend has raises ``DeviceError`` naming the
fix (restart the kernel, call ``request_devices`` first). The mesh axes are ``Auto`` so that the
compiler places the collectives itself, which is what the data-parallel lesson shows
(REFERENCES.md, "JAX 0.10 facts").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from simlib.errors import ConfigError, DeviceError, check_positive

__all__ = [
    "DEFAULT_VIRTUAL_DEVICES",
    "DeviceInfo",
    "describe_devices",
    "make_mesh",
    "request_devices",
]

# How many virtual CPU devices to create when the backend has not started yet: enough for every
# lesson (2 x 4 meshes, 8-way data parallelism) even if the first call asks for fewer.
DEFAULT_VIRTUAL_DEVICES = 8


@dataclass(frozen=True)
class DeviceInfo:
    """One device as JAX sees it."""

    id: int
    platform: str
    kind: str
    process_index: int


def _try_set_cpu_device_count(count: int) -> bool:
    """Ask JAX for ``count`` CPU devices; False if the backend has already started."""
    import jax

    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:
        return False
    return True


def request_devices(n: int, *, platform: str | None = None) -> list:
    """Return ``n`` JAX devices: the default backend's if it has enough, else virtual CPU ones.

    Args:
        n: how many devices the lesson needs (> 0).
        platform: force ``"cpu"``, ``"gpu"`` or ``"tpu"``; ``None`` prefers accelerators.

    Returns:
        A list of ``n`` ``jax.Device`` objects (the first ``n`` of the backend's devices).

    Raises:
        ConfigError: ``n`` is not a whole number > 0, or the platform is unknown.
        DeviceError: JAX already started with fewer devices than ``n``.

    Example:
        >>> devices = request_devices(8)            # doctest: +SKIP
        >>> mesh = make_mesh(devices, ("data",))      # doctest: +SKIP
    """
    check_positive("devices", n, integer=True)
    n = int(n)
    if platform not in (None, "cpu", "gpu", "tpu"):
        raise ConfigError(f"platform must be one of cpu, gpu, tpu, got {platform!r}")
    fresh = _try_set_cpu_device_count(max(n, DEFAULT_VIRTUAL_DEVICES))
    import jax

    candidates = [platform] if platform else [None, "cpu"]
    found: dict[str, int] = {}
    for name in candidates:
        try:
            devices = jax.devices(name) if name else jax.devices()
        except RuntimeError:  # that platform is not installed here
            continue
        found[devices[0].platform] = len(devices)
        if len(devices) >= n:
            return list(devices[:n])
    have = ", ".join(f"{count} {name}" for name, count in found.items()) or "none"
    if fresh:
        raise DeviceError(
            f"asked for {n} devices but this machine has {have}; use a smaller device count"
        )
    raise DeviceError(
        f"asked for {n} devices but JAX already started with {have} device(s); restart the "
        f"kernel (or process) and call simlib.engine.request_devices({n}) before any other JAX "
        f"use, or ask for at most {max(found.values(), default=0)}"
    )


def describe_devices() -> list[DeviceInfo]:
    """Every device of JAX's default backend (starting it with the default count if needed)."""
    _try_set_cpu_device_count(DEFAULT_VIRTUAL_DEVICES)
    import jax

    return [
        DeviceInfo(d.id, d.platform, d.device_kind, d.process_index) for d in jax.devices()
    ]


def make_mesh(devices: Sequence, axis_names: Sequence[str] = ("data",), shape=None):
    """A ``jax.sharding.Mesh`` over ``devices`` with named, compiler-managed (Auto) axes.

    Args:
        devices: the devices, e.g. from ``request_devices``.
        axis_names: one name per mesh axis, e.g. ``("data",)`` or ``("data", "model")``.
        shape: the mesh shape; default ``(len(devices),)`` for one axis.

    Returns:
        ``Mesh(devices.reshape(shape), axis_names, axis_types=(Auto, ...))``.
    """
    import numpy as np
    from jax.sharding import AxisType, Mesh

    axis_names = tuple(axis_names)
    shape = (len(devices),) if shape is None else tuple(int(s) for s in shape)
    if len(shape) != len(axis_names):
        raise ConfigError(f"mesh shape {shape} needs {len(shape)} axis names, got {axis_names}")
    if math.prod(shape) != len(devices):
        raise ConfigError(
            f"mesh shape {shape} holds {math.prod(shape)} devices but {len(devices)} were given; "
            "make the product of the shape equal the device count"
        )
    grid = np.array(list(devices), dtype=object).reshape(shape)
    return Mesh(grid, axis_names, axis_types=(AxisType.Auto,) * len(axis_names))
