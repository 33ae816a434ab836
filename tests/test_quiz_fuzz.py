"""Loaders under fuzzing: bad banks and submissions raise typed errors, never anything else."""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.quiz import (
    Bank,
    BankError,
    Submission,
    SubmissionError,
    grade_answer,
    grade_submission,
    load_bank,
    parse_bank,
    parse_deck,
    parse_submission,
)
from simlib.quiz.bank import quiz_dir

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)
REAL_BANK = yaml.safe_load((quiz_dir() / "data_parallelism.yaml").read_text())
KEYS = [
    "id",
    "type",
    "prompt",
    "options",
    "answer",
    "function",
    "field",
    "params",
    "args",
    "tolerance",
    "mistakes",
    "concepts",
    "phrasings",
    "patterns",
    "values",
    "min",
    "max",
    "step",
    "param",
    "scale",
    "answer_scale",
    "override",
    "topic",
    "items",
    "kind",
]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutate(data, path, value, delete):
    import copy

    data = copy.deepcopy(data)
    if not path:
        return value
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return data


PATHS = list(_paths(REAL_BANK))


def _check_bank(text: str) -> None:
    try:
        bank = parse_bank(text, "fuzz.yaml")
    except BankError as exc:
        assert str(exc).startswith("fuzz.yaml")
    else:
        assert isinstance(bank, Bank)


@FAST
@given(st.text(max_size=400))
def test_any_text_is_a_bank_or_a_bank_error(text):
    _check_bank(text)
    try:
        parse_deck(text, "fuzz.yaml")
    except BankError:
        pass


@FAST
@given(st.sampled_from(PATHS), st.one_of(json_like, st.sampled_from(KEYS)), st.booleans())
def test_mutated_real_bank_is_a_bank_or_a_bank_error(path, value, delete):
    mutated = _mutate(REAL_BANK, path, value, delete)
    try:
        text = yaml.safe_dump(mutated, allow_unicode=True)
    except yaml.YAMLError:
        return
    _check_bank(text)


@FAST
@given(st.dictionaries(st.sampled_from(KEYS), json_like, max_size=8))
def test_random_items_are_a_bank_or_a_bank_error(item):
    _check_bank(yaml.safe_dump({"kind": "bank", "topic": "t", "title": "T", "items": [item]}))


@FAST
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_bytes_are_a_submission_or_a_submission_error(raw):
    try:
        sub = parse_submission(raw, "fuzz.json")
    except SubmissionError as exc:
        assert str(exc).startswith("fuzz.json")
    else:
        assert isinstance(sub, Submission)


BANK = load_bank("data_parallelism")
IDS = [i.id for i in BANK.items] + ["unknown-item"]


@FAST
@given(
    st.one_of(st.text(max_size=20), st.integers()),
    st.dictionaries(st.sampled_from(IDS), json_like, max_size=8),
    st.one_of(st.integers(-3, 20000), st.text(max_size=3)),
)
def test_structured_submissions_grade_or_are_rejected(student, answers, attempt):
    raw = json.dumps({"student": student, "answers": answers, "attempt": attempt}, allow_nan=True)
    try:
        sub = parse_submission(raw, "fuzz.json")
    except SubmissionError:
        return
    graded = grade_submission(BANK, sub.student, sub.answers, attempt=sub.attempt)
    assert 0 <= graded.score <= graded.max_score
    assert all(r.feedback for r in graded.items)


@FAST
@given(json_like)
def test_any_answer_to_any_item_grades_without_crashing(answer):
    for item in BANK.items:
        result = grade_answer(item, answer, student="fuzz")
        assert 0.0 <= result.score <= result.points and result.feedback
