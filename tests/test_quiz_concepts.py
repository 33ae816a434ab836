"""The concept grader reads statements, not keywords: hand labels, keyword lists, role swaps,
paraphrases, negation, fuzzing and time (simlib.quiz.concepts)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.quiz import bank_names, grade_answer, grade_concepts, load_bank
from simlib.quiz.concepts import MAX_ANSWER_CHARS, read_answer
from simlib.quiz.schema import ConceptItem

LABELS = Path(__file__).parent / "data" / "concept_answers.yaml"
KINDS = {"right", "paraphrase", "partial", "wrong", "swap", "question", "keywords", "long"}
# A standard English stop list (articles, pronouns, prepositions, auxiliaries, conjunctions):
# what is left of a model answer without it is its keywords.
STOP = frozenset(
    "a an the of to in on at for by with from into onto over across between among is are was "
    "were be been being has have had do does did and or but so then that which who what when "
    "where while if because as it its they them their this these those there each every all "
    "some any no not can could will would should must may might only also than too very just "
    "both either we you i he she his her our your one own such same other how why via per "
    "through until after before since once about up out off down itself themselves".split()
)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def concept_items() -> list[ConceptItem]:
    return [i for n in bank_names() for i in load_bank(n).items if isinstance(i, ConceptItem)]


ITEMS = {i.id: i for i in concept_items()}
ROWS = yaml.safe_load(LABELS.read_text())["answers"]


def _agreement(rows) -> tuple[float, float, int, int]:
    """(share of concept decisions agreeing, share of answers wholly right, answers, decisions)."""
    decisions = agree = exact = 0
    for row in rows:
        item = ITEMS[row["item"]]
        found = set(grade_concepts(item, row["answer"]).found)
        wanted = set(row["concepts"])
        for concept in item.concepts:
            decisions += 1
            agree += (concept.id in found) == (concept.id in wanted)
        exact += found == wanted
    return agree / decisions, exact / len(rows), len(rows), decisions


def test_labelled_set_covers_every_explain_item_and_kind():
    assert len(ROWS) >= 150
    assert {r["kind"] for r in ROWS} >= KINDS | {"off-topic"}
    for row in ROWS:
        item = ITEMS[row["item"]]
        assert set(row["concepts"]) <= {c.id for c in item.concepts}, row
        assert row["split"] in ("dev", "holdout", "fresh"), row
    for item_id in ITEMS:
        mine = [r for r in ROWS if r["item"] == item_id]
        assert len(mine) >= 25, item_id
        assert {"dev", "holdout"} <= {r["split"] for r in mine}, item_id
        assert {"swap", "keywords", "question", "long"} <= {r["kind"] for r in mine}, item_id


def test_agreement_with_hand_labels(capsys):
    overall, exact, n, decisions = _agreement(ROWS)
    held, held_exact, n_held, _ = _agreement([r for r in ROWS if r["split"] == "holdout"])
    dev, dev_exact, n_dev, _ = _agreement([r for r in ROWS if r["split"] == "dev"])
    fresh, fresh_exact, n_fresh, _ = _agreement([r for r in ROWS if r["split"] == "fresh"])
    with capsys.disabled():
        print(
            f"\nconcept grader vs hand labels: {overall:.1%} of {decisions} concept decisions "
            f"over {n} answers ({exact:.0%} of answers exactly); held out {held:.1%} "
            f"({n_held} answers, {held_exact:.0%} exactly); fresh {fresh:.1%} ({n_fresh} "
            f"answers written after tuning, {fresh_exact:.0%} exactly); dev {dev:.1%} "
            f"({n_dev} answers)"
        )
    assert overall >= 0.90, overall
    # held-out answers were not looked at one by one while tuning: measured 0.935
    assert held >= 0.88, held
    # fresh answers were written after all tuning and graded once: measured 0.775
    assert fresh >= 0.70, fresh


def _content_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9][a-z0-9/+()'-]*", text.lower())
    seen: dict[str, None] = {}
    for w in words:
        if w not in STOP:
            seen.setdefault(w, None)
    return list(seen)


def keyword_lists(item: ConceptItem) -> dict[str, str]:
    """An item's own model answer and rubric reduced to keywords, in several orders."""
    words = _content_words(item.model_answer)
    rubric = _content_words(" ".join(c.name for c in item.concepts))
    return {
        "model answer, in order": " ".join(words),
        "model answer, commas": ", ".join(words),
        "model answer, sorted": " ".join(sorted(words)),
        "model answer, lines": "\n".join(
            " ".join(words[k : k + 4]) for k in range(0, len(words), 4)
        ),
        "concept names": " ".join(rubric),
    }


