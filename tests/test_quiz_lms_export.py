"""LMS exports, each read back by a parser we did not write.

- Canvas QTI 1.2: pyslet (an IMS QTI 1.2.1 and IMS Content Packaging implementation) parses
  the assessment into its QTI classes and reads the package's manifest;
- GIFT: pygiftparserrgmf (a ply lex/yacc grammar of Moodle's GIFT) parses every bank;
- Moodle XML (no official schema exists): moodle-xml-parser reads the multichoice questions;
  numerical and essay questions are checked with ElementTree against the documented elements.

Keys are recomputed here with make_variant and margins checked against grading.within.
"""

from __future__ import annotations

import html
import io
import json
import logging
import xml.etree.ElementTree as ET
import zipfile

import pytest

from simlib.cli import main
from simlib.quiz import bank_names, load_bank
from simlib.quiz.grading import within
from simlib.quiz.lms.common import variant_student
from simlib.quiz.lms.gift import gift_text
from simlib.quiz.lms.moodle import moodle_xml
from simlib.quiz.lms.qti import assessment_ident, assessment_xml, qti_zip
from simlib.quiz.schema import LETTERS
from simlib.quiz.variants import make_variant

BANKS = bank_names()
COURSE = "test-secret"


def _keys(item, count):
    return [make_variant(item, variant_student(k), course=COURSE).key for k in range(1, count + 1)]


def _margin_is_tolerance(item, key, low, high):
    """The exported range is exactly what our grader accepts (up to rounding of the margin)."""
    inside = 1e-6 * (high - low)
    assert within(low + inside, key, item.tolerance)
    assert within(high - inside, key, item.tolerance)
    if high > low:
        assert not within(high + 1e-3 * (high - low) + 1e-12, key, item.tolerance)
        assert not within(low - 1e-3 * (high - low) - 1e-12, key, item.tolerance)


# ---------------------------------------------------------------- GIFT (pygiftparserrgmf)


@pytest.fixture(scope="module")
def gift_parser():
    logging.getLogger("ply").setLevel(logging.ERROR)
    from pygiftparser import parser

    return parser


@pytest.mark.parametrize("topic", BANKS)
def test_gift_parses_with_the_right_answers(gift_parser, topic):
    from pygiftparser import gift

    bank, n = load_bank(topic), 3
    parsed = gift_parser.parse(gift_text(bank, variants=n, course=COURSE)).questions
    expected = sum(n if i.type == "numeric" else 1 for i in bank.items)
    assert len(parsed) == expected
    by_name = {q.name: q for q in parsed}
    for item in bank.items:
        if item.type == "single":
            q = by_name[item.id]
            assert isinstance(q.answer, gift.MultipleChoiceRadio)
            right = [o.text for o in q.answer.options if o.prefix == "="]
            assert [r.replace("\\", "") for r in right] == [
                item.options[LETTERS.index(item.answer)]
            ]
            assert q.category == f"$course$/top/simlib/{topic}"
        elif item.type == "multiple":
            q = by_name[item.id]
            assert isinstance(q.answer, gift.MultipleChoiceCheckbox)
            assert len(q.answer.options) == len(item.options)
            k = len(item.answer)
            if 100 % k == 0:  # the parser reads whole-number percentages only
                weights = [o.percentage for o in q.answer.options]
                assert weights == [
                    (1 if LETTERS[i] in item.answer else -1) / k for i in range(len(item.options))
                ]
        elif item.type == "numeric":
            for k, key in enumerate(_keys(item, n), start=1):
                q = by_name[f"{item.id} variant {k}"]
                assert isinstance(q.answer, gift.Numerical)
                assert q.answer.get_number() == pytest.approx(key, rel=1e-12)
                m = q.answer.get_error_margin()
                _margin_is_tolerance(item, key, key - m, key + m)
                assert q.category == f"$course$/top/simlib/{topic}/{item.id}"
        else:
            assert isinstance(by_name[item.id].answer, gift.Essay)


def test_gift_escapes_specials_so_the_parser_reads_the_text(gift_parser):
    from simlib.quiz.bank import parse_bank

    bank = parse_bank(
        "kind: bank\ntopic: t\ntitle: T\nitems:\n"
        "  - {id: q, type: single, prompt: 'Is a = b {really}: yes?', options: ['x ~ y', 'z'],"
        " answer: A, explanation: 'since a = b ~ c}'}\n",
        "t.yaml",
    )
    (q,) = gift_parser.parse(gift_text(bank)).questions
    assert q.text == "Is a = b {really}: yes?"
    assert [o.prefix for o in q.answer.options] == ["=", "~"]
    feedback = q.answer.options[0].feedback.replace("\\", "")  # Moodle drops the escapes
    assert html.unescape(feedback) == "since a = b ~ c}"


# ---------------------------------------------------------------- Moodle XML


