"""Keyed seeds and option orders: deterministic, secret-dependent, and invertible."""

from __future__ import annotations

from simlib.quiz.order import keyed_seed, option_order, paper_id, to_authored, to_shown
from simlib.quiz.schema import LETTERS


def test_order_is_a_permutation_and_round_trips():
    for n in range(2, 9):
        order = option_order("item", n, student="ada", course="k", attempt=1)
        assert sorted(order) == list(range(n))
        for letter in LETTERS[:n]:
            assert to_authored(to_shown(letter, order), order) == letter


def test_self_study_keeps_authored_order():
    assert option_order("item", 5, student=None, course="k") == (0, 1, 2, 3, 4)


def test_secret_changes_the_order_and_the_seed():
    orders_a = [option_order(f"i{j}", 5, student="ada", course="a") for j in range(40)]
    orders_b = [option_order(f"i{j}", 5, student="ada", course="b") for j in range(40)]
    assert sum(a != b for a, b in zip(orders_a, orders_b, strict=True)) >= 30
    assert keyed_seed("a", "x") != keyed_seed("b", "x")
    assert keyed_seed("a", "x") == keyed_seed("a", "x")


def test_students_see_different_orders():
    ada = [option_order(f"i{j}", 4, student="ada", course="k") for j in range(50)]
    bob = [option_order(f"i{j}", 4, student="bob", course="k") for j in range(50)]
    # Two random permutations of 4 agree with probability 1/24.
    assert sum(a != b for a, b in zip(ada, bob, strict=True)) >= 40


def test_paper_id_hides_the_secret():
    pid = paper_id("TOPSECRET", "basics", "ada", 0)
    assert len(pid) == 16 and "TOPSECRET" not in pid
    assert pid != paper_id("TOPSECRET", "basics", "ada", 1)


def test_presented_view_grades_like_the_authored_item():
    from simlib.quiz.bank import bank_names, load_bank
    from simlib.quiz.grading import grade_answer
    from simlib.quiz.order import presented
    from simlib.quiz.schema import MultipleChoice, SingleChoice

    moved = 0
    for name in bank_names():
        for item in load_bank(name).items:
            if not isinstance(item, SingleChoice | MultipleChoice):
                assert presented(item, student="ada", course="k") is item
                continue
            view = presented(item, student="ada", course="k")
            order = option_order(item.id, len(item.options), student="ada", course="k")
            moved += view.options != item.options
            for shown in LETTERS[: len(item.options)]:
                # The option a student picks under a shown letter is graded as that option.
                authored = to_authored(shown, order)
                got = grade_answer(view, [shown] if isinstance(item, MultipleChoice) else shown)
                ref = grade_answer(
                    item, [authored] if isinstance(item, MultipleChoice) else authored
                )
                assert got.score == ref.score
    assert moved >= 20


def test_orders_are_uniform_over_permutations():
    """Every permutation of 4 options is about equally likely (chi-square, 23 dof)."""
    from collections import Counter

    counts = Counter(option_order("item", 4, student=f"s{k}", course="k") for k in range(4800))
    assert len(counts) == 24
    chi2 = sum((c - 200) ** 2 / 200 for c in counts.values())
    assert chi2 < 49.7  # the 0.1% critical value for 23 degrees of freedom
    firsts = Counter(option_order("item", 8, student=f"s{k}", course="k")[0] for k in range(4000))
    assert set(firsts) == set(range(8)) and max(firsts.values()) < 600