@pytest.mark.parametrize("item", concept_items(), ids=lambda i: i.id)
def test_keyword_lists_score_at_most_a_quarter(item, capsys):
    for how, text in keyword_lists(item).items():
        result = grade_concepts(item, text)
        with capsys.disabled():
            print(f"\n{item.id} keywords ({how}): {result.summary}")
        assert result.fraction <= 0.25, (how, text, result)
    assert grade_concepts(item, item.model_answer).fraction == 1.0


def _swap(text: str, a: str, b: str) -> str:
    pattern = re.compile(rf"\b({re.escape(a)}|{re.escape(b)})\b", re.IGNORECASE)
    return pattern.sub(lambda m: b if m.group(0).lower() == a.lower() else a, text)


def test_role_swaps_score_at_most_a_quarter(capsys):
    swapped = [(ITEMS[r["item"]], r["answer"]) for r in ROWS if r["kind"] == "swap"]
    dp_mp = ITEMS["basics-dp-vs-mp"]
    swapped.append((dp_mp, _swap(dp_mp.model_answer, "data parallelism", "model parallelism")))
    zero = ITEMS["zero-explain"]
    swapped.append((zero, _swap(zero.model_answer, "plain data parallelism", "ZeRO")))
    worst = 0.0
    for item, text in swapped:
        result = grade_concepts(item, text)
        worst = max(worst, result.fraction)
        assert result.fraction <= 0.25, (item.id, text, result)
    with capsys.disabled():
        print(f"\nrole swaps: {len(swapped)} answers, best score {worst:.2f}")
    programmatic = grade_concepts(dp_mp, swapped[-2][1])
    assert programmatic.found == () and programmatic.misconceptions


def test_paraphrases_score_at_least_three_quarters(capsys):
    rows = [(ITEMS[r["item"]], r["answer"]) for r in ROWS if r["kind"] == "paraphrase"]
    rows += [(item, item.model_answer) for item in ITEMS.values()]
    scores = [grade_concepts(item, text).fraction for item, text in rows]
    with capsys.disabled():
        print(f"\nparaphrases: {len(rows)} answers, lowest score {min(scores):.2f}")
    assert all(s >= 0.75 for s in scores), list(zip([i.id for i, _ in rows], scores, strict=True))
    right = [
        grade_concepts(ITEMS[r["item"]], r["answer"]).fraction
        for r in ROWS
        if r["kind"] == "right" and r["split"] == "holdout"
    ]
    with capsys.disabled():
        share = sum(s >= 0.75 for s in right) / len(right)
        print(f"held-out right answers in other words: {share:.0%} score at least 3/4")


def test_the_issue_examples():
    zero = ITEMS["zero-explain"]
    assert grade_concepts(zero, "copy shard parameters only part gather").fraction <= 0.25
    right = grade_concepts(
        zero,
        "stores everything once across the GPUs instead of eight times; GPUs fetch the weights "
        "they need just in time",
    )
    assert right.fraction >= 0.75 and "gathers" in right.found
    dp_mp = ITEMS["basics-dp-vs-mp"]
    wrong = grade_concepts(
        dp_mp,
        "Data parallelism splits the model across devices and model parallelism splits the data.",
    )
    assert wrong.found == () and set(wrong.misconceptions) == {"dp-splits-model", "mp-splits-data"}


def test_relation_order_negation_and_passive():
    item = ITEMS["basics-dp-vs-mp"]

    def found(text: str) -> tuple[str, ...]:
        return grade_concepts(item, text).found

    assert found("Data parallelism splits the data.") == ("dp-splits-data",)
    assert found("In data parallelism the batch is divided between the GPUs.") == (
        "dp-splits-data",
    )
    assert found("Data parallelism does not split the data.") == ()
    assert found("Data parallelism never divides the batch.") == ()
    assert found("The data, data parallelism, split.") == ()  # no relation binds them
    assert found("data parallelism data split") == ()  # object before relation, no passive
    assert found("Data parallelism splits the data, not the model.") == ("dp-splits-data",)
    # the right statement said of the wrong thing is a misconception, not a concept
    swapped = grade_concepts(item, "In model parallelism each GPU has a full copy of the model.")
    assert swapped.found == () and swapped.misconceptions == ("mp-copies-model",)
    # negating the swap is true and earns nothing either way
    assert grade_concepts(item, "Model parallelism does not split the data.").misconceptions == ()
    zero = ITEMS["zero-explain"]
    assert "fraction" in grade_concepts(zero, "With ZeRO no GPU keeps a full copy.").found
    assert grade_concepts(zero, "With ZeRO every GPU keeps a full copy.").misconceptions == (
        "zero-replicates",
    )


def test_keyword_lists_are_not_read_as_sentences():
    reading = read_answer("zero shard partition states gradients parameters gather memory GPUs")
    assert reading.lists == frozenset({0})
    assert read_answer("ZeRO shards the optimizer state across the GPUs.").lists == frozenset()


