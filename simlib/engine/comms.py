"""What XLA really sends: every collective in a compiled program, with its bytes.

``jax.jit(f).lower(...).compile().as_text()`` is the partitioned, per-device HLO program. This
module reads it and lists each collective operation: its kind, its replica groups (which
devices take part together), the bytes each device puts in, and how many times it runs per
call, with loops counted (a collective inside a ``while`` body appears once in the text but runs
``known_trip_count`` times; REFERENCES.md, JAX 0.10 facts).

From the operand bytes ``n`` and the group size ``p`` it also gives the bytes each device sends
under the ring algorithm (Thakur, Rabenseifner & Gropp 2005; nccl-tests PERFORMANCE.md):

    all-reduce          2 (p-1)/p n        reduce-scatter, all-to-all   (p-1)/p n
    all-gather          (p-1) n            (n is the shard; (p-1)/p of the gathered result)
    collective-permute  n                  collective-broadcast          n

Example:
    >>> compiled = jax.jit(step).lower(params, x, y).compile()       # doctest: +SKIP
    >>> for c in collectives(compiled.as_text()):                     # doctest: +SKIP
    ...     print(c.kind, c.operand_bytes, c.group_size, c.count)
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

__all__ = [
    "COLLECTIVE_KINDS",
    "Collective",
    "collectives",
    "ring_bytes_sent",
    "shape_bytes",
    "summarize",
]

COLLECTIVE_KINDS = (
    "all-reduce",
    "all-gather",
    "reduce-scatter",
    "all-to-all",
    "collective-permute",
    "collective-broadcast",
)

_DTYPE_BYTES = {
    "pred": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "f16": 2, "bf16": 2, "s32": 4, "u32": 4,
    "f32": 4, "s64": 8, "u64": 8, "f64": 8, "c64": 8, "c128": 16, "s4": 0.5, "u4": 0.5,
    "f8e4m3fn": 1, "f8e5m2": 1, "f8e4m3": 1, "f8e5m2fnuz": 1, "f8e4m3fnuz": 1, "token": 0,
}  # fmt: skip
_ARRAY = re.compile(r"\b([a-z][a-z0-9]*)\[([0-9,]*)\]")
_COMPUTATION = re.compile(r"^(ENTRY\s+)?%?([\w.\-]+)\s*\(.*\)\s*->\s*.*\{\s*$")
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(.*)$")
_CALLEES = re.compile(
    r"\b(body|condition|calls|to_apply|true_computation|false_computation)=%?([\w.\-]+)"
)
_BRANCHES = re.compile(r"branch_computations=\{([^}]*)\}")
_TRIP = re.compile(r'"known_trip_count"\s*:\s*\{\s*"n"\s*:\s*"?(\d+)"?')


@dataclass(frozen=True)
class Collective:
    """One collective instruction of a compiled program, as each device sees it.

    ``operand_bytes`` is what one device contributes per execution (the shard for an
    all-gather, the full buffer for an all-reduce or reduce-scatter); ``count`` is how many
    times it runs per call of the program, loops included.
    """

    kind: str
    name: str
    computation: str
    operand_shapes: tuple[str, ...]
    operand_bytes: int
    group_size: int
    num_groups: int
    count: int
    trip_count_known: bool = True

    @property
    def ring_bytes_sent_per_device(self) -> float:
        """Bytes one device sends per execution under the ring algorithm."""
        return ring_bytes_sent(self.kind, self.operand_bytes, self.group_size)

    @property
    def total_operand_bytes(self) -> int:
        """``operand_bytes * count``: bytes put in per call of the program."""
        return self.operand_bytes * self.count


def shape_bytes(text: str) -> int:
    """Bytes of every array type in an HLO type string, e.g. ``"(f32[4,16], f32[])"`` -> 260."""
    total = 0.0
    for dtype, dims in _ARRAY.findall(text):
        if dtype not in _DTYPE_BYTES:
            continue
        total += _DTYPE_BYTES[dtype] * math.prod(int(d) for d in dims.split(",") if d)
    return int(math.ceil(total))


def ring_bytes_sent(kind: str, operand_bytes: float, group_size: int) -> float:
    """Bytes one device sends for ``kind`` over a ring of ``group_size`` devices."""
    p = group_size
    if p <= 1:
        return 0.0
    factors = {
        "all-reduce": 2 * (p - 1) / p,
        "all-gather": p - 1,
        "reduce-scatter": (p - 1) / p,
        "all-to-all": (p - 1) / p,
        "collective-permute": 1.0,
        "collective-broadcast": 1.0,
    }
    return factors[kind] * operand_bytes


def _split_type_and_rest(text: str) -> tuple[str, str]:
    """Split ``"(f32[2], f32[]) all-reduce(...)"`` into the type and the rest."""
    text = text.strip()
    if not text.startswith("("):
        head, _, rest = text.partition(" ")
        return head, rest
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return text[: i + 1], text[i + 1 :].strip()
    return text, ""


def _operands(rest: str) -> list[str]:
    """Operand names of ``opcode(%a, %b), attrs...``."""
    start = rest.find("(")
    depth, end = 0, len(rest)
    for i in range(start, len(rest)):
        depth += rest[i] == "("
        depth -= rest[i] == ")"
        if depth == 0:
            end = i
            break
    return re.findall(r"%([\w.\-]+)", rest[start:end])


def _group_shape(attrs: str, default_size: int) -> tuple[int, int]:
    """(group size, number of groups) from ``replica_groups`` / ``source_target_pairs``."""
    mesh = re.search(r"replica_groups=mesh\[([^\]]*)\]\s*\{([^}]*)\}", attrs)
    if mesh:
        sizes = dict(re.findall(r"'([^']+)'=(\d+)", mesh.group(1)))
        chosen = re.findall(r"'([^']+)'", mesh.group(2))
        size = math.prod(int(sizes[a]) for a in chosen)
        total = math.prod(int(s) for s in sizes.values())
        return size, max(total // max(size, 1), 1)
    iota = re.search(r"replica_groups=\[(\d+),(\d+)\]<=", attrs)
    if iota:
        return int(iota.group(2)), int(iota.group(1))
    groups = re.findall(r"\{([^{}]*)\}", _braced(attrs, "replica_groups="))
    groups = [g for g in groups if g.strip()]
    if groups:
        return len(groups[0].split(",")), len(groups)
    pairs = _braced(attrs, "source_target_pairs=")
    if pairs:
        return max(len(set(re.findall(r"\d+", pairs))), 1), 1
    return default_size, 1


def _braced(attrs: str, key: str) -> str:
    """The balanced ``{...}`` text that follows ``key`` in an attribute list, or ''."""
    start = attrs.find(key + "{")
    if start < 0:
        return ""
    depth = 0
    for i in range(start + len(key), len(attrs)):
        depth += attrs[i] == "{"
        depth -= attrs[i] == "}"
        if depth == 0:
            return attrs[start + len(key) : i + 1]
    return ""


def _parse(hlo_text: str):
    """Computations -> instructions, and the module's device count."""
    computations: dict[str, list[tuple[str, str, str]]] = {}
    entry, current = None, None
    header = re.search(r"num_partitions=(\d+)", hlo_text)
    replicas = re.search(r"replica_count=(\d+)", hlo_text)
    devices = max(int(header.group(1)) if header else 1, int(replicas.group(1)) if replicas else 1)
    for line in hlo_text.splitlines():
        match = _COMPUTATION.match(line)
        if match:
            current = match.group(2)
            computations[current] = []
            entry = current if match.group(1) else entry
            continue
        if line.strip() == "}":
            current = None
            continue
        inst = _INSTRUCTION.match(line) if current else None
        if inst:
            type_text, rest = _split_type_and_rest(inst.group(2))
            computations[current].append((inst.group(1), type_text, rest))
    return computations, entry, devices


