"""Regrading with overrides, and item analysis of a class (exact on a tiny hand-computed class)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from simlib.cli import main
from simlib.quiz import grade_class, load_bank, make_variant, parse_submission
from simlib.quiz.analysis import analyse, class_records, point_biserial, report_tables
from simlib.quiz.gradebook import class_data, csv_text
from simlib.quiz.order import option_order, to_shown
from simlib.quiz.overrides import OverrideError, parse_overrides, regrade

DP = load_bank("data_parallelism")
BASICS = load_bank("basics")
PS = load_bank("parameter_servers")


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_STATE_DIR", str(tmp_path / "state"))


# A class of four, three items, computed by hand:
#             q1 (single, key A)  q2 (numeric)  q3 (concepts c1, c2; 2 points)  total
#   s1        A  1                1             2 (missed none)                   4
#   s2        A  1                0             1 (missed c1)                     2
#   s3        B  0                1             0 (missed c1, c2)                 1
#   s4        C  0                1             1 (missed c1)                     2
# q1: item [1,1,0,0], rest [3,1,1,2]: M1 = 2, M0 = 1.5, s_n = sqrt(0.6875), p = q = 1/2
#     r = 0.5 / sqrt(0.6875) * 0.5 = 1/sqrt(11)
# q2: item [1,0,1,1], rest [3,2,0,1]: r = -0.5 / sqrt(0.75 * 5) = -1/sqrt(15)
# q3: item [2,1,0,1], rest [2,1,1,1]: r = 1 / sqrt(2 * 0.75) = sqrt(2/3)
TINY = {
    "format": "simlib-grades-v1",
    "bank": "tiny",
    "items": [
        {"id": "q1", "type": "single", "points": 1, "options": ["a", "b", "c"], "key": ["A"]},
        {"id": "q2", "type": "numeric", "points": 1},
        {"id": "q3", "type": "concepts", "points": 2,
         "concepts": [{"id": "c1", "name": "one"}, {"id": "c2", "name": "two"}]},
    ],
    "students": [
        {"student": "s1", "items": {"q1": {"score": 1, "chosen": ["A"]}, "q2": {"score": 1},
                                    "q3": {"score": 2, "missed": []}}},
        {"student": "s2", "items": {"q1": {"score": 1, "chosen": ["A"]}, "q2": {"score": 0},
                                    "q3": {"score": 1, "missed": ["c1"]}}},
        {"student": "s3", "items": {"q1": {"score": 0, "chosen": ["B"]}, "q2": {"score": 1},
                                    "q3": {"score": 0, "missed": ["c1", "c2"]}}},
        {"student": "s4", "items": {"q1": {"score": 0, "chosen": ["C"]}, "q2": {"score": 1},
                                    "q3": {"score": 1, "missed": ["c1"]}}},
    ],
}  # fmt: skip


def test_point_biserial_is_the_textbook_formula_on_a_dichotomous_item():
    item, rest = [1, 1, 0, 0], [3, 1, 1, 2]
    m1, m0 = 2.0, 1.5
    s_n = math.sqrt(sum((x - 1.75) ** 2 for x in rest) / 4)
    assert point_biserial(item, rest) == pytest.approx((m1 - m0) / s_n * math.sqrt(0.25), 1e-12)
    assert point_biserial(item, rest) == pytest.approx(1 / math.sqrt(11), rel=1e-12)
    assert point_biserial([1, 1, 1], [0, 1, 2]) is None  # no spread: r is undefined


def test_the_tiny_class_by_hand():
    report = analyse(TINY)
    stats = {s.item: s for s in report.items}
    assert [stats[i].difficulty for i in ("q1", "q2", "q3")] == [0.5, 0.75, 0.5]
    assert stats["q1"].discrimination == pytest.approx(1 / math.sqrt(11), rel=1e-12)
    assert stats["q2"].discrimination == pytest.approx(-1 / math.sqrt(15), rel=1e-12)
    assert stats["q3"].discrimination == pytest.approx(math.sqrt(2 / 3), rel=1e-12)
    counts = [(o.letter, o.count, o.key) for o in report.options]
    assert counts == [("A", 2, True), ("B", 1, False), ("C", 1, False), ("-", 0, False)]
    misses = {(c.concept, c.answered, c.missed, c.miss_rate) for c in report.concepts}
    assert misses == {("c1", 4, 3, 0.75), ("c2", 4, 1, 0.25)}
    tables = report_tables(report)
    rows = list(csv.DictReader(tables["items.csv"].splitlines()))
    assert [(r["item"], r["difficulty"], r["discrimination"]) for r in rows] == [
        ("q1", "0.5000", f"{1 / math.sqrt(11):.4f}"),
        ("q2", "0.7500", f"{-1 / math.sqrt(15):.4f}"),
        ("q3", "0.5000", f"{math.sqrt(2 / 3):.4f}"),
    ]
    assert "q3,c1,one,4,3,0.7500" in tables["concepts.csv"].splitlines()


def test_report_cli_writes_csvs_and_a_png(tmp_path, capsys):
    grades = tmp_path / "grades.json"
    grades.write_text(json.dumps(TINY))
    out = tmp_path / "report"
    assert main(["quiz", "report", str(grades), "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(Path(f).name for f in result["files"]) == [
        "concepts.csv", "distractors.csv", "items.csv", "items.png"
    ]  # fmt: skip
    assert (out / "items.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "items.csv").read_text() == report_tables(analyse(TINY))["items.csv"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"bank": "x"}', "field format"),
        ('{"format": "simlib-grades-v1", "items": []}', "field students"),
    ],
)
def test_a_grades_file_that_is_not_grades_is_one_line(tmp_path, capsys, content, message):
    bad = tmp_path / "g.json"
    bad.write_text(content)
    assert main(["quiz", "report", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "g.json" in err[0]


def _students_where(item, authored: str, wanted: bool, n: int) -> list[str]:
    """Students whose order shows ``authored`` under its own letter (``wanted``) or not.

    Overrides are tested on students who see the option under its authored letter, so these
    tests check the regrade itself whichever way the grader maps letters; the mapping through
    shuffled orders is tested by the distractor test and the order tests.
    """
    out = []
    for k in range(2000):
        name = f"st{k}"
        order = option_order(item.id, len(item.options), student=name, course="simlib")
        if (to_shown(authored, order) == authored) == wanted:
            out.append(name)
        if len(out) == n:
            return out
    raise AssertionError("no such students")


def _sub(student: str, answers: dict):
    return parse_submission(json.dumps({"student": student, "answers": answers}))


def test_distractors_are_counted_in_authored_letters_across_shuffled_papers():
    item = DP.item("dp-global-batch")
    names = ["ann", "ben", "cat", "dan", "eve", "fay"]
    shown = {
        s: to_shown("D", option_order(item.id, len(item.options), student=s, course="simlib"))
        for s in names
    }
    assert len(set(shown.values())) > 1  # their papers show option D under different letters
    subs = [_sub(s, {item.id: shown[s]}) for s in names]
    book = grade_class(DP, subs, course="simlib")
    records = class_records(DP, book.rows, {s.student: s.answers for s in subs}, course="simlib")
    assert {r["items"][item.id]["chosen"][0] for r in records["students"]} == {"D"}
    counts = {o.letter: o.count for o in analyse(records).options if o.item == item.id}
    assert counts == {"A": 0, "B": 0, "C": 0, "D": 6, "-": 0}


def test_an_alternative_letter_regrades_those_who_chose_it_and_is_listed():
    item = DP.item("dp-global-batch")
    alt = next(x for x in "ABCD" if x != item.answer)
    chose_alt = _students_where(item, alt, True, 2)
    chose_key = _students_where(item, item.answer, True, 1)
    subs = [_sub(s, {item.id: alt}) for s in chose_alt] + [
        _sub(chose_key[0], {item.id: item.answer})
    ]
    book = grade_class(DP, subs, course="simlib")
    before = {r.student: r.score for r in book.rows}
    assert [before[s] for s in chose_alt] == [0.0, 0.0] and before[chose_key[0]] == 1.0
    ov = parse_overrides(
        f"items: [{{item: {item.id}, accept: [{alt}], reason: read per device}}]", DP
    )
    after, missing = regrade(book, subs, ov)
    scores = {r.student: r.score for r in after.rows}
    assert [scores[s] for s in chose_alt] == [1.0, 1.0] and scores[chose_key[0]] == 1.0
    assert missing == ()
    assert [(a.student, a.before, a.after) for a in after.overrides] == [
        (s, 0.0, 1.0) for s in sorted(chose_alt)
    ]
    table = list(csv.DictReader(csv_text(after).splitlines()))
    column = {r["student"]: r["overrides"] for r in table}
    assert column[chose_alt[0]] == f"{item.id}: accepted {alt}, 0 -> 1 (read per device)"
    assert column[chose_key[0]] == ""
    gs = class_data(after)
    assert len(gs["overrides"]) == 2
    assert "Regraded" in gs["students"][chose_alt[0]]["output"]
    assert "overrides" not in csv_text(book).splitlines()[0]  # no file, no column


def test_a_multiple_choice_alternative_is_a_whole_answer_set():
    item = BASICS.item("basics-real-or-simulated")
    key = "".join(item.answer)
    alt = "".join(sorted(set(key[:1]) | {next(x for x in "ABCD" if x not in key)}))
    names = [f"m{k}" for k in range(400)]
    same = [
        s for s in names
        if option_order(item.id, len(item.options), student=s, course="simlib") == (0, 1, 2, 3)
    ][:1]  # fmt: skip
    sub = _sub(same[0], {item.id: list(alt)})
    book = grade_class(BASICS, [sub], course="simlib")
    ov = parse_overrides(
        f"items: [{{item: {item.id}, accept: [{alt}], reason: both fine}}]", BASICS
    )
    after, _ = regrade(book, [sub], ov)
    (applied,) = after.overrides
    assert (applied.item, applied.before, applied.after) == (item.id, 0.0, item.points)
    assert after.rows[0].score == book.rows[0].score + item.points


def test_numeric_alternatives_by_factor_and_by_value():
    item = PS.item("ps-bytes-per-server-gb")
    key = make_variant(item, "ada", course="simlib").key
    key_bo = make_variant(item, "bo", course="simlib").key
    subs = [_sub("ada", {item.id: 2 * key}), _sub("bo", {item.id: 12.5}), _sub("cy", {item.id: 1})]
    book = grade_class(PS, subs, course="simlib")
    score = lambda b, s: next(r for r in b.rows if r.student == s).items[
        [i.id for i in PS.items].index(item.id)
    ].score  # fmt: skip
    assert score(book, "ada") == 0.0 and (score(book, "bo") == 0.0 or key_bo == 12.5)
    text = f"items: [{{item: {item.id}, accept_factor: [2], accept_value: [12.5], reason: 2NM/k}}]"
    after, _ = regrade(book, subs, parse_overrides(text, PS))
    assert score(after, "ada") == 1.0 and score(after, "bo") == 1.0 and score(after, "cy") == 0.0
    details = {a.student: a.detail for a in after.overrides}
    assert details == {"ada": "accepted the key x 2", "bo": "accepted 12.5 GB"}


def test_a_credited_concept_adds_its_share_for_everyone():
    item = BASICS.item("basics-dp-vs-mp")
    first = item.concepts[0].id
    subs = [_sub("ada", {item.id: "I do not know."})]
    book = grade_class(BASICS, subs, course="simlib")
    ov = parse_overrides(
        f"items: [{{item: {item.id}, credit: [{first}], reason: not asked}}]", BASICS
    )
    after, _ = regrade(book, subs, ov)
    (applied,) = after.overrides
    assert applied.before == 0.0
    assert applied.after == pytest.approx(item.points / len(item.concepts))
    assert after.rows[0].score == pytest.approx(book.rows[0].score + applied.after)


def test_student_adjustments_add_or_set_within_the_items_points(tmp_path):
    ring = DP.item("dp-ring-allreduce-ms")
    subs = [_sub("ada", {ring.id: 1}), _sub("bo", {ring.id: 1})]
    book = grade_class(DP, subs, course="simlib")
    text = f"""