def test_feedback_names_each_missed_concept_and_misconception():
    item = ITEMS["basics-dp-vs-mp"]
    result = grade_answer(item, "Data parallelism gives each GPU a different shard of the batch.")
    assert result.feedback.startswith("1/4 concepts.") and result.score == pytest.approx(0.25)
    names = {c.id: c.name for c in item.concepts}
    for missed in ("dp-same-model", "mp-splits-model", "mp-same-data"):
        assert names[missed] in result.feedback
    assert names["dp-splits-data"] not in result.feedback
    wrong = grade_answer(
        item, "Model parallelism splits the data; data parallelism splits the model."
    )
    assert wrong.score == 0 and "Careful:" in wrong.feedback
    assert set(wrong.details["misconceptions"]) == {"mp-splits-data", "dp-splits-model"}


def test_grading_is_deterministic_across_hash_seeds():
    code = (
        "import json, yaml; from simlib.quiz import bank_names, load_bank, grade_concepts\n"
        "items = {i.id: i for n in bank_names() for i in load_bank(n).items}\n"
        f"rows = yaml.safe_load(open({str(LABELS)!r}))['answers']\n"
        "print(json.dumps([list(grade_concepts(items[r['item']], r['answer']).found) "
        "for r in rows]))"
    )
    outs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        outs.append(json.loads(out.stdout))
    assert outs[0] == outs[1]
    here = [list(grade_concepts(ITEMS[r["item"]], r["answer"]).found) for r in ROWS]
    assert here == outs[0]


VOCAB = sorted(
    {
        w
        for item in concept_items()
        for w in re.findall(r"[A-Za-z0-9/'-]+", item.model_answer + " " + item.prompt)
    }
    | {"not", "no", "never", "instead", "of", "rather", "than", "but", "which", "by", "is", ":"}
)
PUNCT = [".", ",", ";", ":", "!", "?", "\n", " - ", "=", "->", "(", ")", "'", '"', "/", " "]


def _check(item: ConceptItem, text: str) -> None:
    result = grade_concepts(item, text)
    ids = [c.id for c in item.concepts]
    assert sorted(result.found + result.missed, key=ids.index) == ids
    assert set(result.misconceptions) <= {m.id for m in item.misconceptions}
    assert 0.0 <= result.fraction <= 1.0
    assert grade_concepts(item, text) == result


@FAST
@given(st.sampled_from(concept_items()), st.text(max_size=600))
def test_any_text_grades_without_error(item, text):
    _check(item, text)
    grade_answer(item, text)


@FAST
@given(
    st.sampled_from(concept_items()),
    st.lists(st.one_of(st.sampled_from(VOCAB), st.sampled_from(PUNCT)), max_size=200),
)
def test_shuffled_rubric_words_grade_without_error(item, words):
    _check(item, " ".join(words))


def test_long_answers_take_bounded_time():
    rng_words = VOCAB * 3
    for item in concept_items():
        texts = [
            (item.model_answer + " ") * 12,
            " ".join(rng_words[k * 7 % len(rng_words)] for k in range(900)),
            ("each gpu holds the model and the data is split and " * 200),
            "x" * 4000,
            ("not " * 1000),
        ]
        for text in texts:
            text = text[:4000]
            start = time.process_time()
            _check(item, text)
            assert time.process_time() - start < 1.0, (item.id, text[:60])
        start = time.process_time()
        grade_concepts(item, ("the model is split and " * 2000)[: MAX_ANSWER_CHARS + 5000])
        assert time.process_time() - start < 3.0


@pytest.mark.parametrize(
    ("concepts", "expected"),
    [
        ("[{id: c, name: n, frames: []}]", "frames"),
        (
            "[{id: c, name: n, frames: [{subject: [x], relation: [y]}]}], "
            "misconceptions: [{id: m, swap_of: nope, topic: [t]}]",
            "swaps unknown concept 'nope'",
        ),
        (
            "[{id: c, name: n, frames: [{subject: [x], relation: [y]}]}], "
            "misconceptions: [{id: m, swap_of: c}]",
            "give the topic it is wrongly said of",
        ),
        (
            "[{id: c, name: n, frames: [{subject: [x], relation: [y]}]}], "
            "misconceptions: [{id: m}]",
            "needs frames or swap_of",
        ),
    ],
)
def test_rubric_errors_name_item_and_fix(concepts, expected):
    from simlib.quiz import BankError, parse_bank

    text = (
        "topic: t\ntitle: T\nitems:\n"
        f"  - {{id: q, type: concepts, prompt: P, concepts: {concepts}}}\n"
    )
    with pytest.raises(BankError) as info:
        parse_bank(text, "quizzes/broken.yaml")
    message = str(info.value)
    assert message.startswith("quizzes/broken.yaml: ") and "item 'q'" in message
    assert expected in message and "\n" not in message
