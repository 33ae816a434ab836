"""A bank as Moodle XML (the question bank's "Moodle XML format" import).

Every question goes into the category ``$course$/top/simlib/<topic>``; a numeric item's
variants go into their own sub-category ``.../<topic>/<item-id>`` so a teacher adds one
"random question from this category" to the quiz and Moodle draws one variant per student.

- ``single`` -> ``multichoice`` with ``<single>true</single>``, the key at fraction 100;
- ``multiple`` -> ``multichoice`` with ``<single>false</single>``, correct options at
  ``+100/k`` and wrong ones at ``-100/k`` (Moodle sums and clamps at 0: our grader's rule);
- ``numeric`` -> one ``numerical`` question per variant, the key with its absolute
  ``<tolerance>`` (see :mod:`simlib.quiz.lms.common`);
- ``concepts`` -> ``essay`` with the model answer and the concepts in ``<graderinfo>``.

Options keep the bank's order and ``<shuffleanswers>`` is on: Moodle shuffles per attempt.
Source: Moodle docs, "Moodle XML format" (docs.moodle.org/en/Moodle_XML_format).

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> "<single>true</single>" in moodle_xml(load_bank("basics"))
    True
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape

from simlib.quiz.lms.common import multiple_weights_percent, numeric_variants, plain_number
from simlib.quiz.schema import (
    LETTERS,
    Bank,
    ConceptItem,
    MultipleChoice,
    NumericItem,
    SingleChoice,
)
from simlib.quiz.variants import DEFAULT_COURSE

__all__ = ["category_path", "moodle_fraction", "moodle_xml"]


def category_path(bank: Bank, *parts: str) -> str:
    """The Moodle category of a bank (and, for variants, of one item)."""
    return "/".join(("$course$", "top", "simlib", bank.topic, *parts))


def moodle_fraction(percent: float) -> str:
    """A fraction as Moodle writes its grade list: ``100``, ``33.33333``, ``-50``."""
    text = f"{percent:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(parent: ET.Element, tag: str, value: str, *, html: bool = True) -> ET.Element:
    node = ET.SubElement(parent, tag, {"format": "html"} if html else {})
    ET.SubElement(node, "text").text = _html(value) if html else value
    return node


def _html(value: str) -> str:
    """Plain text as an HTML paragraph (ElementTree escapes <, > and &)."""
    return f"<p>{escape(value, quote=False)}</p>" if value else ""


def _category(root: ET.Element, path: str) -> None:
    q = ET.SubElement(root, "question", {"type": "category"})
    _text(q, "category", path, html=False)


def _head(root: ET.Element, qtype: str, name: str, prompt: str, item, idnumber: str):
    q = ET.SubElement(root, "question", {"type": qtype})
    _text(q, "name", name, html=False)
    _text(q, "questiontext", prompt)
    _text(q, "generalfeedback", item.explanation)
    ET.SubElement(q, "defaultgrade").text = plain_number(item.points)
    ET.SubElement(q, "penalty").text = "0"
    ET.SubElement(q, "hidden").text = "0"
    ET.SubElement(q, "idnumber").text = idnumber
    return q


def _choice(root: ET.Element, item: SingleChoice | MultipleChoice) -> None:
    q = _head(root, "multichoice", item.id, item.prompt, item, item.id)
    single = isinstance(item, SingleChoice)
    ET.SubElement(q, "single").text = "true" if single else "false"
    ET.SubElement(q, "shuffleanswers").text = "true"
    ET.SubElement(q, "answernumbering").text = "abc"
    if single:
        weights = [100.0 if LETTERS[i] == item.answer else 0.0 for i in range(len(item.options))]
    else:
        weights = multiple_weights_percent(item)
    for i, (option, weight) in enumerate(zip(item.options, weights, strict=True)):
        a = ET.SubElement(q, "answer", {"fraction": moodle_fraction(weight), "format": "html"})
        ET.SubElement(a, "text").text = _html(option)
        _text(a, "feedback", item.feedback.get(LETTERS[i], ""))


def _numeric(root: ET.Element, bank: Bank, item: NumericItem, count: int, course: str) -> None:
    _category(root, category_path(bank, item.id))
    for v in numeric_variants(item, count, course):
        name = f"{item.id} variant {v.number}"
        q = _head(root, "numerical", name, v.prompt, item, f"{item.id}-v{v.number}")
        a = ET.SubElement(q, "answer", {"fraction": "100", "format": "moodle_auto_format"})
        ET.SubElement(a, "text").text = plain_number(v.key)
        _text(a, "feedback", "")
        ET.SubElement(a, "tolerance").text = plain_number(v.margin)
        ET.SubElement(q, "unitgradingtype").text = "0"
        ET.SubElement(q, "unitpenalty").text = "0"
        ET.SubElement(q, "showunits").text = "3"
        ET.SubElement(q, "unitsleft").text = "0"
    _category(root, category_path(bank))


def grader_info(item: ConceptItem) -> str:
    """What a marker needs: the model answer and the concepts a full answer names."""
    concepts = "; ".join(c.name for c in item.concepts)
    model = f"Model answer: {item.model_answer} " if item.model_answer else ""
    return f"{model}A full answer names: {concepts}."


def _essay(root: ET.Element, item: ConceptItem) -> None:
    q = _head(root, "essay", item.id, item.prompt, item, item.id)
    ET.SubElement(q, "responseformat").text = "editor"
    ET.SubElement(q, "responserequired").text = "1"
    ET.SubElement(q, "responsefieldlines").text = "10"
    ET.SubElement(q, "attachments").text = "0"
    ET.SubElement(q, "attachmentsrequired").text = "0"
    _text(q, "graderinfo", grader_info(item))
    _text(q, "responsetemplate", "")


def moodle_xml(bank: Bank, *, variants: int = 5, course: str = DEFAULT_COURSE) -> str:
    """The bank as a Moodle XML document (``<quiz>`` of ``<question>`` elements)."""
    root = ET.Element("quiz")
    _category(root, category_path(bank))
    for item in bank.items:
        if isinstance(item, SingleChoice | MultipleChoice):
            _choice(root, item)
        elif isinstance(item, NumericItem):
            _numeric(root, bank, item, variants, course)
        else:
            _essay(root, item)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
