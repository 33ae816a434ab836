"""Widgets: keyboard-usable controls, feedback in words, running score, flashcards that save."""

from __future__ import annotations

from datetime import UTC, datetime

import ipywidgets as widgets
import pytest

from simlib.quiz import (
    FlashcardWidget,
    ReviewState,
    load_deck,
    make_variant,
    show_flashcards,
    show_quiz,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FOCUSABLE = (widgets.Button, widgets.RadioButtons, widgets.Checkbox, widgets.Text, widgets.Textarea)


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _controls(widget):
    out = [widget] if isinstance(widget, FOCUSABLE) else []
    for child in getattr(widget, "children", ()):
        out += _controls(child)
    return out


def test_quiz_checks_answers_and_keeps_score():
    ids = ["dp-global-batch", "dp-ring-allreduce-ms", "dp-jax-spellings", "basics-dp-vs-mp"]
    quiz = show_quiz("data_parallelism", items=ids[:3], student="ada")
    assert [w.item.id for w in quiz.items] == ids[:3]
    assert "Score so far: 0 of 3 points (0 of 3 checked)" in quiz.score.value
    single, numeric, multiple = quiz.items
    single.set_answer("C")
    single.check_button.click()
    assert "Correct." in single.feedback.value and single.result.correct
    key = make_variant(numeric.item, "ada").key
    numeric.set_answer(f"{key * 2 / 1.0:.6g}")
    numeric.check_button.click()
    assert "Not yet right." in numeric.feedback.value
    numeric.set_answer(f"{key:.5g}")
    numeric.check()
    assert "Correct." in numeric.feedback.value
    multiple.set_answer(["A", "B"])
    multiple.check()
    assert "Partly right." in multiple.feedback.value
    assert "Score so far: 2.67 of 3 points (3 of 3 checked)" in quiz.score.value


def test_every_control_is_a_labelled_keyboard_widget():
    quiz = show_quiz("basics")
    controls = _controls(quiz)
    buttons = [c for c in controls if isinstance(c, widgets.Button)]
    assert len(buttons) == len(quiz.items) and all(b.description == "Check" for b in buttons)
    concept = next(w for w in quiz.items if w.item.type == "concepts")
    assert isinstance(concept.answer_input, widgets.Textarea)
    concept.set_answer("In data parallelism each GPU has a full copy of the model.")
    concept.check()
    assert "concepts" in concept.feedback.value and 'role="status"' in concept.feedback.value
    assert "Missed:" in concept.feedback.value


def test_flashcards_flip_rate_and_survive_a_restart(state_dir):
    cards = show_flashcards("basics", now=T0, limit=3)
    first = cards.current
    assert first.front in cards.front.value and cards.back.value == ""
    assert all(b.disabled for b in cards.rating_buttons)
    cards.flip_button.click()
    assert first.back[:20] in cards.back.value
    assert [b.description for b in cards.rating_buttons] == ["Again", "Hard", "Good", "Easy"]
    cards.rating_buttons[2].click()
    assert cards.current is not first and "2 card(s) left" in cards.status.value
    assert (state_dir / "cards_basics.json").exists()
    again = FlashcardWidget(ReviewState(load_deck("basics")), now=T0, limit=3)
    assert first.id not in [c.id for c in again.queue]
    for _ in range(3):
        again.flip()
        again.rate("easy")
    assert "All done for now." in again.front.value and again.flip_button.disabled


END_OF_NOTEBOOK = {
    "00": ("basics", ["basics-virtual-devices", "basics-restart-kernel",
                      "basics-virtual-not-faster", "basics-one-vs-eight",
                      "basics-real-or-simulated"]),
    "01": ("why_distributed", ["why-wall-clock", "why-memory-wall", "why-amdahl-speedup",
                               "why-efficiency", "why-ring-bytes"]),
    "02": ("data_parallelism", ["dp-what-is-replicated", "dp-gradient-combine", "dp-global-batch",
                                "dp-ring-allreduce-ms", "dp-shard-map-pitfall"]),
    "03": ("model_parallelism", ["mp-megatron-mlp", "mp-pipeline-split", "mp-bubble-percent",
                                 "mp-gpipe-makespan-ms", "mp-activation-memory"]),
    "04": ("synchronisation", ["sync-bsp", "sync-ssp-wait", "sync-staleness-value",
                               "sync-straggler", "sync-explain"]),
    "05": ("parameter_servers", ["ps-key-ranges", "ps-push-ms", "ps-fair-share", "ps-vs-ring",
                                 "ps-push-pull-ms"]),
    "08": ("fault_tolerance", ["ft-cluster-mtbf", "ft-checkpoint-loss", "ft-checkpoint-contents",
                               "ft-collective-hang", "ft-explain-checkpoint"]),
}  # fmt: skip


@pytest.mark.parametrize("notebook", sorted(END_OF_NOTEBOOK))
def test_end_of_notebook_quizzes_build(notebook):
    topic, ids = END_OF_NOTEBOOK[notebook]
    quiz = show_quiz(topic, items=ids)
    assert [w.item.id for w in quiz.items] == ids
    assert all(w.check().feedback == "No answer given." for w in quiz.items)
    assert "0 of 5 points (5 of 5 checked)" in quiz.score.value
