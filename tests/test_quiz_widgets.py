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
    single.set_answer(single.view.answer)
    single.check_button.click()
    assert "Correct." in single.feedback.value and single.result.correct
    key = make_variant(numeric.item, "ada").key
    numeric.set_answer(f"{key:.5g} ms")
    numeric.check()
    assert "Correct." in numeric.feedback.value
    right = multiple.view.answer
    wrong = next(x for x in "ABCD"[: len(multiple.view.options)] if x not in right)
    assert len(right) == 3  # the key is three of four options
    multiple.set_answer([*right, wrong])
    multiple.check()
    assert "Partly right." in multiple.feedback.value
    fraction = (3 - 1) / 3  # each right pick less each wrong one, over the key
    assert multiple.earned == pytest.approx(fraction)
    assert f"Score so far: {2 + fraction:.3g} of 3 points (3 of 3 checked)" in quiz.score.value


def test_every_control_is_a_labelled_keyboard_widget():
    quiz = show_quiz("basics")
    controls = _controls(quiz)
    buttons = [c for c in controls if isinstance(c, widgets.Button)]
    assert len(buttons) == 2 * len(quiz.items)
    assert [b.description for b in buttons[:2]] == ["Check", "Show answer"]
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
    assert "0 of 5 points (0 of 5 checked)" in quiz.score.value  # an empty check costs nothing


def _wrong_letter(view):
    return next(x for x in "ABCDEFGH"[: len(view.options)] if x != view.answer)


def test_only_the_first_check_counts_and_the_answer_waits_for_a_second_try():
    quiz = show_quiz("data_parallelism", items=["dp-global-batch"], student="ada")
    (w,) = quiz.items
    w.set_answer(_wrong_letter(w.view))
    w.check()
    text = w.feedback.value
    assert "Not yet right." in text and "Try once more" in text
    assert "the answer is" not in text and w.view.options[ord(w.view.answer) - 65] not in text
    assert not w.revealed and w.earned == 0.0
    w.set_answer(w.view.answer)
    w.check()
    assert "Correct." in w.feedback.value and "only your first check counts" in w.feedback.value
    assert w.earned == 0.0 and "Score so far: 0 of 1 points (1 of 1 checked)" in quiz.score.value


def test_a_second_wrong_try_shows_the_answer():
    quiz = show_quiz("data_parallelism", items=["dp-global-batch"], student="bo")
    (w,) = quiz.items
    w.set_answer(_wrong_letter(w.view))
    w.check()
    w.check()
    assert w.revealed and f"the answer is {w.view.answer}" in w.feedback.value


def test_a_shown_answer_earns_nothing():
    quiz = show_quiz(
        "data_parallelism", items=["dp-global-batch", "dp-ring-allreduce-ms"], student="cy"
    )
    single, numeric = quiz.items
    single.show_button.click()
    key_text = f"{single.view.answer}) {single.view.options[ord(single.view.answer) - 65]}"
    assert key_text in single.feedback.value and single.earned == 0.0
    single.set_answer(single.view.answer)
    single.check()
    assert single.earned == 0.0
    key = make_variant(numeric.item, "cy").key
    assert numeric.show_answer().startswith("The answer: ")
    assert f"{key:.6g}" in numeric.feedback.value or str(int(key)) in numeric.feedback.value
    assert "Score so far: 0 of 2 points (2 of 2 checked)" in quiz.score.value


def test_a_widget_given_a_student_shows_their_order_and_self_study_the_authored_one():
    item_id = "dp-global-batch"
    authored = show_quiz("data_parallelism", items=[item_id]).items[0]
    assert [label for label, _ in authored.answer_input.options] == [
        f"{'ABCD'[i]}) {t}" for i, t in enumerate(authored.item.options)
    ]
    views = [show_quiz("data_parallelism", items=[item_id], student=s).items[0] for s in "pqrst"]
    orders = {tuple(label[3:] for label, _ in w.answer_input.options) for w in views}
    assert len(orders) > 1  # five students, not all in one order
    for w in views:
        assert [label[3:] for label, _ in w.answer_input.options] == list(w.view.options)
        w.set_answer(w.view.answer)
        assert w.check().correct and w.earned == 1.0


def test_unreadable_numbers_cost_nothing_and_units_convert():
    (w,) = show_quiz("data_parallelism", items=["dp-ring-allreduce-ms"], student="ada").items
    w.set_answer("19,25")
    w.check()
    assert "costs nothing" in w.feedback.value and w.first is None
    key = make_variant(w.item, "ada").key
    w.set_answer(f"{key / 1000:.6g} s")
    assert w.check().correct and w.earned == 1.0