def _multipliers(computations, entry) -> tuple[dict[str, int], set[str]]:
    """How many times each computation runs per call of ``entry`` (while trip counts applied)."""
    edges: dict[str, list[tuple[str, int, bool]]] = defaultdict(list)
    for name, instructions in computations.items():
        for _, _, rest in instructions:
            opcode = rest.split("(", 1)[0].strip()
            trip = _TRIP.search(rest)
            factor, known = (int(trip.group(1)), True) if trip else (1, opcode != "while")
            callees = [c for k, c in _CALLEES.findall(rest) if k != "to_apply"]
            for block in _BRANCHES.findall(rest):
                callees += re.findall(r"%?([\w.\-]+)", block)
            for callee in callees:
                edges[name].append((callee, factor if opcode == "while" else 1, known))
    counts: dict[str, int] = defaultdict(int)
    unknown: set[str] = set()

    def visit(name: str, mult: int, guessed: bool, depth: int = 0) -> None:
        if depth > 64:
            return
        counts[name] += mult
        if guessed:
            unknown.add(name)
        for callee, factor, known in edges.get(name, ()):
            visit(callee, mult * factor, guessed or not known, depth + 1)

    if entry:
        visit(entry, 1, False)
    return counts, unknown


def collectives(hlo_text: str) -> list[Collective]:
    """Every collective in a compiled (partitioned) HLO module, in program order.

    Asynchronous pairs (``all-reduce-start`` / ``-done``) are counted once, at the start.
    """
    computations, entry, devices = _parse(hlo_text)
    types = {name: t for insts in computations.values() for name, t, _ in insts}
    counts, unknown = _multipliers(computations, entry)
    found = []
    for comp, instructions in computations.items():
        for name, type_text, rest in instructions:
            opcode = rest.split("(", 1)[0].strip()
            kind = opcode.removesuffix("-start")
            if kind not in COLLECTIVE_KINDS or opcode.endswith("-done"):
                continue
            operand_types = [types.get(o, "") for o in _operands(rest)]
            shapes = tuple(
                f"{d}[{s}]" for t in operand_types for d, s in _ARRAY.findall(t)
            ) or tuple(f"{d}[{s}]" for d, s in _ARRAY.findall(type_text))
            nbytes = sum(shape_bytes(s) for s in shapes)
            size, groups = _group_shape(rest, devices)
            found.append(
                Collective(
                    kind=kind,
                    name=name,
                    computation=comp,
                    operand_shapes=shapes,
                    operand_bytes=nbytes,
                    group_size=size,
                    num_groups=groups,
                    count=max(counts.get(comp, 0), 1 if comp == entry else 0),
                    trip_count_known=comp not in unknown,
                )
            )
    return found


def summarize(found: list[Collective]) -> list[dict]:
    """``[{kind, bytes, count, group_size, ring_bytes_sent_per_device}]``, one per collective.

    ``bytes`` is the operand bytes of one execution; ``count`` the executions per step; the
    ring bytes are per step (``count`` executions).
    """
    return [
        {
            "kind": c.kind,
            "bytes": c.operand_bytes,
            "count": c.count,
            "group_size": c.group_size,
            "ring_bytes_sent_per_device": c.ring_bytes_sent_per_device * c.count,
        }
        for c in found
    ]

