"""The trace: typed records of everything a simulation did; the one thing plots and metrics read.

A trace holds four tables, each a column store (one numpy array per field) so that a run of a
million steps stays small; ``table.rows()`` gives the typed records back and ``trace.events()``
all of them in time order.

- ``spans`` (:class:`Span`): what each worker (or collective rank) was doing from ``start_s``
  to ``end_s``: ``compute``, ``communicate`` (waiting on its own transfers), ``blocked`` (ready
  but held by the policy: a barrier, the staleness bound, a closed round) or ``reduce``.
- ``messages`` (:class:`Message`): one transfer between two nodes: sent at ``send_s``, on the
  wire after the latency at ``start_s``, fully received at ``recv_s``. Its bytes leave through
  the sender's NIC (link ``<src>.out``) and arrive through the receiver's (``<dst>.in``).
  ``received_bytes`` is what the network integrated (rate x time), so it checks ``nbytes``.
  Chunks of a collective carry the collective's id; other messages have ``collective = -1``.
- ``collectives`` (:class:`CollectiveRecord`): one collective (all-reduce, ...) over ``ranks``
  workers from ``start_s`` to ``end_s``.
- ``updates`` (:class:`Update`): one gradient, the record a replay needs (see issue 6). Worker
  ``worker`` read the parameters of version ``version_read`` at ``read_s``, computed its
  gradient for iteration ``step`` from ``compute_start_s`` to ``compute_end_s``, and the server
  applied it at ``applied_s`` when its version was ``version_applied`` (so staleness =
  ``version_applied - version_read``). Rows with the same ``apply_id`` were summed and applied
  as one update (a BSP round); ``applied`` is False for a gradient a backup-worker round
  dropped. ``scope`` is ``server`` (the shared model) or ``local`` (local SGD: the worker's own
  replica; its version is the number of averages so far, the replica being that average plus
  the worker's earlier local steps since).

Nodes are numbered workers first (``0 .. workers-1``), then servers; ``trace.node_name(i)`` gives
``worker3`` or ``server0``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "CollectiveRecord",
    "Message",
    "Span",
    "Table",
    "Trace",
    "TraceBuilder",
    "Update",
]


@dataclass(frozen=True)
class Span:
    """A worker doing one thing from ``start_s`` to ``end_s``."""

    KINDS: ClassVar[tuple[str, ...]] = ("compute", "communicate", "blocked", "reduce")
    actor: int
    kind: str
    step: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Message:
    """``nbytes`` from node ``src`` to node ``dst``."""

    KINDS: ClassVar[tuple[str, ...]] = ("push", "pull", "chunk")
    src: int
    dst: int
    kind: str
    step: int
    collective: int
    nbytes: float
    received_bytes: float
    send_s: float
    start_s: float
    recv_s: float


@dataclass(frozen=True)
class CollectiveRecord:
    """One collective over ``ranks`` workers (0 .. ranks-1), ``nbytes`` per rank."""

    KINDS: ClassVar[tuple[str, ...]] = (
        "all-reduce",
        "reduce-scatter",
        "all-gather",
    )
    ALGORITHMS: ClassVar[tuple[str, ...]] = (
        "ring",
        "tree",
        "recursive-doubling",
        "halving-doubling",
    )
    id: int
    kind: str
    algorithm: str
    step: int
    ranks: int
    nbytes: float
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Update:
    """One gradient: which parameters it was computed from and when it was applied."""

    SCOPES: ClassVar[tuple[str, ...]] = ("server", "local")
    worker: int
    step: int
    version_read: int
    version_applied: int
    read_s: float
    compute_start_s: float
    compute_end_s: float
    applied_s: float
    applied: bool
    apply_id: int
    scope: str


_ENUMS = {"kind": "KINDS", "algorithm": "ALGORITHMS", "scope": "SCOPES"}


def _dtype(record: type, field: dataclasses.Field) -> Any:
    if field.name in _ENUMS:
        return np.int8
    return {int: np.int64, float: np.float64, bool: np.bool_}[
        {"int": int, "float": float, "bool": bool}[field.type]
    ]


class Table:
    """Columns of one record type: ``table["start_s"]`` is a numpy array, ``len(table)`` rows.

    Enumerated fields (``kind``, ``algorithm``, ``scope``) are stored as small integers indexing
    the record class's tuple of names; ``table.code("kind", "compute")`` gives the integer.
    """

    def __init__(self, record: type, columns: Mapping[str, np.ndarray]):
        self.record = record
        self.fields = tuple(f.name for f in dataclasses.fields(record))
        self.columns = {
            f.name: np.asarray(columns[f.name], dtype=_dtype(record, f))
            for f in dataclasses.fields(record)
        }
        lengths = {len(c) for c in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"{record.__name__} columns differ in length: {sorted(lengths)}")

    @classmethod
    def empty(cls, record: type) -> Table:
        return cls(record, {f.name: [] for f in dataclasses.fields(record)})

    def __len__(self) -> int:
        return len(self.columns[self.fields[0]])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def names(self, field: str) -> tuple[str, ...]:
        """The names an enumerated field's integers stand for."""
        return getattr(self.record, _ENUMS[field])

    def code(self, field: str, name: str) -> int:
        """The integer stored for ``name`` in enumerated ``field``."""
        return self.names(field).index(name)

    def where(self, mask: np.ndarray) -> Table:
        """The rows where ``mask`` is true."""
        return Table(self.record, {k: v[mask] for k, v in self.columns.items()})

    def rows(self) -> Iterator[Any]:
        """The typed records, in stored order."""
        decode = {f: self.names(f) for f in self.fields if f in _ENUMS}
        for values in zip(*(self.columns[f].tolist() for f in self.fields), strict=True):
            row = dict(zip(self.fields, values, strict=True))
            for f, names in decode.items():
                row[f] = names[row[f]]
            yield self.record(**row)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Table)
            and self.record is other.record
            and all(np.array_equal(self.columns[f], other.columns[f]) for f in self.fields)
        )

    __hash__ = None  # type: ignore[assignment]


