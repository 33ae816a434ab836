"""Grade free text by concepts: deterministic, offline, no model.

An answer is split into clauses (at ``. ; : ! ?`` and words such as *but*, *while*,
*whereas*, *instead*), lower-cased, with small words (*the*, *a*, *of*, ...) dropped and plurals
folded (*gradients* -> *gradient*). A concept is found when one of its **phrasings** or
**patterns** matches inside one clause and is not negated.

A phrasing is a sequence of slots separated by spaces; each slot lists alternatives with ``|``
and a trailing ``*`` matches any word that starts so. Slots must appear in order, each within
``MAX_GAP`` content words of the previous one. Order matters: ``split*|shard* data|batch``
matches "splits the batch" but not "the batch is split"; write ``data|batch split*|shard*`` too.
Every alternative is one word: a space always starts a new slot, so ``old weight|state`` is two
slots (``old`` then ``weight`` or ``state``); write several phrasings for multi-word variants.
A match is negated when *not*, *no*, *never*, *without*, ... stands up to ``NEGATION_REACH``
words before it (not across a comma) or between its slots, unless the phrasing itself contains
a negation word.

A pattern is a regular expression searched in each normalised clause (words separated by single
spaces, punctuation removed).

Misconceptions are found the same way; each gives feedback and cancels the concepts it
contradicts.

Example:
    >>> m = compile_phrasing("split*|shard* data|batch")
    >>> matches(m, clauses("Each device gets a shard of the batch."))
    True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ConceptResult",
    "clauses",
    "compile_phrasing",
    "grade_concepts",
    "matches",
    "normalise",
]

MAX_GAP = 3
NEGATION_REACH = 2
MAX_ANSWER_CHARS = 20_000
NEGATIONS = frozenset(
    "not no never without cannot cant dont doesnt isnt arent wont neither nor none nothing".split()
)
STOPWORDS = frozenset(
    "the a an of to is are be been being its it their there this that these those each every "
    "in on at for by as so then than also just very really which who".split()
)
_KEEP_S = frozenset("bus status consensus versus corpus thus plus bonus minus".split())
_BREAKERS = frozenset("but while whereas instead however unlike rather although though".split())
_CLAUSE_SPLIT = re.compile(r"[.;:!?\n]+")
_WORD = re.compile(r"[a-z0-9]+")


def _fold(word: str) -> str:
    """Fold a plural to its singular, lightly: gradients -> gradient, copies -> copy."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is")):
        return word if word in _KEEP_S else word[:-1]
    return word


def normalise(text: str) -> str:
    """Lower-case, drop apostrophes, turn other punctuation into spaces, collapse spaces."""
    text = text[:MAX_ANSWER_CHARS].lower().replace("'", "").replace("\u2019", "")
    return " ".join(_WORD.findall(text))


@dataclass(frozen=True)
class Clause:
    """One clause of an answer: its normalised text, its folded content words, and for each
    word the number of its comma-separated part (a negation does not reach past a comma)."""

    text: str
    words: tuple[str, ...]
    parts: tuple[int, ...]


def clauses(text: str) -> tuple[Clause, ...]:
    """Split ``text`` into clauses at punctuation and at contrast words."""
    out: list[Clause] = []
    for sentence in _CLAUSE_SPLIT.split(text[:MAX_ANSWER_CHARS]):
        current: list[tuple[str, int]] = []
        for part, piece in enumerate(sentence.split(",")):
            for word in normalise(piece).split():
                if word in _BREAKERS:
                    out.append(_clause(current))
                    current = []
                else:
                    current.append((word, part))
        out.append(_clause(current))
    return tuple(c for c in out if c.words)


def _clause(raw: list[tuple[str, int]]) -> Clause:
    kept = [(_fold(w), part) for w, part in raw if w not in STOPWORDS]
    return Clause(" ".join(w for w, _ in raw), tuple(w for w, _ in kept), tuple(p for _, p in kept))


@dataclass(frozen=True)
class Slot:
    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def accepts(self, word: str) -> bool:
        return word in self.exact or word.startswith(self.prefixes)


@dataclass(frozen=True)
class Phrasing:
    slots: tuple[Slot, ...]
    negatable: bool


