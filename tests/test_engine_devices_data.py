"""Devices, meshes, data sets and batches."""

from __future__ import annotations

import numpy as np
import pytest

from simlib.engine import (
    digits,
    global_batches,
    load_dataset,
    make_mesh,
    request_devices,
    shard,
    synthetic,
)
from simlib.errors import ConfigError, DeviceError


def test_request_devices_gives_the_first_n():
    devices = request_devices(8)
    assert len(devices) == 8 and len({d.id for d in devices}) == 8
    assert request_devices(2) == devices[:2]


def test_more_devices_than_the_started_backend_names_the_fix():
    request_devices(8)  # the backend is running with 8 CPU devices now
    with pytest.raises(DeviceError) as err:
        request_devices(16)
    message = str(err.value)
    assert "asked for 16 devices" in message and "8 cpu" in message
    assert "restart the kernel" in message and "request_devices(16)" in message


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_bad_device_count(bad):
    with pytest.raises(ConfigError, match="devices"):
        request_devices(bad)


def test_make_mesh_shapes_and_errors():
    devices = request_devices(8)
    mesh = make_mesh(devices, ("data", "model"), (2, 4))
    assert dict(mesh.shape) == {"data": 2, "model": 4}
    with pytest.raises(ConfigError, match=r"holds 6 devices but 8 were given"):
        make_mesh(devices, ("data", "model"), (2, 3))
    with pytest.raises(ConfigError, match="axis names"):
        make_mesh(devices, ("data",), (2, 4))


def test_digits_is_the_real_data_set():
    data = digits()
    assert data.x.shape == (1797, 64) and data.x.dtype == np.float32
    assert 0.0 <= data.x.min() and data.x.max() == 1.0
    assert np.bincount(data.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_synthetic_is_seeded_and_uses_every_class():
    a, b, c = synthetic(512, 20, 4, seed=1), synthetic(512, 20, 4, seed=1), synthetic(512, 20, 4, 2)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    assert set(np.unique(a.y)) == {0, 1, 2, 3}
    assert load_dataset("synthetic").x.shape == (4096, 784)


def test_global_batches_cover_each_epoch_without_repeats():
    data = synthetic(100, 3, 2, seed=0)
    batches = global_batches(data, 30, 6, seed=5)  # 3 full batches per epoch, 2 epochs
    assert [x.shape for x, _ in batches] == [(30, 3)] * 6
    epoch = np.concatenate([x for x, _ in batches[:3]])
    assert len({row.tobytes() for row in epoch}) == 90  # no example twice within an epoch
    again = global_batches(data, 30, 6, seed=5)
    assert all(np.array_equal(x1, x2) for (x1, _), (x2, _) in zip(batches, again, strict=True))


def test_shard_gives_each_device_a_contiguous_block():
    x = np.arange(12).reshape(12, 1)
    assert shard(x, 4)[:, :, 0].tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    with pytest.raises(ConfigError, match=r"batch=12 is not divisible by devices=5.*10 or 15"):
        shard(x, 5)


def test_dataset_errors():
    with pytest.raises(ConfigError, match="dataset must be one of digits, synthetic, got 'mnist'"):
        load_dataset("mnist")
    with pytest.raises(ConfigError, match="larger than the digits data set"):
        global_batches(digits(), 5000, 1)
