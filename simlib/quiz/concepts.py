"""Grade free text by what it states, not by which words occur: small relation frames.

A concept is a statement such as "data parallelism splits the data". It is written as one or
more **frames**: a set of subject terms, a set of relation terms and a set of object terms
(``{data parallelism, it} {split} {data, batch}``). An answer states the concept only when one
of its clauses binds a subject, a relation and an object of the same frame in a grammatical
order; words that merely occur, a bare list of keywords, a negated statement, or the right
statement said of the wrong thing (a role swap) do not count. Everything is rule-based,
offline and deterministic: no model, no word list downloaded, no randomness.

How an answer is read
---------------------
1. **Tokens.** Lower-case; contractions opened (*doesn't* -> does not); hyphens split;
   ``=`` and ``->`` read as "is", and so does a colon after at most three words ("DP: ...",
   "Fix: ..."; a later colon is a comma); ``1/N`` is one token; a few names become one token
   (``all-reduce``, ``data parallelism``, ``out of date``, see ``PHRASES``); "data-parallel
   ranks" are just ranks. Each word is lemmatised by a small suffix stripper with a table of
   irregular forms (*held* -> hold, *splitting* -> split, *copies* -> copy) and mapped to the
   head of its synonym group (*shard*, *divide*, *partition* -> split; *GPU*, *worker*,
   *node* -> device; see ``SYNONYM_GROUPS``). Frame terms are read the same way, so a rubric
   says ``split`` once and means all of them.
2. **Sentences and clauses.** Sentences end at ``. ; ! ?`` and new lines; a clause also ends
   at a contrast word (*but*, *whereas*, *while*, *unlike*, ...) and after
   ``CLAUSE_MAX_WORDS`` words. A clause opened by *instead of* or *rather than* (up to the
   next comma) states the negation of what it says, with the verb before it understood
   ("stores it once instead of eight times"). A sentence of ``LIST_MIN_WORDS`` or more words
   with almost no function words (fewer than ``LIST_FUNCTION_SHARE`` of them are *the, of,
   is, each, ...*) is a keyword list, not a statement: nothing in it counts.
3. **Predicates.** Each relation term of the item found in a clause is a predicate, unless
   it is used as a noun or adjective: right after an article, adjective or preposition
   (*a copy*, *identical replicas*, *from slow workers*), after a determiner or before a modal
   where it is also a subject or object term (*each replica*, *checkpoints must*), as the
   second of two adjacent relation words (*avoids conflicts*; a participle or auxiliary
   before another, *distributed training*, *must be averaged*, gives way to it), or as an
   *-ing* subject heading its clause (*Interleaving stages reduces it*). A predicate's
   subject is the nearest subject term before it, back to the previous predicate, that is
   not inside a prepositional phrase (*onto each device*); a relative pronoun (*which*,
   *that*) also stands for the noun just before it. With no subject of its own, a predicate
   after *and*, *or*, a comma, ... shares the previous predicate's subject in the sentence
   (*ZeRO shards the state and gathers it*); at the head of a clause it is an imperative
   (subject *you*), and in the answer's first sentence it may also take the question's own
   subject (*Stores everything once ...* answering "how does ZeRO ..."). Its objects are the
   object terms after it, up to the next predicate (or up to that one's subject, after a
   clause marker such as *, and*). After *is/are/be/get* a past participle is passive.
4. **Frames.** A frame is stated when a predicate's relation is one of its relations, its
   subject one of its subjects (``$topic`` stands for the concept's topic terms and *it*,
   *this*, *they*; ``*`` accepts any subject, or none), one of its objects one of the frame's
   objects (a frame without objects is intransitive: *the replicas drift apart*), and every
   group of ``also`` words occurs in the predicate's clause (*periodically*, *to disk*). A
   passive predicate matches with its surface subject as the object and *by X* as the
   subject; without *by X* only where the frame's subject is generic (``$topic``, ``*``,
   *you*, *we*): "the bubble is reduced" does not say by what. A frame may itself be
   written in the passive (*gradients* / *computed* / *stale weights*).
5. **Topic.** A concept may have a topic (*data parallelism*). A predicate's topic is the
   nearest topic term before it in its clause, else the first one after it in its clause,
   else the last one mentioned earlier in the answer. A concept with a topic counts only
   for predicates about that topic (a predicate before any topic is named is not held to it).
6. **Negation.** A predicate is negated by an odd number of negators (*not, no, never,
   without, none, neither, nor*) between its subject and its relation, right before its
   subject (*no GPU*) or right before its object (*has no copy*, *the data, not the
   model*), flipped again in an *instead of* clause. *Not only* is not a negation; *without
   X,* before a subject is a condition, not a negation. A negated frame does not state its
   concept; a frame marked ``negated: true`` states it only when negated (*no GPU keeps a
   full copy*).
7. **Misconceptions.** A misconception is found by frames of its own, or by ``swap_of: C``:
   concept C's frames said of the misconception's topic (*model parallelism splits the
   data*): the subject bound to another concept's object. A found misconception gives its
   feedback and cancels the concepts in its ``cancels`` list, so an answer that says both a
   thing and its swap earns neither.

The score is the share of concepts stated. Answers are cut at ``MAX_ANSWER_CHARS`` characters;
the work is about linear in the answer's length (terms are looked up by their first word,
frames by their relation), some 0.2 ms of CPU for a paragraph. Measured on 271 hand-labelled
answers (``tests/data/concept_answers.yaml``, see ``tests/test_quiz_concepts.py``): 94.5% of
concept decisions agree overall, 93.5% on answers held out while tuning, 77.5% on answers
written after it. The rules know the wordings the rubrics were tuned on best; a new wording
(an analogy, an unusual verb) is more often missed than a wrong one is credited.

Example:
    >>> from simlib.quiz.schema import ConceptItem
    >>> item = ConceptItem.model_validate({
    ...     "id": "q", "type": "concepts", "prompt": "What does data parallelism split?",
    ...     "concepts": [{"id": "splits-data", "name": "it splits the data",
    ...                   "topic": ["data parallelism"],
    ...                   "frames": [{"subject": ["$topic"], "relation": ["split"],
    ...                               "object": ["data"]}]}]})
    >>> grade_concepts(item, "Data parallelism divides the batch between GPUs.").found
    ('splits-data',)
    >>> grade_concepts(item, "In data parallelism the dataset is sharded.").found
    ('splits-data',)
    >>> grade_concepts(item, "Data parallelism does not split the data.").found
    ()
    >>> grade_concepts(item, "Model parallelism splits the data.").found
    ()
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ConceptResult",
    "Reading",
    "grade_concepts",
    "lemma",
    "read_answer",
]

MAX_ANSWER_CHARS = 20_000
LIST_MIN_WORDS = 8
LIST_FUNCTION_SHARE = 0.1
CLAUSE_MAX_WORDS = 80
TERM_GAP = 2  # words a multi-word term may skip between its words ("copy of the model")

TOPIC = "$topic"
ANY = "*"
YOU = "you"

# --- the lexicon -----------------------------------------------------------------------------

# fmt: off
IRREGULAR = {
    "held": "hold", "kept": "keep", "fed": "feed", "got": "get", "gotten": "get",
    "gave": "give", "given": "give", "ran": "run", "sent": "send", "lost": "lose",
    "wrote": "write", "written": "write", "has": "have", "had": "have", "having": "have",
    "is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "being": "be", "am": "be",
    "does": "do", "did": "do", "done": "do", "made": "make", "took": "take", "taken": "take",
    "brought": "bring", "went": "go", "gone": "go", "goes": "go", "saw": "see", "seen": "see",
    "broke": "break", "broken": "break", "splits": "split", "splitting": "split",
    "cuts": "cut", "cutting": "cut", "puts": "put", "putting": "put", "spreads": "spread",
    "spreading": "spread", "led": "lead", "built": "build", "spent": "spend", "sat": "sit",
    "sitting": "sit", "stood": "stand", "began": "begin", "begun": "begin", "left": "leave",
    "fits": "fit", "fitting": "fit", "fitted": "fit", "uses": "use", "used": "use",
    "using": "use", "data": "data", "less": "less", "loss": "loss", "across": "across",
    "its": "its", "this": "this", "thus": "thus", "bus": "bus", "status": "status",
    "always": "always", "bias": "bias", "series": "series", "means": "mean", "nothing": "nothing",
    "during": "during", "bring": "bring", "brings": "bring", "thing": "thing", "things": "thing",
    "fewer": "few", "smaller": "small", "larger": "large", "bigger": "big", "better": "good",
    "worse": "bad", "higher": "high", "older": "old", "faster": "fast",
    "slower": "slow", "longer": "long", "shorter": "short", "more": "more",
    "sped": "speed", "hurt": "hurt", "hurts": "hurt", "hurting": "hurt", "gpus": "gpu",
    "tpus": "tpu", "cpus": "cpu",
}
# fmt: on
_UNDOUBLE = frozenset("bdgmnprt")

# Words of one group read as the group's first word (after lemmatising).
SYNONYM_GROUPS = (
    "split divide shard partition distribute spread chop scatter segment apportion",
    "copy replica replicate duplicate clone mirror",
    "full whole entire complete",
    "same identical equal",
    "device gpu worker machine node accelerator card chip rank processor tpu computer host",
    "param parameter weight",
    "data dataset batch minibatch sample example input record image datum",
    "model network net",
    "have hold keep contain possess carry store",
    "save write persist dump snapshot serialise serialize",
    "average mean sum aggregate combine merge accumulate add",
    "shrink reduce decrease lower minimise minimize diminish lessen shorten",
    "stale outdated obsolete old",
    "restart resume reload recover continue",
    "fetch gather collect retrieve request",
    "idle unused unutilised unutilized",
    "optimizer optimiser",
    "sync synchronise synchronize synchronisation synchronization synchronous synchronously "
    "synchronised synchronized synced synchronizing synchronising",
    "async asynchronous asynchronously",
    "converge convergence",
    "accuracy accurate",
    "interleave interleaved interleaving",
    "big large huge massive giant enormous",
    "start beginning begin",
    "end ending finish",
    "fast quick",
)

# Multi-word names read as one token (matched on lower-cased text, longest first).
# fmt: off
PHRASES = {
    "data-parallelism": "dataparallel", "data parallelism": "dataparallel",
    "data parallel": "dataparallel", "data-parallel": "dataparallel", "dp": "dataparallel",
    "ddp": "dataparallel", "model-parallelism": "modelparallel",
    "model parallelism": "modelparallel", "model parallel": "modelparallel",
    "model-parallel": "modelparallel", "mp": "modelparallel",
    "tensor parallelism": "tensorparallel", "tensor parallel": "tensorparallel",
    "tensor-parallel": "tensorparallel", "tp": "tensorparallel",
    "pipeline parallelism": "pipelineparallel", "pipeline parallel": "pipelineparallel",
    "pipeline-parallel": "pipelineparallel", "pp": "pipelineparallel",
    "all-reduce": "allreduce", "all reduce": "allreduce", "allreduce": "allreduce",
    "all-gather": "allgather", "all gather": "allgather", "allgather": "allgather",
    "all reduced": "allreduced", "all gathered": "allgathered",
    "reduce-scatter": "reducescatter", "reduce scatter": "reducescatter",
    "parameter server": "paramserver", "parameter-server": "paramserver",
    "out of date": "stale", "out-of-date": "stale", "up to date": "current",
    "up-to-date": "current", "out of sync": "desync", "in sync": "insync",
    "zero-1": "zero", "zero-2": "zero", "zero-3": "zero", "zero-dp": "zero", "fsdp": "zero",
    "zero data parallelism": "zero", "deepspeed zero": "zero", "deepspeed": "zero",
    "micro-batch": "microbatch", "micro batch": "microbatch", "micro-batches": "microbatches",
    "micro batches": "microbatches", "mini-batch": "minibatch", "mini batch": "minibatch",
    "mini-batches": "minibatches", "mini batches": "minibatches",
    "without zero": "dataparallel", "not only": "", "not just": "", "each one": "each",
    "every one": "each", "each of them": "each", "each of the": "each", "but also": "and also",
    "no longer": "not",
    "instead of": "insteadof", "rather than": "insteadof",
    "single-device": "single device", "one-gpu": "one gpu", "data-loader": "dataloader",
    "data loader": "dataloader",
}
# fmt: on
_FRACTION = re.compile(r"\b1\s*/\s*(n|k|p|d|\d+)(st|nd|rd|th)?\b|\bn-?th\b|\bone\s+nth\b")

NEGATORS = frozenset("not no never none neither nor without nobody".split())
CONTRASTS = frozenset("but whereas while whilst however although though unlike yet".split())
NEGATING = "insteadof"
COORDINATORS = frozenset("and or then also , so".split())
CLAUSE_MARKERS = COORDINATORS | frozenset(
    "that which who because when if while since as after before until unless".split()
)
PASSIVE_AUX = frozenset(("be", "get"))
AUXILIARIES = frozenset(("be", "get", "hav", "do"))
MODALS = frozenset(
    "must should can could will would may might shall is are was were has have had".split()
)
PRONOUNS = frozenset(("it", "this", "they", "these", "that"))
SUBJECT_PRONOUNS = frozenset(("it", "this", "they", "these", "we", YOU, "one", "each"))
RELATIVES = frozenset(("which", "that", "who"))
PREPOSITIONS = frozenset(
    "in on onto to into across over between among amongst with from of for at per within "
    "inside through via under about like than unlike among around along after before".split()
)
DETERMINERS = frozenset(
    "the a an each every all its their his her our your this that these those some any "
    "several many multiple different other another one two single separate own whole".split()
)
# Words that may stand before an imperative at the head of a clause ("1) use more ...").
_INTRODUCTIONS = frozenset(
    "every each after before when whenever if to once at in on for during then first finally "
    "periodically regularly otherwise so also".split()
)
_LEADS = frozenset("and or then also first second finally so , :".split())
_IMPERATIVE_LEAD = frozenset(
    "and or then also first second third finally simply just to by you we can should must "
    "could one , 1 2 3 i ii a b".split()
)
FUNCTION_WORDS = frozenset(
    "the a an of to in on at for by with from into onto over across between among is are was "
    "were be been being has have had do does did and or but so then that which who whom what "
    "when where while if because as it its they them their this these those there each every "
    "all some any no not can could will would should must may might only also than too very "
    "just both either we you i he she his her our your one own such same other another how "
    "why via per through until after before since once about up out off down".split()
)

_NON_WORD = re.compile(r"[^a-z0-9]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[=,]|:")
_SENTENCE_END = re.compile(r"(?<!\d)[.!?;]+|[.!?;]+(?!\d)|\n+")


def _stem(word: str) -> str:
    """Strip plural and verb suffixes so that the forms of a word meet: a stem, not a word."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
        if len(word) > 2 and word[-1] == word[-2] and word[-1] in _UNDOUBLE:
            word = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
        if len(word) > 2 and word[-1] == word[-2] and word[-1] in _UNDOUBLE:
            word = word[:-1]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _base(word: str) -> str:
    return _stem(IRREGULAR.get(word, word))