class TableBuilder:
    """Collects rows of one record type as tuples (fast to append) until ``build``."""

    def __init__(self, record: type):
        self.record = record
        self.rows: list[tuple] = []
        self._codes = {
            f.name: {name: i for i, name in enumerate(getattr(record, _ENUMS[f.name]))}
            for f in dataclasses.fields(record)
            if f.name in _ENUMS
        }

    def code(self, field: str, name: str) -> int:
        """The integer for ``name``: append rows with codes, not names, for speed."""
        return self._codes[field][name]

    def build(self) -> Table:
        fields = dataclasses.fields(self.record)
        rows = [row for row in self.rows if row is not None]  # None: reserved, never finished
        if not rows:
            return Table.empty(self.record)
        dtype = [(f.name, _dtype(self.record, f)) for f in fields]
        packed = np.fromiter(rows, dtype=dtype, count=len(rows))
        return Table(self.record, {f.name: packed[f.name] for f in fields})


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything one simulation did: four tables and what the run was (``meta``)."""

    spans: Table
    messages: Table
    collectives: Table
    updates: Table
    meta: Mapping[str, Any]

    @property
    def workers(self) -> int:
        return int(self.meta.get("workers", 0))

    @property
    def servers(self) -> int:
        return int(self.meta.get("servers", 0))

    def node_name(self, node: int) -> str:
        """``worker<i>`` for workers (nodes 0 .. workers-1), ``server<j>`` after them."""
        node = int(node)
        return f"worker{node}" if node < self.workers else f"server{node - self.workers}"

    def events(self) -> list[Any]:
        """Every record of every table in time order: spans, messages and collectives by when
        they started, updates by when they were applied (at equal times an update comes first:
        what starts at that instant already sees it)."""
        keyed = []
        for order, (table, key) in enumerate(
            [
                (self.updates, "applied_s"),
                (self.spans, "start_s"),
                (self.messages, "send_s"),
                (self.collectives, "start_s"),
            ]
        ):
            keyed += [
                ((row_t, order, i), row)
                for i, (row_t, row) in enumerate(
                    zip(table[key].tolist(), table.rows(), strict=True)
                )
            ]
        return [row for _, row in sorted(keyed, key=lambda kv: kv[0])]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Trace)
            and self.spans == other.spans
            and self.messages == other.messages
            and self.collectives == other.collectives
            and self.updates == other.updates
            and dict(self.meta) == dict(other.meta)
        )

    __hash__ = None  # type: ignore[assignment]


def concat(tables: list[Table]) -> Table:
    """Rows of several tables of one record type, one after the other."""
    first = tables[0]
    return Table(first.record, {f: np.concatenate([t[f] for t in tables]) for f in first.fields})


class TraceBuilder:
    """Where a running simulation appends its records (``spans.rows.append((...))``)."""

    def __init__(self, meta: Mapping[str, Any]):
        self.meta = dict(meta)
        self.spans = TableBuilder(Span)
        self.messages = TableBuilder(Message)
        self.collectives = TableBuilder(CollectiveRecord)
        self.updates = TableBuilder(Update)
        self._more_messages: list = []
        self._more_spans: list = []

    def add_messages(self, make_table) -> None:
        """Add messages that ``make_table()`` builds (a Table) when the trace is built."""
        self._more_messages.append(make_table)

    def add_spans(self, make_table) -> None:
        """Add spans that ``make_table()`` builds (a Table) when the trace is built."""
        self._more_spans.append(make_table)

    def build(self) -> Trace:
        messages = [self.messages.build()] + [make() for make in self._more_messages]
        spans = [self.spans.build()] + [make() for make in self._more_spans]
        return Trace(
            spans=concat(spans),
            messages=concat(messages),
            collectives=self.collectives.build(),
            updates=self.updates.build(),
            meta=self.meta,
        )