@pytest.mark.parametrize("topic", BANKS)
def test_moodle_xml_multichoice_read_by_moodle_xml_parser(topic):
    from moodle_xml_parser.parser import parse_string

    bank = load_bank(topic)
    text = moodle_xml(bank, variants=2, course=COURSE)
    parsed = {q.name: q for q in parse_string(text)["multichoice"]}
    choice = [i for i in bank.items if i.type in ("single", "multiple")]
    assert sorted(parsed) == sorted(i.id for i in choice)
    for item in choice:
        q = parsed[item.id]
        assert q.single is (item.type == "single")
        assert q.shuffle_answers is True
        assert q.default_grade == item.points
        texts = [
            html.unescape(o.answer.removeprefix("<p>").removesuffix("</p>")) for o in q.options
        ]
        assert texts == list(item.options)
        fractions = [o.score_fraction for o in q.options]
        if item.type == "single":
            assert fractions == [
                100.0 if LETTERS[i] == item.answer else 0.0 for i in range(len(q.options))
            ]
        else:
            k = len(item.answer)
            want = [(100 if LETTERS[i] in item.answer else -100) / k for i in range(len(q.options))]
            assert fractions == pytest.approx(want, abs=1e-5)
            # Moodle sums the chosen fractions and clamps at 0: our grader's partial credit
            assert sum(f for f in fractions if f > 0) == pytest.approx(100, abs=1e-4)


@pytest.mark.parametrize(
    "topic",
    [t for t in BANKS if any(i.type in ("numeric", "concepts") for i in load_bank(t).items)],
)
def test_moodle_xml_numerical_and_essay(topic):
    bank, n = load_bank(topic), 4
    root = ET.fromstring(moodle_xml(bank, variants=n, course=COURSE))
    categories = []
    current = None
    questions = {}
    for q in root.findall("question"):
        if q.get("type") == "category":
            current = q.findtext("category/text")
            categories.append(current)
        else:
            questions[q.findtext("name/text")] = (current, q)
    for item in bank.items:
        if item.type == "numeric":
            for k, key in enumerate(_keys(item, n), start=1):
                cat, q = questions[f"{item.id} variant {k}"]
                assert q.get("type") == "numerical"
                assert cat == f"$course$/top/simlib/{topic}/{item.id}"
                (answer,) = q.findall("answer")
                assert answer.get("fraction") == "100"
                assert float(answer.findtext("text")) == pytest.approx(key, rel=1e-12)
                m = float(answer.findtext("tolerance"))
                _margin_is_tolerance(item, key, key - m, key + m)
        elif item.type == "concepts":
            cat, q = questions[item.id]
            assert q.get("type") == "essay"
            info = q.findtext("graderinfo/text")
            assert item.model_answer.split()[0] in info
            assert all(c.name in info for c in item.concepts)


# ---------------------------------------------------------------- Canvas QTI (pyslet)


def _children(element, name=None):
    # pyslet 0.7 keeps some parsed children only in _children, and Section.get_children fails
    kids = list(element._children) or list(element.get_children())
    return [c for c in kids if name is None or type(c).__name__ == name]


def _correct(item_el):
    """Idents that the scoring condition requires (varequal, not under <not>), via pyslet."""
    (cond,) = [c for c in item_el.ResProcessing[0].ConditionMixin if not c.continueFlag]
    assert [sv.get_value() for sv in cond.SetVar] == ["100"]
    (expr,) = _children(cond.ConditionVar)
    if type(expr).__name__ == "VarEqual":
        return {expr.get_value()}, set()
    assert type(expr).__name__ == "And"
    yes = {e.get_value() for e in _children(expr, "VarEqual")}
    no = {_children(e, "VarEqual")[0].get_value() for e in _children(expr, "Not")}
    return yes, no


@pytest.fixture(scope="module")
def pyslet_qti():
    logging.getLogger().setLevel(logging.ERROR)  # pyslet logs HTML parsing notes
    from pyslet.qtiv1 import xml as qtiv1

    return qtiv1