SYNONYMS: dict[str, str] = {}
for _group in SYNONYM_GROUPS:
    _words = _group.split()
    for _w in _words:
        SYNONYMS.setdefault(_base(_w), _base(_words[0]))


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The token a word is read as: its stem, then the head of its synonym group.

    >>> [lemma(w) for w in ("sharded", "divides", "GPUs", "held", "copies", "replicated")]
    ['split', 'split', 'devic', 'hav', 'copy', 'copy']
    """
    base = _base(word.lower())
    return SYNONYMS.get(base, base)


def _phrase_table() -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
    """PHRASES keyed by their first word, longest first: words -> replacement words."""
    table: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for key, value in PHRASES.items():
        words = tuple(_WORD.findall(_pre(key)))
        if words:
            table.setdefault(words[0], []).append((words, tuple(value.split())))
    for entries in table.values():
        entries.sort(key=lambda e: -len(e[0]))
    return table


_TYPOS = ((re.compile(r"\bparal+el+"), "parallel"), (re.compile(r"\bsynchroni[sz]"), "synchronis"))
_DP_ADJECTIVE = re.compile(
    r"\bdata[- ]parallel (ranks?|gpus?|workers?|devices?|processe?s?|replicas?|groups?|"
    r"degree|dimension|size|peers?|nodes?)\b"
)
_CONTRACTIONS = re.compile(r"\b(can't|cannot|won't)|n't\b")
_CONTRACTED = {"can't": " can not", "cannot": " can not", "won't": " will not"}


def _pre(text: str) -> str:
    """Lower-case text with contractions opened and hyphens as spaces ("->" kept)."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = _CONTRACTIONS.sub(lambda m: _CONTRACTED.get(m.group(0), " not"), text)
    return text.replace("->", " = ").replace("-", " ")


