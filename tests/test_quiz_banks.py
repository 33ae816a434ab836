"""Banks and decks: shipped files validate, the seed is covered, errors name file/item/field."""

from __future__ import annotations

import pytest

from simlib.quiz import (
    BankError,
    bank_names,
    deck_names,
    grade_answer,
    load_bank,
    load_deck,
    parse_bank,
)
from simlib.quiz.schema import ConceptItem, NumericItem

SEED_CHOICES = {
    # item id: (correct letter, words the correct option must contain, as in the cheat sheet)
    "basics-goal": ("B", ("faster", "several devices")),
    "basics-dp-strategy": ("A", ("data parallelism",)),
    "basics-challenge": ("A", ("in sync",)),
    "basics-ps-role": ("C", ("parameters", "updating")),
    "basics-large-data": ("D", ("sooner", "more data")),
}
SEED_EXPLAIN = {
    "basics-dp-vs-mp": ("basics", "Think about what is divided"),
    "sync-explain": ("synchronisation", "Consider what happens if the devices update the model"),
}
SEED_CARDS = {
    "what-is-distributed-training",
    "two-strategies",
    "why-synchronise",
    "parameter-server-role",
    "large-datasets",
}


def all_items():
    return [item for name in bank_names() for item in load_bank(name).items]


def test_every_bank_and_deck_loads_with_enough_items():
    names = bank_names()
    assert {
        "basics",
        "why_distributed",
        "data_parallelism",
        "model_parallelism",
        "zero",
        "synchronisation",
        "parameter_servers",
        "large_datasets",
        "fault_tolerance",
    } <= set(names)
    items = all_items()
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)), "item ids must be unique across banks"
    seed = [i for i in items if "seed" in i.tags]
    assert len(seed) == 7
    assert len(items) - len(seed) >= 40
    assert sum(isinstance(i, NumericItem) for i in items) >= 15
    assert {"basics", "parallelism"} <= set(deck_names())


def test_each_notebook_has_a_bank_with_a_few_items():
    by_notebook = {}
    for name in bank_names():
        bank = load_bank(name)
        by_notebook.setdefault(bank.notebook, []).extend(bank.items)
    for notebook in ("00", "01", "02", "03", "04", "05", "08"):
        assert len(by_notebook.get(notebook, [])) >= 3, notebook


@pytest.mark.parametrize("item_id", sorted(SEED_CHOICES))
def test_seed_choice_question_grades_right_and_wrong(item_id):
    item = load_bank("basics").item(item_id)
    letter, words = SEED_CHOICES[item_id]
    assert "seed" in item.tags and len(item.options) == 4
    text = item.options["ABCD".index(letter)].lower()
    assert all(w in text for w in words), text
    right = grade_answer(item, letter.lower())
    assert right.correct and right.score == 1.0 and right.feedback.startswith("Correct")
    for wrong in "ABCD".replace(letter, ""):
        result = grade_answer(item, wrong)
        assert not result.correct and result.score == 0.0
        assert f"the answer is {letter}" in result.feedback


@pytest.mark.parametrize("item_id", sorted(SEED_EXPLAIN))
def test_seed_explain_question_has_four_concepts_and_grades(item_id):
    bank, hint = SEED_EXPLAIN[item_id]
    item = load_bank(bank).item(item_id)
    assert isinstance(item, ConceptItem) and "seed" in item.tags
    assert len(item.concepts) == 4 and item.hint.startswith(hint)
    full = grade_answer(item, item.model_answer)
    assert full.correct and full.feedback.startswith("4/4 concepts")
    empty = grade_answer(item, "Bananas are yellow and grow in bunches.")
    assert (
        empty.score == 0
        and empty.feedback.startswith("0/4 concepts")
        and "Missed:" in empty.feedback
    )


def test_seed_cards_exist():
    deck = load_deck("basics")
    seed = {c.id for c in deck.cards if "seed" in c.tags}
    assert seed == SEED_CARDS
    backs = {c.id: c.back.lower() for c in deck.cards}
    assert (
        "data parallelism" in backs["two-strategies"]
        and "model parallelism" in backs["two-strategies"]
    )
    assert "consistent" in backs["why-synchronise"]


def _bank(items: str) -> str:
    return f"kind: bank\ntopic: t\ntitle: T\nitems:\n{items}"


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            "  - {id: q1, type: single, prompt: P, options: [a, b], answer: C}",
            ["item 'q1'", "field (whole entry)", "'C' is not an option letter", "use one of AB"],
        ),
        (
            "  - {id: q2, type: single, prompt: P, options: [a, b], answr: A}",
            ["item 'q2'", "field answer", "Field required", "field answr", "remove it"],
        ),
        (
            "  - {id: q3, type: numeric, prompt: 'x {n}', function: nope, "
            "params: {n: {values: [1]}}, args: {}}",
            ["item 'q3'", "function 'nope' is not registered", "amdahl_speedup"],
        ),
        (
            "  - {id: q4, type: numeric, prompt: 'x {m}', function: amdahl_speedup, "
            "params: {n: {values: [1]}}, "
            "args: {parallel_fraction: 0.5, workers: {param: n}}}",
            ["item 'q4'", "prompt uses ['m']"],
        ),
        (
            "  - {id: q5, type: essay, prompt: P}",
            ["item 'q5'", "type", "single, multiple, numeric or concepts"],
        ),
        (
            "  - {id: Bad Id, type: single, prompt: P, options: [a, b], answer: A}",
            ["field id", "lower-case letters"],
        ),
        (
            "  - {id: q7, type: concepts, prompt: P, "
            "concepts: [{id: c, name: n, frames: [{subject: [x], relation: ['...']}]}]}",
            ["item 'q7'", "relation term '...' has no word to match"],
        ),
    ],
)
def test_errors_name_file_item_field_and_fix(items, expected):
    with pytest.raises(BankError) as info:
        parse_bank(_bank(items), "quizzes/broken.yaml")
    message = str(info.value)
    assert message.startswith("quizzes/broken.yaml: ") and "\n" not in message
    for part in expected:
        assert part in message, (part, message)


def test_yaml_that_would_run_code_or_expand_is_refused():
    with pytest.raises(BankError, match="not valid YAML"):
        parse_bank("!!python/object/apply:os.system ['echo hi']", "evil.yaml")
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with pytest.raises(BankError, match="anchors and aliases"):
        parse_bank(bomb, "bomb.yaml")
    with pytest.raises(BankError, match="nested deeper"):
        parse_bank("a: " + "[" * 50 + "]" * 50, "deep.yaml")
    with pytest.raises(BankError, match="top level must be a mapping"):
        parse_bank("- 1\n- 2\n", "list.yaml")


def test_unknown_bank_and_deck_name_the_choices():
    with pytest.raises(BankError, match="bank 'nope' not found.*basics"):
        load_bank("nope")
    with pytest.raises(BankError, match="deck 'nope' not found.*parallelism"):
        load_deck("nope")
    with pytest.raises(KeyError, match="has no item 'zzz'"):
        load_bank("basics").item("zzz")


def test_a_deck_file_stays_a_deck_after_it_was_cached():
    load_deck("basics")
    with pytest.raises(BankError, match="is a flashcard deck"):
        load_bank("cards_basics")
