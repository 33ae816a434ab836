"""Grading: computed numeric keys and mistakes, tolerances and choices.

Concept grading is tested in test_quiz_concepts.py.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest

import simlib.sim as sim
from simlib.quiz import FUNCTIONS, bank_names, grade_answer, load_bank, make_variant
from simlib.quiz.functions import resolve
from simlib.quiz.grading import within
from simlib.quiz.schema import ArgRef, NumericItem, Tolerance
from simlib.quiz.variants import mistake_value, seed_for

STUDENTS = [f"student-{i}" for i in range(12)]


def numeric_items() -> list[NumericItem]:
    return [i for n in bank_names() for i in load_bank(n).items if isinstance(i, NumericItem)]


def items_by_id() -> dict:
    return {i.id: i for n in bank_names() for i in load_bank(n).items}


def test_registry_matches_simlib_sim():
    for name, spec in FUNCTIONS.items():
        fn = resolve(name)
        assert fn is getattr(sim, name)
        params = fn.__code__.co_varnames[: fn.__code__.co_argcount]
        assert set(spec.arguments) == set(params), name
    samples = {
        "allreduce_cost": sim.allreduce_cost("ring", 4, 1e6, 1e9),
        "reduce_scatter_cost": sim.reduce_scatter_cost(4, 1e6, 1e9),
        "all_gather_cost": sim.all_gather_cost(4, 1e6, 1e9),
        "ps_cost": sim.ps_cost(4, 2, 1e6, 1e9),
        "pipeline_cost": sim.pipeline_cost(4, 8),
        "zero_memory": sim.zero_memory(1000, 4, 2),
    }
    for name, result in samples.items():
        fields = {f.name for f in dataclasses.fields(result)}
        assert set(FUNCTIONS[name].fields) <= fields, name


@pytest.mark.parametrize("item", numeric_items(), ids=lambda i: i.id)
def test_numeric_key_is_the_simlib_value_for_each_variant(item):
    fn = getattr(sim, item.function)
    for student in STUDENTS:
        variant = make_variant(item, student)
        kwargs = {
            k: (variant.params[a.param] * a.scale if isinstance(a, ArgRef) else a)
            for k, a in item.args.items()
        }
        result = fn(**kwargs)
        expected = (getattr(result, item.field) if item.field else result) * item.answer_scale
        assert variant.key == pytest.approx(expected, rel=1e-12)
        assert "{" not in variant.prompt
        assert grade_answer(item, variant.key, student=student).correct
        assert grade_answer(item, f"{variant.key:.6g}", student=student).correct
        assert not grade_answer(item, variant.key * 1.5 + 1, student=student).correct


def test_variants_are_reproducible_and_differ_between_students():
    item = load_bank("data_parallelism").item("dp-ring-allreduce-ms")
    a = make_variant(item, "ada", course="c1", attempt=0)
    assert make_variant(item, "ada", course="c1", attempt=0) == a
    assert 0 <= seed_for("c1", "ada", item.id, 0) < 2**64
    others = {make_variant(item, s, course="c1").prompt for s in STUDENTS}
    assert len(others) >= 8, "variants should differ between students"
    attempts = {make_variant(item, "ada", course="c1", attempt=k).prompt for k in range(8)}
    assert len(attempts) >= 4
    courses = {make_variant(item, "ada", course=f"c{k}").prompt for k in range(8)}
    assert len(courses) >= 4


def test_seed_is_stable_across_processes():
    code = "from simlib.quiz.variants import seed_for; print(seed_for('simlib', 'ada', 'x', 2))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == seed_for("simlib", "ada", "x", 2)


def test_ring_allreduce_key_and_mistakes_by_hand():
    item = load_bank("data_parallelism").item("dp-ring-allreduce-ms")
    variant = make_variant(item, "ada")
    p, size_mb, bw = variant.params["ranks"], variant.params["size_mb"], variant.params["bw_gbs"]
    key_ms = 2 * (p - 1) / p * size_mb * 1e6 / (bw * 1e9) * 1000
    assert variant.key == pytest.approx(key_ms, rel=1e-12)
    forgot_factor = 2 * size_mb * 1e6 / (bw * 1e9) * 1000
    assert mistake_value(item, variant, item.mistakes[0]) == pytest.approx(forgot_factor)
    result = grade_answer(item, forgot_factor, student="ada")
    assert not result.correct and "(p-1)/p" in result.feedback and result.details["mistakes"] == [0]
    half = grade_answer(item, key_ms / 2, student="ada")
    assert "reduce-scatter half" in half.feedback
    seconds = grade_answer(item, key_ms / 1000, student="ada")
    assert "in seconds" in seconds.feedback
    other = grade_answer(item, key_ms * 3.7, student="ada")
    assert not other.correct and "mistakes" not in other.details


def test_every_mistake_is_detectable_in_some_variant():
    for item in numeric_items():
        detected = set()
        for student in STUDENTS * 3:
            variant = make_variant(item, student + "x")
            for index, mistake in enumerate(item.mistakes):
                wrong = mistake_value(item, variant, mistake)
                if math.isfinite(wrong) and not within(wrong, variant.key, item.tolerance):
                    result = grade_answer(item, wrong, student=student + "x")
                    assert index in result.details.get("mistakes", []), (item.id, index)
                    detected.add(index)
        assert detected == set(range(len(item.mistakes))), item.id


@pytest.mark.parametrize(
    ("tolerance", "key", "answer", "ok"),
    [
        (Tolerance(relative=0.01), 100.0, 100.9, True),
        (Tolerance(relative=0.01), 100.0, 101.1, False),
        (Tolerance(absolute=0.5), 20.0, 20.5, True),
        (Tolerance(absolute=0.5), 20.0, 19.4, False),
        (Tolerance(sigfigs=3), 0.0123456, 0.0123, True),
        (Tolerance(sigfigs=3), 0.0123456, 0.0124, False),
        (Tolerance(sigfigs=2), 123456.0, 120000.0, True),
        (Tolerance(sigfigs=2), 0.0, 0.0, True),
    ],
)
def test_tolerances(tolerance, key, answer, ok):
    assert within(answer, key, tolerance) is ok


def test_numeric_answers_that_are_not_numbers():
    item = load_bank("why_distributed").item("why-amdahl-speedup")
    for bad in ("five", "nan", "inf", True, [1], "1,5"):
        result = grade_answer(item, bad)
        assert result.score == 0 and (
            "No number read" in result.feedback or "No answer" in result.feedback
        )


def test_choice_answer_forms():
    multiple = load_bank("basics").item("basics-real-or-simulated")
    assert multiple.answer == ("A", "B")
    assert grade_answer(multiple, ["A", "B"]).correct
    assert grade_answer(multiple, "b, a").correct
    assert grade_answer(multiple, "AB").score == 1.0
    half = grade_answer(multiple, "A")
    assert (
        half.score == 0.5
        and half.feedback.startswith("Partly right")
        and "missed B" in half.feedback
    )
    assert grade_answer(multiple, "ABC").score == 0.5  # two right, one wrong, of two
    assert grade_answer(multiple, "CD").score == 0.0
    assert "No answer read" in grade_answer(multiple, "Z").feedback
    single = load_bank("basics").item("basics-goal")
    assert "No answer read" in grade_answer(single, "AB").feedback
    assert grade_answer(single, None).feedback == "No answer given."


def test_grading_does_not_import_jax():
    code = (
        "import sys; from simlib.quiz import load_bank, grade_submission, make_variant\n"
        "for t in ('data_parallelism', 'zero', 'parameter_servers'):\n"
        "    b = load_bank(t); grade_submission(b, 'ada', {i.id: '1' for i in b.items})\n"
        "print('jax' in sys.modules, 'simpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "False"