def _normalise(text: str) -> str:
    """The answer's text as the tokeniser sees it: typos fixed, "1/N" one token."""
    text = text[:MAX_ANSWER_CHARS].lower()
    if "parale" in text or "paral" in text or "synchroni" in text:
        for typo, fix in _TYPOS:
            text = typo.sub(fix, text)
    if "parallel" in text:
        text = _DP_ADJECTIVE.sub(r"\1", text)  # "the data-parallel ranks" are just the ranks
    if "/" in text or "nth" in text:
        text = _FRACTION.sub(" onenth ", text)
    return _pre(text)


_PHRASES_BY_FIRST = _phrase_table()


def _merge_phrases(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        for key, value in _PHRASES_BY_FIRST.get(words[i], ()):
            if tuple(words[i : i + len(key)]) == key:
                out.extend(value)
                i += len(key)
                break
        else:
            out.append(words[i])
            i += 1
    return out


# --- reading an answer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One clause: raw words, their lemmas, its sentence, and whether it opened negated."""

    raw: tuple[str, ...]
    lemmas: tuple[str, ...]
    sentence: int
    negated: bool


@dataclass(frozen=True)
class Reading:
    """An answer read into clauses; ``lists`` holds the sentences read as keyword lists."""

    clauses: tuple[Clause, ...]
    lists: frozenset[int]


def _words(piece: str) -> list[str]:
    """Words, commas and colons; ``=`` and ``->`` read as "is"; a colon after at most three
    words heads a definition ("DP: ...", "Fix: ...") and reads as "is", else as a comma."""
    out: list[str] = []
    since = 0
    for w in _merge_phrases(_WORD.findall(piece)):
        if w in ("=", "->"):
            out.append("is")
        elif w == ":":
            out.append(":" if since <= 3 else ",")
            since = 0
        else:
            w = w.replace("'s", "").replace("'", "")
            if w:
                out.append(w)
                since += 1
    return out


def _is_list(words: Sequence[str]) -> bool:
    content = [w for w in words if w not in (",", ":")]
    if len(content) < LIST_MIN_WORDS:
        return False
    share = sum(w in FUNCTION_WORDS for w in content) / len(content)
    return share < LIST_FUNCTION_SHARE


def read_answer(text: str) -> Reading:
    """Split ``text`` into clauses of lemmatised words (see the module docstring).

    >>> r = read_answer("ZeRO shards the states, but each GPU gathers them. copy shard gather")
    >>> [c.lemmas for c in r.clauses][:2]
    [('zero', 'split', 'the', 'stat', ','), ('each', 'devic', 'fetch', 'them')]
    """
    clauses: list[Clause] = []
    lists: set[int] = set()
    sentences = 0
    for sentence in _SENTENCE_END.split(_normalise(text)):
        words = _words(sentence)
        if not words:
            continue
        index = sentences
        sentences += 1
        lemmas = [lemma(w) if w not in (",", ":") else {",": ",", ":": "be"}[w] for w in words]
        if _is_list(words):
            lists.add(index)
        raw: list[str] = []
        lem: list[str] = []
        negated = False
        for w, m in zip(words, lemmas, strict=True):
            if w == "," and negated and raw:
                # "Instead of replicating everything, ZeRO splits it": the negation ends here
                clauses.append(Clause(tuple(raw), tuple(lem), index, negated))
                raw, lem, negated = [], [], False
                continue
            if w in CONTRASTS or w == NEGATING:
                if raw:
                    clauses.append(Clause(tuple(raw), tuple(lem), index, negated))
                raw, lem, negated = [], [], w == NEGATING
                continue
            raw.append(w)
            lem.append(m)
            if len(raw) >= CLAUSE_MAX_WORDS:  # a run-on: bound the work per clause
                clauses.append(Clause(tuple(raw), tuple(lem), index, negated))
                raw, lem = [], []
        if raw:
            clauses.append(Clause(tuple(raw), tuple(lem), index, negated))
    return Reading(tuple(clauses), frozenset(lists))


# --- terms and frames --------------------------------------------------------------------------

Term = tuple[frozenset[str], ...]


def compile_term(text: str) -> Term:
    """``"full|whole copy"`` -> slots of lemmas; each slot lists alternatives with ``|``.

    >>> compile_term("full|whole copies")
    (frozenset({'full'}), frozenset({'copy'}))
    """
    slots = []
    chunks = _normalise(text.replace("|", " | ")).replace(" | ", "|").split()
    for chunk in _merge_phrases(chunks):
        alts = frozenset(
            lemma(w) for a in chunk.split("|") for w in _merge_phrases([_NON_WORD.sub("", a)]) if w
        )
        if alts:
            slots.append(alts)
    return tuple(slots)


@dataclass(frozen=True)
class Span:
    start: int
    end: int  # exclusive
    term: Term


@dataclass(frozen=True)
class CompiledFrame:
    subjects: frozenset[Term]
    topic_subject: bool
    any_subject: bool
    relations: frozenset[Term]
    objects: frozenset[Term]
    also: tuple[frozenset[str], ...]
    negated: bool
    agentless: bool  # an agentless passive states it ("the data is split")


@dataclass(frozen=True)
class Statement:
    """A concept or misconception: its frames and the topic its predicates must be about."""

    id: str
    frames: tuple[CompiledFrame, ...]
    topic: frozenset[Term]
    lenient_topic: bool


_GENERIC_ACTORS = frozenset((frozenset((w,)),) for w in (YOU, "we"))


def compile_frame(frame) -> CompiledFrame:
    """A schema :class:`~simlib.quiz.schema.Frame` as sets of compiled terms."""
    subjects = [s for s in frame.subject if s.strip() not in (TOPIC, ANY)]
    return CompiledFrame(
        subjects=frozenset(t for t in map(compile_term, subjects) if t),
        topic_subject=any(s.strip() == TOPIC for s in frame.subject),
        any_subject=any(s.strip() == ANY for s in frame.subject),
        relations=frozenset(t for t in map(compile_term, frame.relation) if t),
        objects=frozenset(t for t in map(compile_term, frame.object) if t),
        also=tuple(
            frozenset(s for t in map(compile_term, group.split(",")) for slot in t for s in slot)
            for group in frame.also
        ),
        negated=frame.negated,
        agentless=bool(
            frame.subject
            and (
                any(s.strip() in (TOPIC, ANY) for s in frame.subject)
                or any(compile_term(s) in _GENERIC_ACTORS for s in frame.subject)
            )
        ),
    )


@dataclass(frozen=True)
class CompiledItem:
    concepts: tuple[Statement, ...]
    misconceptions: tuple[tuple[Statement, tuple[str, ...]], ...]
    relations: frozenset[Term]
    subjects: frozenset[Term]
    objects: frozenset[Term]
    topics: frozenset[Term]
    by_first: dict[str, tuple[Term, ...]]  # every term by each word its first slot allows
    statements: tuple[Statement, ...]  # concepts, then misconceptions
    # relation term -> (statement index, statement, its frames with that relation)
    by_relation: dict[Term, tuple[tuple[int, Statement, tuple[CompiledFrame, ...]], ...]]


def _statement(sid: str, frames, topic: Iterable[str], lenient: bool) -> Statement:
    return Statement(
        sid,
        tuple(compile_frame(f) for f in frames),
        frozenset(t for t in map(compile_term, topic) if t),
        lenient,
    )


def compile_item(item) -> CompiledItem:
    """Compile a :class:`~simlib.quiz.schema.ConceptItem`'s frames and vocabulary."""
    by_id = {c.id: c for c in item.concepts}
    concepts = tuple(_statement(c.id, c.frames, c.topic, True) for c in item.concepts)
    wrong = []
    for m in item.misconceptions:
        frames = tuple(m.frames) + (tuple(by_id[m.swap_of].frames) if m.swap_of else ())
        wrong.append((_statement(m.id, frames, m.topic, False), tuple(m.cancels)))
    statements = [*concepts, *(s for s, _ in wrong)]
    frames = [f for s in statements for f in s.frames]
    topics = frozenset(t for s in statements for t in s.topic)
    pronouns = frozenset((frozenset((p,)),) for p in SUBJECT_PRONOUNS | PRONOUNS | RELATIVES)
    relations = frozenset(t for f in frames for t in f.relations)
    subjects = frozenset(t for f in frames for t in f.subjects) | topics | pronouns
    objects = frozenset(t for f in frames for t in f.objects)
    by_first: dict[str, set[Term]] = {}
    for term in relations | subjects | objects | topics:
        for word in term[0]:
            by_first.setdefault(word, set()).add(term)
    by_relation: dict[Term, list[tuple[int, Statement, tuple[CompiledFrame, ...]]]] = {}
    for index, stmt in enumerate(statements):
        for rel in {r for f in stmt.frames for r in f.relations}:
            chosen = tuple(f for f in stmt.frames if rel in f.relations)
            by_relation.setdefault(rel, []).append((index, stmt, chosen))
    return CompiledItem(
        statements=tuple(statements),
        by_relation={r: tuple(v) for r, v in by_relation.items()},
        concepts=concepts,
        misconceptions=tuple(wrong),
        relations=relations,
        subjects=subjects,
        objects=objects,
        topics=topics,
        by_first={w: tuple(sorted(ts, key=repr)) for w, ts in by_first.items()},
    )


_COMPILED: dict[int, tuple[object, CompiledItem]] = {}


def _compiled(item) -> CompiledItem:
    hit = _COMPILED.get(id(item))
    if hit is None or hit[0] is not item:
        if len(_COMPILED) > 4096:
            _COMPILED.clear()
        hit = (item, compile_item(item))
        _COMPILED[id(item)] = hit
    return hit[1]


# --- predicates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predicate:
    """A relation found in a clause with what it is bound to."""

    relation: Span
    subject: frozenset[Term] | None  # terms at the subject; None: no subject found
    generic: bool  # an imperative ("use more microbatches"): subject "you"
    objects: tuple[Span, ...]
    agent: frozenset[Term] | None
    passive: bool
    topic: Term | None
    aux_negated: bool  # negated between subject and relation, or right before the subject
    clause: int
    first_sentence: bool = False
    window: int = 0  # where the words an ``also`` group may come from start in the clause


PARTICIPLES = frozenset(
    "split cut spread put set held kept sent fed built made done given taken lost shown known "
    "run read shed broken written chosen seen".split()
)


def _participle(word: str) -> bool:
    """A past participle, as after "is" in a passive ("is split", "are averaged")."""
    return word.endswith(("ed", "en")) or word in PARTICIPLES


ARTICLES = frozenset("a an the its their his her our your my".split())


ADJECTIVES = frozenset(
    "identical same full complete whole entire different separate new old stale single exact "
    "partial redundant extra additional small large big local global final first last next "
    "previous own other shared common periodic regular latest recent current".split()
)


_NOUN_PREPOSITIONS = (PREPOSITIONS | {"as"}) - {
    "to",
    "by",
    "for",
    "after",
    "before",
    "like",
    "about",
}


NOUN_FORMS = frozenset(("training", "learning", "schedule", "schedules"))


def _adjective(word: str) -> bool:
    """A known adjective or a superlative ("the newest checkpoint")."""
    return word in ADJECTIVES or (len(word) > 4 and word.endswith("est"))


def _nominal(raw: Sequence[str], start: int) -> bool:
    """A relation word used as a noun: right after an article ("the training batch", "a
    copy"), or after an article and an adjective ("an identical replica")."""
    if raw[start] in NOUN_FORMS:
        return True
    if start >= 1 and raw[start - 1] in ARTICLES | ADJECTIVES | _NOUN_PREPOSITIONS:
        return True
    return start >= 2 and raw[start - 2] in ARTICLES and _adjective(raw[start - 1])


def _in_pp(raw: Sequence[str], start: int) -> bool:
    """True when the words before ``start`` (over determiners) end in a preposition."""
    j = start - 1
    while j >= 0 and j >= start - 4 and (raw[j] in DETERMINERS or raw[j] in ADJECTIVES):
        j -= 1
    if j >= 1 and j == start - 1 and raw[j] not in FUNCTION_WORDS and raw[j - 1] in PREPOSITIONS:
        return True  # one more modifier: "from slow workers"
    return j >= 0 and raw[j] in PREPOSITIONS


def _negated_before(raw: Sequence[str], start: int) -> bool:
    """A negator right before ``start``, over determiners ("no GPU", "none of the GPUs")."""
    j = start - 1
    while j >= 0 and j >= start - 4 and (raw[j] in DETERMINERS or raw[j] == "of"):
        j -= 1
    return j >= 0 and raw[j] in NEGATORS


def _count_negators(raw: Sequence[str], lo: int, hi: int) -> int:
    return sum(w in NEGATORS for w in raw[max(lo, 0) : hi])


def _terms_at(spans: Sequence[Span], end: int) -> frozenset[Term]:
    return frozenset(s.term for s in spans if s.end == end)


class _ClauseIndex:
    """Every occurrence of the item's terms in one clause, found in one pass by first word."""

    def __init__(self, clause: Clause, compiled: CompiledItem):
        lemmas = clause.lemmas
        n = len(lemmas)
        found: list[Span] = []
        for i, w in enumerate(lemmas):
            for term in compiled.by_first.get(w, ()):
                pos = i
                for slot in term[1:]:
                    stop = min(n, pos + 2 + TERM_GAP)
                    nxt = -1
                    for j in range(pos + 1, stop):
                        w2 = lemmas[j]
                        if w2 == ",":
                            break
                        if w2 in slot:
                            nxt = j
                            break
                    if nxt < 0:
                        break
                    pos = nxt
                else:
                    found.append(Span(i, pos + 1, term))
        self.spans = found
        self.relations = [s for s in found if s.term in compiled.relations]
        self.subjects = [s for s in found if s.term in compiled.subjects]
        self.objects = [s for s in found if s.term in compiled.objects]
        self.topics = [s for s in found if s.term in compiled.topics]


def _after_colon(raw: Sequence[str], lo: int, hi: int) -> Sequence[str]:
    """The words before a relation that decide whether it is an imperative: those after the
    last colon or comma ("Fix: increase m", "Every 500 steps, write ...")."""
    for j in range(hi - 1, lo - 1, -1):
        if raw[j] in (":", ","):
            return raw[j + 1 : hi]
    return raw[lo:hi]


def _after_aux(lemmas: Sequence[str], start: int) -> bool:
    """An auxiliary (be, get) in the two words before ``start`` (of the lemmas)."""
    return any(w in PASSIVE_AUX for w in lemmas[max(0, start - 2) : start])


def _explicit_subject(raw, lem, free_subjects, free_nouns, positions, k) -> int | None:
    """Where predicate ``k``'s own subject starts (None: it has none of its own)."""
    start = positions[k][0]
    lo = positions[k - 1][1] if k else 0
    pool = free_nouns if _after_aux(lem, start) else free_subjects
    cands = [s for s in pool if s.start >= lo and s.end <= start]
    if not cands:
        return None
    near = max(s.end for s in cands)
    if k and any(w in COORDINATORS for w in raw[near:start]):
        return None
    return min(s.start for s in cands if s.end == near)


def _verbs(rels: list[Span], raw: Sequence[str], lemmas: Sequence[str]) -> list[Span]:
    """The relation occurrences that act as verbs. Where two overlap the longest wins. Where
    two are adjacent only one is a verb: a participle before another is an adjective
    ("distributed training"), an auxiliary before a verb is no verb of its own ("must be
    averaged"), an -ing form heading its clause is a gerund subject
    ("interleaving reduces it"), and otherwise the second is a noun ("avoids conflicts")."""
    out: list[Span] = []
    last_end = -1
    dropped_end = -1
    for s in rels:
        if out and s.start < out[-1].end:
            if s.start == out[-1].start and s.end == out[-1].end:
                out.append(s)  # the same words read by another term (kept for matching)
            continue
        if s.start == dropped_end:
            dropped_end = s.end
            continue
        if out and s.start == last_end:
            first = out[-1]
            if (
                lemmas[first.start] in AUXILIARIES
                or (raw[first.start].endswith("ed") and not _after_aux(lemmas, first.start))
                or raw[first.start].endswith("ing")
                and all(w in _IMPERATIVE_LEAD for w in raw[: first.start])
            ):
                while out and out[-1].start == first.start:
                    out.pop()
                out.append(s)
                last_end = s.end
            else:
                dropped_end = s.end
            continue
        out.append(s)
        last_end = s.end
    return out


def _predicates(
    compiled: CompiledItem, reading: Reading
) -> tuple[list[Predicate], dict[int, bool]]:
    """Every predicate of the answer, and for each clause whether it opened negated."""
    out: list[Predicate] = []
    last_topic: Term | None = None
    prev: Predicate | None = None
    prev_sentence = -1
    for ci, clause in enumerate(reading.clauses):
        if clause.sentence in reading.lists:
            continue
        if clause.sentence != prev_sentence:
            prev, prev_sentence = None, clause.sentence
            opening: frozenset[Term] | None = None  # the sentence's first subject
        idx = _ClauseIndex(clause, compiled)
        raw = clause.raw
        nouns = {
            (t.start, t.end)
            for t in idx.subjects + idx.objects
            if (t.start >= 1 and raw[t.start - 1] in DETERMINERS)
            or (t.end < len(raw) and raw[t.end] in MODALS)
        }
        rels = [
            r
            for r in idx.relations
            if not _nominal(clause.raw, r.start) and (r.start, r.end) not in nouns
        ]
        # longest relation wins where two overlap
        rels.sort(key=lambda s: (s.start, -(s.end - s.start)))
        chosen = _verbs(rels, clause.raw, clause.lemmas)
        if not chosen:
            topics = idx.topics
            if clause.negated and prev is not None:
                # "stores it once instead of eight times": the verb is understood
                objs = tuple(idx.objects)
                gap = Predicate(
                    prev.relation,
                    prev.subject,
                    prev.generic,
                    objs,
                    None,
                    False,
                    prev.topic,
                    False,
                    ci,
                )
                out.append(gap)
            if topics:
                last_topic = max(topics, key=lambda s: s.end).term
            continue
        subjects, objects, topics = idx.subjects, idx.objects, idx.topics
        positions = sorted({(s.start, s.end) for s in chosen})
        raw = clause.raw
        gerunds = {
            start
            for k, (start, _end) in enumerate(positions[:-1])
            if raw[start].endswith("ing")
            and (start == 0 or raw[start - 1] in CLAUSE_MARKERS or raw[start - 1] in _LEADS)
            and "," not in raw[start : positions[k + 1][0]]
            and any(s.start == start and s.end <= positions[k + 1][0] for s in subjects)
        }
        if gerunds:
            # "Interleaving stages reduces it", "so checkpointing every step would slow ...":
            # a gerund subject, not a verb of its own
            chosen = [c for c in chosen if c.start not in gerunds]
            positions = [p for p in positions if p[0] not in gerunds]
        lem = clause.lemmas
        free_subjects = [t for t in subjects if not _in_pp(raw, t.start)]
        if opening is None and free_subjects:
            first = min(t.start for t in free_subjects)
            opening = frozenset(t.term for t in free_subjects if t.start == first)
        free_nouns = free_subjects + [t for t in objects if not _in_pp(raw, t.start)]
        heads = [
            _explicit_subject(raw, lem, free_subjects, free_nouns, positions, k)
            for k in range(len(positions))
        ]
        for k, (start, end) in enumerate(positions):
            span_lo = positions[k - 1][1] if k else 0
            span_hi = positions[k + 1][0] if k + 1 < len(positions) else len(raw)
            nxt = heads[k + 1] if k + 1 < len(positions) else None
            if nxt is not None and any(w in CLAUSE_MARKERS for w in raw[end:nxt]):
                span_hi = nxt  # "..., and after a failure it saves": objects stop there
            rel_terms = [s for s in chosen if s.start == start and s.end == end]
            passive = _after_aux(lem, start) and _participle(raw[start])
            pool = free_nouns if passive else free_subjects
            cands = [s for s in pool if s.start >= span_lo and s.end <= start]
            subject: frozenset[Term] | None = None
            generic = False
            aux_neg = False
            by_gerund = (
                start >= 1 and raw[start - 1] == "by" and raw[start].endswith("ing") and opening
            )
            if by_gerund:
                cands = []  # "ZeRO removes ... by partitioning ...": the sentence's subject
            if cands and prev is not None:
                near = max(s.end for s in cands)
                if any(w in COORDINATORS for w in raw[near:start]):
                    cands = []  # "copies the model ... and splits": the verbs share a subject
            if cands:
                near = max(s.end for s in cands)
                subject = _terms_at(cands, near)
                s_start = min(s.start for s in cands if s.end == near)
                if subject <= _RELATIVE_TERMS:
                    # "old weights which cause ...": the relative pronoun's antecedent
                    back = s_start - (1 if s_start >= 1 and raw[s_start - 1] == "," else 0)
                    ante = [a for a in subjects + objects if a.end == back]
                    if ante:
                        subject = subject | _terms_at(ante, back)
                aux_neg = (
                    _count_negators(raw, near, start) + _negated_before(raw, s_start)
                ) % 2 == 1
            elif by_gerund:
                subject, generic = opening, False
                aux_neg = False
            elif prev is not None:
                subject, generic = prev.subject, prev.generic
                passive = passive or (prev.passive and _participle(raw[start]))
                aux_neg = _count_negators(raw, max(span_lo, start - 3), start) % 2 == 1
                if raw[span_lo:start] == ("to",) and prev.clause == ci:
                    aux_neg = aux_neg != prev.aux_negated  # "no GPU has to store all of it"
            elif all(w in _IMPERATIVE_LEAD for w in _after_colon(raw, span_lo, start)) and (
                "," not in raw[span_lo:start] or raw[0] in _INTRODUCTIONS
            ):
                generic = True
                aux_neg = _count_negators(raw, span_lo, start) % 2 == 1
            else:
                aux_neg = _count_negators(raw, max(span_lo, start - 3), start) % 2 == 1
            objs = tuple(s for s in objects if s.start >= end and s.end <= span_hi)
            agent = None
            if end < len(raw) and raw[end] == "by":
                ag = [s for s in subjects if s.start == end + 1 or s.start == end + 2]
                if ag:
                    agent = _terms_at(ag, max(s.end for s in ag))
            before_topics = [t for t in topics if t.end <= start]
            if by_gerund and opening & compiled.topics:
                topic = min(opening & compiled.topics, key=repr)
            elif before_topics:
                topic = max(before_topics, key=lambda s: s.end).term
            else:
                after = [t for t in topics if t.start >= start]
                topic = min(after, key=lambda s: s.start).term if after else last_topic
            lo = span_lo
            if prev is not None:
                commas = [j for j in range(span_lo, start) if raw[j] == ","]
                if commas:
                    lo = commas[-1] + 1  # ", and after a failure it saves": a new clause
            for rel in rel_terms:
                pred = Predicate(
                    rel,
                    subject,
                    generic,
                    objs,
                    agent,
                    passive,
                    topic,
                    aux_neg,
                    ci,
                    clause.sentence == 0,
                    lo,
                )
                out.append(pred)
            reduced = (
                raw[start].endswith(("ing", "ed", "en"))
                and not passive
                and any(t.end == start for t in subjects + objects)
            )
            if not reduced or prev is None:
                # "several virtual stages (interleaving) and feed it ...": a participle after
                # a noun modifies it; the verbs around it share their own subject
                prev = Predicate(
                    rel_terms[0], subject, generic, objs, agent, passive, topic, aux_neg, ci
                )
        if topics:
            last_topic = max(topics, key=lambda s: s.end).term
    return out, {i: c.negated for i, c in enumerate(reading.clauses)}


_RELATIVE_TERMS = frozenset((frozenset((p,)),) for p in RELATIVES)
_PRONOUN_TERMS = frozenset((frozenset((p,)),) for p in PRONOUNS)
_YOU_TERMS = frozenset(((frozenset((YOU,)),),))


def _subject_ok(frame: CompiledFrame, stmt: Statement, pred: Predicate, subj) -> bool:
    if frame.any_subject:
        return True
    if subj is None:
        # an imperative; in the answer's first sentence also the question's own subject,
        # elided ("Stores everything once across the GPUs" answering "how does ZeRO ...")
        return pred.generic and (
            any(t in _YOU_TERMS for t in frame.subjects)
            or (frame.topic_subject and bool(stmt.topic) and pred.first_sentence)
        )
    if subj & frame.subjects:
        return True
    return frame.topic_subject and bool(subj & (stmt.topic | _PRONOUN_TERMS))


def _object_ok(frame: CompiledFrame, raw: Sequence[str], pred: Predicate) -> tuple[bool, bool]:
    """(found, negated): an object of the frame after the relation; negated if every such
    object has a negator right before it."""
    if not frame.objects:
        return True, False
    hits = [o for o in pred.objects if o.term in frame.objects]
    if not hits:
        return False, False
    lo = pred.relation.end
    negs = [_count_negators(raw, max(lo, o.start - 3), o.start) % 2 == 1 for o in hits]
    return True, all(negs)


def _matches(
    stmt: Statement,
    frames: Sequence[CompiledFrame],
    pred: Predicate,
    reading: Reading,
    negated_clause: bool,
) -> bool:
    """True when ``pred`` states one of ``frames`` (those of ``stmt`` with its relation)."""
    clause = reading.clauses[pred.clause]
    if stmt.topic:
        if pred.topic is None:
            if not stmt.lenient_topic:
                return False
        elif pred.topic not in stmt.topic:
            return False
    words: frozenset[str] | None = None
    for frame in frames:
        if frame.also:
            if words is None:
                words = frozenset(clause.lemmas[pred.window :])
            if any(not (group & words) for group in frame.also):
                continue
        if pred.passive:
            # surface subject is the logical object; the agent, if any, the logical subject
            subj_terms = pred.subject or frozenset()
            logical = (not frame.objects or bool(subj_terms & frame.objects)) and (
                _subject_ok(frame, stmt, pred, pred.agent)
                if pred.agent is not None
                else frame.agentless
            )
            # or the frame is itself written in the passive ("gradients computed from ...")
            surface = bool(subj_terms & frame.subjects) and _object_ok(frame, clause.raw, pred)[0]
            if not (logical or surface):
                continue
            negated = pred.aux_negated
        else:
            if not _subject_ok(frame, stmt, pred, pred.subject):
                continue
            found, obj_neg = _object_ok(frame, clause.raw, pred)
            if not found:
                continue
            negated = pred.aux_negated != obj_neg
        if negated_clause:
            negated = not negated
        if negated == frame.negated:
            return True
    return False


@dataclass(frozen=True)
class ConceptResult:
    """What a free-text answer stated.

    Attributes:
        found: ids of the concepts stated (after misconceptions cancelled some), in item order.
        missed: ids of the concepts not stated, in item order.
        misconceptions: ids of the misconceptions stated.
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
    """Which of ``item.concepts`` (a :class:`~simlib.quiz.schema.ConceptItem`) ``answer``
    states, and which of its misconceptions; see the module docstring for how."""
    compiled = _compiled(item)
    reading = read_answer(answer if isinstance(answer, str) else "")
    preds, negated = _predicates(compiled, reading)

    said: set[int] = set()
    for p in preds:
        for index, stmt, frames in compiled.by_relation.get(p.relation.term, ()):
            if index not in said and _matches(stmt, frames, p, reading, negated[p.clause]):
                said.add(index)
    statements = compiled.statements
    hit = {statements[i].id for i in said if i < len(compiled.concepts)}
    wrong = [
        (s.id, cancels)
        for k, (s, cancels) in enumerate(compiled.misconceptions)
        if len(compiled.concepts) + k in said
    ]
    for _, cancels in wrong:
        hit.difference_update(cancels)
    ids = [c.id for c in item.concepts]
    return ConceptResult(
        found=tuple(i for i in ids if i in hit),
        missed=tuple(i for i in ids if i not in hit),
        misconceptions=tuple(w for w, _ in wrong),
        total=len(ids),
    )