@pytest.mark.parametrize("topic", BANKS)
def test_qti_assessment_read_by_pyslet(pyslet_qti, topic):
    bank, n = load_bank(topic), 3
    doc = pyslet_qti.QTIDocument()
    doc.read(src=assessment_xml(bank, variants=n, course=COURSE))
    assert type(doc.root).__name__ == "QuesTestInterop"
    assessment = doc.root.Assessment
    assert assessment.ident == assessment_ident(bank)
    (section,) = assessment.SectionMixin
    children = section.SectionItemMixin
    assert len(children) == len(bank.items)
    for item, el in zip(bank.items, children, strict=True):
        if item.type == "numeric":
            assert type(el).__name__ == "Section" and el.title == item.id
            (ordering,) = _children(el, "SelectionOrdering")
            (selection,) = _children(ordering, "Selection")
            assert [s.get_value() for s in _children(selection, "SelectionNumber")] == ["1"]
            variants = el.SectionItemMixin
            assert len(variants) == n
            for v, key in zip(variants, _keys(item, n), strict=True):
                meta = v.ItemMetadata.metadata
                assert meta["question_type"][0][0] == "numerical_question"
                (cond,) = [c for c in v.ResProcessing[0].ConditionMixin if not c.continueFlag]
                (either,) = _children(cond.ConditionVar, "Or")
                (exact,) = _children(either, "VarEqual")
                assert float(exact.get_value()) == pytest.approx(key, rel=1e-12)
                (both,) = _children(either, "And")
                low = float(_children(both, "VarGTE")[0].get_value())
                high = float(_children(both, "VarLTE")[0].get_value())
                _margin_is_tolerance(item, key, low, high)
            continue
        assert type(el).__name__ == "Item" and el.title == item.id
        meta = el.ItemMetadata.metadata
        assert meta["points_possible"][0][0] == f"{item.points:g}"
        if item.type == "concepts":
            assert meta["question_type"][0][0] == "essay_question"
            (fb,) = el.ItemFeedback
            assert fb.ident == "general_fb"
            continue
        kind = {"single": "multiple_choice_question", "multiple": "multiple_answers_question"}
        assert meta["question_type"][0][0] == kind[item.type]
        (lid,) = _children(el.Presentation, "ResponseLId")
        assert lid.rCardinality == (1 if item.type == "single" else 2)  # Single / Multiple
        render = lid.render
        assert render.shuffle is True
        labels = [lab.ident for lab in _children(render, "ResponseLabel")]
        ident = f"{bank.topic}-{item.id}"
        assert labels == [f"{ident}-{LETTERS[i]}" for i in range(len(item.options))]
        yes, no = _correct(el)
        key = {item.answer} if item.type == "single" else set(item.answer)
        assert yes == {f"{ident}-{a}" for a in key}
        if item.type == "multiple":
            assert no == set(labels) - yes


def test_qti_package_manifest_read_by_pyslet(tmp_path):
    from pyslet import imscpv1p2 as imscp

    bank = load_bank(BANKS[0])
    data = qti_zip(bank, variants=2, course=COURSE)
    assert data == qti_zip(bank, variants=2, course=COURSE)  # reproducible bytes
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    cp = imscp.ContentPackage(str(tmp_path))
    try:
        resources = {r.id: r for r in cp.manifest.root.Resources.Resource}
        aid = assessment_ident(bank)
        assert resources[aid].type == "imsqti_xmlv1p2"
        (href,) = [str(f.href) for f in resources[aid].File]
        assert href == f"{aid}/{aid}.xml" and (tmp_path / href).is_file()
    finally:
        cp.close()
    meta = ET.fromstring((tmp_path / aid / "assessment_meta.xml").read_bytes())
    ns = "{http://canvas.instructure.com/xsd/cccv1p0}"
    assert meta.findtext(f"{ns}shuffle_answers") == "true"
    assert float(meta.findtext(f"{ns}points_possible")) == sum(i.points for i in bank.items)


def test_variants_follow_the_course_secret():
    topic = next(t for t in BANKS if any(i.type == "numeric" for i in load_bank(t).items))
    bank = load_bank(topic)
    assert gift_text(bank, course="a") != gift_text(bank, course="b")
    assert gift_text(bank, course="a") == gift_text(bank, course="a")


# ---------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "flag,name", [("--moodle", "q.xml"), ("--qti", "q.zip"), ("--gift", "q.txt")]
)
def test_cli_export(tmp_path, capsys, flag, name):
    out = tmp_path / name
    rc = main(["quiz", "export", "basics", flag, str(out), "--variants", "2", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["out"] == str(out) and result["bytes"] == out.stat().st_size > 0


def test_cli_export_bad_flags_exit_2(tmp_path, capsys):
    assert main(["quiz", "export", "basics", "--gift", str(tmp_path / "a"), "--variants", "0"]) == 2
    assert "--variants" in capsys.readouterr().err
    assert main(["quiz", "export", "basics"]) == 2
    assert main(["quiz", "export", "basics", "--gift", "/proc/nonexistent/q.txt"]) == 2
    assert "cannot write /proc/nonexistent/q.txt" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    "topic", [t for t in BANKS if any(i.type == "multiple" for i in load_bank(t).items)]
)
def test_moodle_partial_credit_equals_our_grader_for_every_choice(topic):
    """Moodle sums the fractions of the chosen options and clamps at 0 and 100 percent."""
    from itertools import combinations

    from moodle_xml_parser.parser import parse_string

    from simlib.quiz.grading import grade_answer

    bank = load_bank(topic)
    parsed = {q.name: q for q in parse_string(moodle_xml(bank))["multichoice"]}
    for item in (i for i in bank.items if i.type == "multiple"):
        fractions = [o.score_fraction for o in parsed[item.id].options]
        letters = LETTERS[: len(item.options)]
        for size in range(1, len(letters) + 1):
            for chosen in combinations(range(len(letters)), size):
                moodle = min(100.0, max(0.0, sum(fractions[i] for i in chosen))) / 100
                ours = grade_answer(item, [letters[i] for i in chosen]).score / item.points
                assert moodle == pytest.approx(ours, abs=1e-6), (item.id, chosen)