@lru_cache(maxsize=4096)
def compile_phrasing(phrasing: str) -> Phrasing:
    """Compile ``"split*|divid* data|batch"`` into slots of alternatives."""
    slots = []
    words: set[str] = set()
    for raw in normalise_slots(phrasing):
        alts = [a for a in raw.split("|") if a]
        exact = frozenset(_fold(a) for a in alts if not a.endswith("*"))
        prefixes = tuple(a[:-1] for a in alts if a.endswith("*") and len(a) > 1)
        words.update(a.rstrip("*") for a in alts)
        slots.append(Slot(exact, prefixes))
    return Phrasing(tuple(s for s in slots if s.exact or s.prefixes), not (words & NEGATIONS))


def normalise_slots(phrasing: str) -> list[str]:
    """The slots of a phrasing, lower-cased, with stop words removed (as answers are)."""
    raw = phrasing.lower().replace("'", "").split()
    cleaned = [re.sub(r"[^a-z0-9|*]", "", s) for s in raw]
    return [s for s in cleaned if s and s not in STOPWORDS]


def _match_from(phrasing: Phrasing, clause: Clause, start: int) -> int | None:
    """End index of a match whose first slot is word ``start`` (within one comma part), or None."""
    words, parts = clause.words, clause.parts
    pos = start
    for slot in phrasing.slots[1:]:
        stop = min(len(words), pos + 2 + MAX_GAP)
        nxt = next(
            (
                j
                for j in range(pos + 1, stop)
                if parts[j] == parts[start] and slot.accepts(words[j])
            ),
            None,
        )
        if nxt is None:
            return None
        pos = nxt
    return pos


def _negated(clause: Clause, start: int, end: int) -> bool:
    """A negation word just before the match (same comma part) or between its slots."""
    words, parts = clause.words, clause.parts
    first = max(0, start - NEGATION_REACH)
    return any(
        words[i] in NEGATIONS and (i >= start or parts[i] == parts[start])
        for i in range(first, end + 1)
    )


def matches(phrasing: Phrasing, parts: Sequence[Clause]) -> bool:
    """True when ``phrasing`` matches, un-negated, inside one of the clauses."""
    if not phrasing.slots:
        return False
    first = phrasing.slots[0]
    for clause in parts:
        words = clause.words
        for i, word in enumerate(words):
            if not first.accepts(word):
                continue
            end = _match_from(phrasing, clause, i)
            if end is not None and not (phrasing.negatable and _negated(clause, i, end)):
                return True
    return False


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def found(phrasings: Sequence[str], patterns: Sequence[str], parts: Sequence[Clause]) -> bool:
    """True when any phrasing or pattern matches the answer's clauses."""
    if any(matches(compile_phrasing(p), parts) for p in phrasings):
        return True
    return any(_regex(p).search(c.text) for p in patterns for c in parts)


@dataclass(frozen=True)
class ConceptResult:
    """What a free-text answer contained.

    Attributes:
        found: ids of the concepts found (after misconceptions cancelled some), in item order.
        missed: ids of the concepts not found, in item order.
        misconceptions: ids of the misconceptions found.
        total: number of concepts in the item.
    """

    found: tuple[str, ...]
    missed: tuple[str, ...]
    misconceptions: tuple[str, ...]
    total: int

    @property
    def fraction(self) -> float:
        return len(self.found) / self.total if self.total else 0.0

    @property
    def summary(self) -> str:
        return f"{len(self.found)}/{self.total} concepts"


def grade_concepts(item, answer: str) -> ConceptResult:
    """Which of ``item.concepts`` (a :class:`~simlib.quiz.schema.ConceptItem`) ``answer`` holds."""
    parts = clauses(answer)
    hit = {c.id for c in item.concepts if found(c.phrasings, c.patterns, parts)}
    wrong = [m for m in item.misconceptions if found(m.phrasings, m.patterns, parts)]
    for m in wrong:
        hit.difference_update(m.cancels)
    ids = [c.id for c in item.concepts]
    return ConceptResult(
        found=tuple(i for i in ids if i in hit),
        missed=tuple(i for i in ids if i not in hit),
        misconceptions=tuple(m.id for m in wrong),
        total=len(ids),
    )
