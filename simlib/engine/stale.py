"""Replay a simulated schedule as real training: stale gradients, computed for real.

The simulator (``simlib.sim.simulate``) decides who read which parameter version when, and when
each gradient was applied. ``replay`` then trains the MLP with JAX following exactly that
schedule (bridge 3 of DESIGN.md):

- **server scope** (BSP, ASP, SSP(s), backup workers): the server's parameters go through
  versions 0, 1, 2, ...; an update group (``apply_id``) of ``k`` gradients that read versions
  ``v_i`` is applied when the server is at version ``u`` as
  ``theta_{u+1} = theta_u - eta_k * mean_i g_i`` with ``g_i = grad L(theta_{v_i}; batch_i)``.
  Its staleness is ``u - v_i`` (Ho et al. 2013). Dropped gradients (a backup round's late
  ones) change nothing.
- **local scope** (local SGD): each worker steps its own replica with ``eta_n`` (``n``
  workers); after every synchronisation (the trace's all-reduce records) the replicas are
  replaced by their average. With many workers ``n * lr`` is a large step for one worker's
  small batch: lower ``learning_rate`` (or use ``lr_scaling="none"``) if local SGD diverges.

The step size follows the linear scaling rule by default (``lr_scaling="linear"``, Goyal et al.
2017): an update that averages ``k`` gradients uses ``eta_k = k * lr``, so every policy moves
the parameters by ``lr`` per gradient and comparing policies isolates what staleness does.
BSP with ``n`` workers then equals synchronous SGD with global batch ``n * b`` and learning
rate ``n * lr``. With ``lr_scaling="none"`` every update uses ``lr``.

Worker ``w``'s ``step``-th gradient uses rows ``w*b .. (w+1)*b - 1`` of global batch ``step``
(``global_batches`` with ``N * b`` rows), so BSP replays synchronous data-parallel SGD with
global batch ``N * b`` exactly, and every policy sees the same data in the same order.

The whole replay is one compiled ``lax.scan`` over the update groups. Versions still readable
live in a ring buffer of ``K = max staleness + 1`` parameter copies: group ``u`` reads slot
``v % K`` and writes version ``u + 1`` into slot ``(u + 1) % K``, which held version
``u + 1 - K``, a version no later group can read (its staleness would exceed ``K - 1``).

The loss is evaluated on a fixed evaluation set (``eval_examples`` rows of the data set) after
every ``eval_every``-th update group (default: about 400 points in all) and after the last, at
the simulated time the update landed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlib.engine.data import DATASETS, global_batches, load_dataset
from simlib.engine.model import init_mlp, loss_fn
from simlib.errors import ConfigError, SimlibError, check_positive

__all__ = ["ReplayConfig", "ReplayError", "ReplayReport", "replay"]


class ReplayError(SimlibError):
    """The trace cannot be replayed: its versions are not consecutive or it has no updates."""


@dataclass(frozen=True)
class ReplayConfig:
    """What to train while following a schedule."""

    dataset: str = "digits"
    hidden: tuple[int, ...] = (64,)
    batch_per_worker: int = 16
    learning_rate: float = 0.1
    seed: int = 0
    eval_every: int | None = None
    eval_examples: int = 512
    lr_scaling: str = "linear"

    def __post_init__(self):
        if self.lr_scaling not in ("linear", "none"):
            raise ConfigError(f"lr_scaling must be 'linear' or 'none', got {self.lr_scaling!r}")
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        for name in ("batch_per_worker", "eval_examples"):
            check_positive(name, getattr(self, name), integer=True)
        if self.eval_every is not None:
            check_positive("eval_every", self.eval_every, integer=True)
        check_positive("learning_rate", self.learning_rate)
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))


@dataclass(frozen=True, eq=False)
class ReplayReport:
    """The real training a schedule caused: loss against updates and simulated seconds."""

    label: str
    times_s: np.ndarray  # simulated time of each evaluated point (first: 0.0, the initial model)
    losses: np.ndarray  # evaluation loss at those times
    updates: np.ndarray  # number of updates applied at those points
    staleness: np.ndarray  # staleness of every applied gradient, in application order
    gradients: int  # gradients computed and applied
    params: list = field(repr=False)

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    def loss_curve(self) -> list[list[float]]:
        """``[[seconds, loss], ...]``, starting at the initial model."""
        return [[float(t), float(v)] for t, v in zip(self.times_s, self.losses, strict=True)]

    def time_to_target(self, target_loss: float) -> float | None:
        """Simulated seconds until the evaluated loss first reaches ``target_loss`` (or None)."""
        hit = np.flatnonzero(self.losses <= target_loss)
        return float(self.times_s[hit[0]]) if hit.size else None


class _Data:
    """The batches on the device (``x[step, worker, b, D]``), the evaluation set, the model."""

    def __init__(self, config: ReplayConfig, workers: int, steps: int):
        data = load_dataset(config.dataset, seed=config.seed)
        b = config.batch_per_worker
        batches = global_batches(data, workers * b, steps, seed=config.seed)
        self.x = jnp.asarray(np.stack([x.reshape(workers, b, -1) for x, _ in batches]))
        self.y = jnp.asarray(np.stack([y.reshape(workers, b) for _, y in batches]))
        self.eval_x = jnp.asarray(data.x[: config.eval_examples])
        self.eval_y = jnp.asarray(data.y[: config.eval_examples])
        sizes = (data.num_features, *config.hidden, data.num_classes)
        self.init = init_mlp(jax.random.key(config.seed), sizes)
        self.lr = jnp.float32(config.learning_rate)
        self.linear = config.lr_scaling == "linear"


@dataclass(frozen=True)
class _ServerPlan:
    """The update groups as padded arrays ``[groups, G]`` (G: the largest group)."""

    steps: np.ndarray
    workers: np.ndarray
    read: np.ndarray  # version each gradient read
    mask: np.ndarray  # 1.0 for a real gradient, 0.0 for padding
    times_s: np.ndarray  # [groups] when each group was applied
    slots: int  # K, the ring buffer's length

    @property
    def staleness(self) -> np.ndarray:
        u = np.arange(len(self.times_s))[:, None]
        return (u - self.read)[self.mask > 0]


def _server_plan(up) -> _ServerPlan:
    """Applied rows grouped by ``apply_id`` in the order the server applied them, checked.

    Vectorised: row ``r`` of the sorted rows belongs to group ``group[r]`` at slot ``pos[r]``.
    """
    rows = np.flatnonzero(up["applied"])
    order = rows[np.lexsort((up["apply_id"][rows], up["version_applied"][rows]))]
    ids = up["apply_id"][order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(order)]))
    pos = np.arange(len(order)) - starts[group]
    applied_at = up["version_applied"][order]
    bad = np.flatnonzero(applied_at != group)
    if bad.size:
        g = int(group[bad[0]])
        raise ReplayError(
            f"update group {g} (apply_id {ids[bad[0]]}) was applied at version "
            f"{applied_at[bad[0]]}, not {g}: the trace's versions skip"
        )
    shape = (len(starts), int(pos.max()) + 1)
    steps, workers = np.zeros(shape, np.int32), np.zeros(shape, np.int32)
    read = np.broadcast_to(np.arange(shape[0])[:, None], shape).copy()  # padding: current
    mask, times = np.zeros(shape, np.float32), np.zeros(shape[0])
    steps[group, pos], workers[group, pos] = up["step"][order], up["worker"][order]
    read[group, pos], mask[group, pos] = up["version_read"][order], 1.0
    np.maximum.at(times, group, up["applied_s"][order])
    stale = np.arange(shape[0])[:, None] - read
    if np.any(stale < 0):
        raise ReplayError("a gradient read a version the server had not produced yet")
    return _ServerPlan(steps, workers, read, mask, times, int(stale.max()) + 1)


@partial(jax.jit, static_argnames=("slots", "linear"), donate_argnums=(0,))
def _run_chunk(buffer, x, y, lr, u, steps, workers, read, mask, *, slots: int, linear: bool):
    """Apply a chunk of update groups; return the ring buffer and the newest version.

    Shapes (static, so that one compilation serves every run of the same sizes):
    ``buffer[K, ...]``, ``u[E]``, ``steps/workers/read/mask[E, G]``.
    """

    def group(buffer, xs):  # one update: G gradients, each read at its own version
        u, s, w, v, m = xs
        current = jax.tree.map(lambda b: b[u % slots], buffer)
        read = lambda v: jax.tree.map(lambda b: b[v], buffer)
        one = lambda s, w, v: jax.grad(loss_fn)(read(v), x[s, w], y[s, w])
        grads = jax.vmap(one)(s, w, v)
        count = jnp.maximum(m.sum(), 1.0)  # padding groups have no gradient: no change
        mean = jax.tree.map(lambda g: jnp.tensordot(m, g, axes=1) / count, grads)
        eta = lr * count if linear else lr
        new = jax.tree.map(lambda p, g: p - eta * g, current, mean)
        return jax.tree.map(lambda b, n: b.at[(u + 1) % slots].set(n), buffer, new), None

    buffer, _ = jax.lax.scan(group, buffer, (u, steps, workers, read, mask))
    return buffer, jax.tree.map(lambda b: b[(u[-1] + 1) % slots], buffer)


def _run_server(data, plan: _ServerPlan, every: int) -> list:
    """Run every chunk of ``every`` groups; the parameters after each chunk."""
    slots = _power_of_two(plan.slots)
    width = _power_of_two(plan.steps.shape[1])
    steps, workers, read, mask = _pad(plan, every, width)
    buffer = jax.tree.map(lambda p: jnp.broadcast_to(p, (slots, *p.shape)), data.init)
    snapshots = []
    for start in range(0, len(steps), every):
        part = slice(start, start + every)
        u = np.arange(start, start + every, dtype=np.int32)
        buffer, newest = _run_chunk(
            buffer, data.x, data.y, data.lr, u, steps[part], workers[part],
            read[part] % slots, mask[part], slots=slots, linear=data.linear,
        )  # fmt: skip
        snapshots.append(newest)
    return snapshots


def _power_of_two(n: int) -> int:
    """The smallest power of two >= n: fewer distinct shapes, fewer compilations."""
    return 1 << max(int(n) - 1, 0).bit_length()


def _pad(plan: _ServerPlan, every: int, width: int):
    """Pad to ``width`` gradients per group and a multiple of ``every`` groups (mask 0)."""
    groups, g = plan.steps.shape
    rows = groups + (-groups % every)
    out = []
    for a, fill in ((plan.steps, 0), (plan.workers, 0), (plan.read, None), (plan.mask, 0.0)):
        padded = np.zeros((rows, width), a.dtype) if fill is not None else None
        if padded is None:  # padding reads the current version: always in the buffer
            padded = np.broadcast_to(np.arange(rows)[:, None], (rows, width)).copy()
        padded[:groups, :g] = a
        out.append(padded)
    return out


@jax.jit
def _evaluate_all(snapshots, x, y):
    return jax.vmap(lambda p: loss_fn(p, x, y))(snapshots)


def replay(trace, config: ReplayConfig | None = None) -> ReplayReport:
    """Train for real with the stale gradients the trace's schedule implies.

    Args:
        trace: a ``simlib.sim.Trace`` (any policy) with its ``updates`` table.
        config: data set, model, batch per worker, learning rate, evaluation cadence.

    Returns:
        A ``ReplayReport``: evaluation loss against simulated seconds and updates, the
        staleness of every applied gradient, and the final parameters.

    Example:
        >>> from simlib.sim import ClusterSpec, PolicySpec, simulate          # doctest: +SKIP
        >>> trace = simulate(ClusterSpec(workers=4), PolicySpec("asp"), steps=50)
        >>> replay(trace).final_loss
    """
    config = config or ReplayConfig()
    up = trace.updates
    if len(up) == 0 or not up["applied"].any():
        raise ReplayError("the trace has no applied updates to replay; simulate at least one step")
    data = _Data(config, trace.workers, _power_of_two(int(up["step"].max()) + 1))
    label = str(trace.meta.get("label", trace.meta.get("policy", "")))
    if up["scope"][0] == up.code("scope", "local"):
        return _replay_local(trace, data, config, label)
    plan = _server_plan(up)
    groups = len(plan.times_s)
    every = config.eval_every or _power_of_two(max(1, math.ceil(groups / 400)))
    snapshots = _run_server(data, plan, every)
    done = np.minimum(np.arange(1, len(snapshots) + 1) * every, groups)
    counts = np.concatenate([[0], np.cumsum(plan.mask.sum(1))]).astype(int)
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *snapshots)
    return _report(label, data, stacked, plan.times_s[done - 1], counts[done], plan.staleness)


def _report(label, data, snapshots, times_s, updates, staleness) -> ReplayReport:
    losses = np.asarray(_evaluate_all(snapshots, data.eval_x, data.eval_y))
    first = float(loss_fn(data.init, data.eval_x, data.eval_y))
    final = jax.tree.map(lambda a: np.asarray(a[-1]), snapshots)
    return ReplayReport(
        label, np.concatenate([[0.0], times_s]), np.concatenate([[first], losses]),
        np.concatenate([[0], updates]).astype(int), np.asarray(staleness, dtype=np.int64),
        int(len(staleness)), final,
    )  # fmt: skip


@jax.jit
def _run_local(init, x, y, lr, active, synced):
    """Local SGD: ``active[t, w]`` worker w did step t; ``synced[t]`` the replicas averaged."""
    n = active.shape[1]
    replicas = jax.tree.map(lambda p: jnp.broadcast_to(p, (n, *p.shape)), init)

    def step(replicas, xs):
        t, on, sync = xs
        local = lambda p, w: jax.grad(loss_fn)(p, x[t, w], y[t, w])
        grads = jax.vmap(local)(replicas, jnp.arange(n))
        replicas = jax.tree.map(lambda p, g: p - lr * on.reshape(-1, *[1] * (g.ndim - 1)) * g,
                                replicas, grads)  # fmt: skip
        mean = jax.tree.map(lambda p: p.mean(0), replicas)
        replicas = jax.tree.map(lambda p, a: jnp.where(sync, jnp.broadcast_to(a, p.shape), p),
                                replicas, mean)  # fmt: skip
        return replicas, mean

    ts = jnp.arange(active.shape[0])
    _, averages = jax.lax.scan(step, replicas, (ts, active, synced))
    return averages


def _replay_local(trace, data, config, label) -> ReplayReport:
    """Local SGD: evaluated at every average (the trace's all-reduces), and at the end.

    ``eval_every`` does not apply: the shared model exists only at the averages.
    """
    up = trace.updates
    t_count, n = int(up["step"].max()) + 1, trace.workers
    active = np.zeros((t_count, n), np.float32)
    active[up["step"], up["worker"]] = 1.0
    coll = trace.collectives
    sync_end = dict(zip(coll["step"].tolist(), coll["end_s"].tolist(), strict=True))
    synced = np.array([t in sync_end for t in range(t_count)])
    lr = data.lr * n if data.linear else data.lr
    averages = _run_local(data.init, data.x, data.y, lr, active, synced)
    points = np.flatnonzero(synced)
    times = [sync_end[t] for t in points]
    if not synced[-1]:  # the run ended between two averages: show the average as it stands,
        after = up["step"] > (points[-1] if points.size else -1)  # when its last step landed
        points = np.append(points, t_count - 1)
        times.append(float(up["applied_s"][after].max()))
    counts = np.cumsum(active.sum(1)).astype(int)[points]
    snapshots = jax.tree.map(lambda a: a[points], averages)
    return _report(label, data, snapshots, np.asarray(times), counts, np.zeros(len(up), np.int64))