students:
  - {{student: ada, item: {ring.id}, points: 0.5, reason: right working}}
  - {{student: ada, item: {ring.id}, points: 0.75, reason: and more}}
  - {{student: bo, item: {ring.id}, score: 0.25, reason: by hand}}
  - {{student: zed, item: {ring.id}, score: 1, reason: absent}}
"""
    after, missing = regrade(book, subs, parse_overrides(text, DP))
    assert missing == ("zed",)
    assert [(a.student, a.before, a.after) for a in after.overrides] == [
        ("ada", 0.0, 0.5), ("ada", 0.5, 1.0), ("bo", 0.0, 0.25)
    ]  # fmt: skip
    assert {r.student: r.score for r in after.rows} == {"ada": 1.0, "bo": 0.25}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("items: [", "not valid YAML (line"),
        ("- just a list", "expected a mapping"),
        ("items: [{item: dp-global-batch, accept: [A]}]", "field items.0.reason"),
        ("items: [{item: nope, accept: [A], reason: r}]", "items[0].item: 'nope' is not an item"),
        (
            "items: [{item: dp-global-batch, accept: [Z], reason: r}]",
            "accept 'Z' is not one letter",
        ),
        ("items: [{item: dp-global-batch, accept: [AB], reason: r}]", "is not one letter"),
        ("items: [{item: dp-global-batch, accept_factor: [2], reason: r}]", "takes accept"),
        ("items: [{item: dp-global-batch, reason: r}]", "say what to accept"),
        ("students: [{student: a, item: dp-global-batch, reason: r}]", "exactly one of points"),
        ("students: [{student: a, item: dp-global-batch, score: 5, reason: r}]", "over the item"),
        ("extra: 1", "field extra"),
    ],
)
def test_a_malformed_overrides_file_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    with pytest.raises(OverrideError, match="ov.yaml"):
        parse_overrides(text, DP, "ov.yaml")
    path = tmp_path / "ov.yaml"
    path.write_text(text)
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a.json").write_text('{"student": "a", "answers": {}}')
    grades = tmp_path / "g.csv"
    argv = ["quiz", "grade", "--bank", "data_parallelism", "--submissions", str(folder)]
    assert main([*argv, "--overrides", str(path), "--csv", str(grades)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("simlib: error:") and message in err[0]
    assert not grades.exists()


def test_grade_cli_lists_overrides_and_carries_what_the_report_needs(tmp_path, capsys):
    item = DP.item("dp-global-batch")
    alt = next(x for x in "ABCD" if x != item.answer)
    name = _students_where(item, alt, True, 1)[0]
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / f"{name}.json").write_text(json.dumps({"student": name, "answers": {item.id: alt}}))
    ov = tmp_path / "ov.yaml"
    ov.write_text(f"items:\n  - item: {item.id}\n    accept: [{alt}]\n    reason: ambiguous\n")
    argv = ["quiz", "grade", "--bank", "data_parallelism", "--submissions", str(folder)]
    gs = tmp_path / "gs.json"
    assert main([*argv, "--overrides", str(ov), "--json-out", str(gs), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["overrides"] == [
        {"student": name, "item": item.id, "kind": "item", "detail": f"accepted {alt}",
         "before": 0.0, "after": 1.0, "reason": "ambiguous"}
    ]  # fmt: skip
    (record,) = result["students"]
    assert record["items"][item.id] == {"score": 1.0, "points": 1.0, "chosen": [alt]}
    assert json.loads(gs.read_text())["overrides"] == result["overrides"]
    grades = tmp_path / "grades.json"
    grades.write_text(json.dumps(result))
    assert main(["quiz", "report", str(grades), "--out", str(tmp_path / "rep")]) == 0


def test_the_readme_overrides_example_is_a_valid_file():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("# overrides.yaml, for `--bank model_parallelism`")
    block = readme[start : readme.index("```", start)]
    overrides = parse_overrides(block, load_bank("model_parallelism"), "README.md")
    assert len(overrides.items) == 4 and len(overrides.students) == 2
