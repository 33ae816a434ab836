"""A bank as a Canvas-importable QTI 1.2 package (a zip for "Import Content > QTI .zip").

The zip holds ``imsmanifest.xml`` (IMS Content Packaging 1.1: one ``imsqti_xmlv1p2``
resource), the assessment ``<id>/<id>.xml`` (IMS QTI 1.2 ``questestinterop``) and Canvas's
``<id>/assessment_meta.xml`` (quiz settings: shuffle answers on, points possible). Each item
carries Canvas's ``question_type`` and ``points_possible`` metadata:

- ``single`` -> ``multiple_choice_question``: ``response_lid`` with ``rcardinality="Single"``,
  one ``respcondition`` that sets ``SCORE`` to 100 when the key's ``varequal`` holds;
- ``multiple`` -> ``multiple_answers_question``: ``rcardinality="Multiple"``, the condition
  ``and`` of the correct options' ``varequal`` and ``not`` of the others. Canvas scores
  partial credit for this type by its own rule (it does not read weights from QTI);
- ``numeric`` -> a question group (a ``section`` whose ``selection_ordering`` picks 1, with
  ``points_per_item``) of ``N`` ``numerical_question`` variants, each accepting the key
  exactly or the range ``vargte key - margin`` .. ``varlte key + margin``;
- ``concepts`` -> ``essay_question`` with the model answer and concepts as the general
  feedback (classic Canvas quizzes have no grader-only field; it shows after submission).

``render_choice shuffle="Yes"`` and ``shuffle_answers`` let Canvas shuffle the options; we keep
the bank's order. The zip's entries have a fixed date, so the same bank gives the same bytes.
Sources: IMS QTI ASI 1.2.1 binding; Canvas "QTI import" and its exports' elements.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> import io, zipfile
    >>> "imsmanifest.xml" in zipfile.ZipFile(io.BytesIO(qti_zip(load_bank("basics")))).namelist()
    True
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

from simlib.quiz.lms.common import numeric_variants, plain_number
from simlib.quiz.lms.moodle import grader_info
from simlib.quiz.schema import LETTERS, Bank, ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.variants import DEFAULT_COURSE

__all__ = ["QTI_NS", "assessment_ident", "assessment_xml", "manifest_xml", "qti_zip"]

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def assessment_ident(bank: Bank) -> str:
    """The assessment's identifier (also its folder in the zip)."""
    return f"simlib-{bank.topic}"


def _sub(parent: ET.Element, tag: str, attrib: dict | None = None, text: str | None = None):
    node = ET.SubElement(parent, tag, attrib or {})
    if text is not None:
        node.text = text
    return node


def _metadata(item_el: ET.Element, fields: dict[str, str]) -> None:
    meta = _sub(_sub(item_el, "itemmetadata"), "qtimetadata")
    for label, entry in fields.items():
        f = _sub(meta, "qtimetadatafield")
        _sub(f, "fieldlabel", text=label)
        _sub(f, "fieldentry", text=entry)


def _material(parent: ET.Element, text: str, kind: str = "text/plain") -> None:
    _sub(_sub(parent, "material"), "mattext", {"texttype": kind}, text)


def _outcomes(resp: ET.Element) -> None:
    outcomes = _sub(resp, "outcomes")
    _sub(
        outcomes,
        "decvar",
        {"maxvalue": "100", "minvalue": "0", "varname": "SCORE", "vartype": "Decimal"},
    )


def _general_feedback_condition(resp: ET.Element, text: str) -> None:
    if text:
        cond = _sub(resp, "respcondition", {"continue": "Yes"})
        _sub(_sub(cond, "conditionvar"), "other")
        _sub(cond, "displayfeedback", {"feedbacktype": "Response", "linkrefid": "general_fb"})


def _score_100(cond: ET.Element) -> None:
    _sub(cond, "setvar", {"action": "Set", "varname": "SCORE"}, "100")


def _item_feedback(item_el: ET.Element, text: str) -> None:
    if text:
        fb = _sub(item_el, "itemfeedback", {"ident": "general_fb"})
        _material(_sub(fb, "flow_mat"), text)


def _choice_item(parent: ET.Element, ident: str, item: SingleChoice | MultipleChoice) -> None:
    single = isinstance(item, SingleChoice)
    el = _sub(parent, "item", {"ident": ident, "title": item.id})
    labels = [f"{ident}-{LETTERS[i]}" for i in range(len(item.options))]
    _metadata(
        el,
        {
            "question_type": "multiple_choice_question" if single else "multiple_answers_question",
            "points_possible": plain_number(item.points),
            "original_answer_ids": ",".join(labels),
        },
    )
    pres = _sub(el, "presentation")
    _material(pres, item.prompt)
    lid = _sub(
        pres,
        "response_lid",
        {"ident": "response1", "rcardinality": "Single" if single else "Multiple"},
    )
    choice = _sub(lid, "render_choice", {"shuffle": "Yes"})
    for label, option in zip(labels, item.options, strict=True):
        _material(_sub(choice, "response_label", {"ident": label}), option)
    resp = _sub(el, "resprocessing")
    _outcomes(resp)
    _general_feedback_condition(resp, item.explanation)
    correct = {f"{ident}-{a}" for a in ((item.answer,) if single else item.answer)}
    cond = _sub(resp, "respcondition", {"continue": "No"})
    var = _sub(cond, "conditionvar")
    if single:
        _sub(var, "varequal", {"respident": "response1"}, f"{ident}-{item.answer}")
    else:
        both = _sub(var, "and")
        for label in labels:
            target = both if label in correct else _sub(both, "not")
            _sub(target, "varequal", {"respident": "response1"}, label)
    _score_100(cond)
    _item_feedback(el, item.explanation)


def _numeric_group(
    parent: ET.Element, ident: str, item: NumericItem, count: int, course: str
) -> None:
    group = _sub(parent, "section", {"ident": f"{ident}-group", "title": item.id})
    sel = _sub(_sub(group, "selection_ordering"), "selection")
    _sub(sel, "selection_number", text="1")
    _sub(_sub(sel, "selection_extension"), "points_per_item", text=plain_number(item.points))
    for v in numeric_variants(item, count, course):
        el = _sub(
            group, "item", {"ident": f"{ident}-v{v.number}", "title": f"{item.id} v{v.number}"}
        )
        _metadata(
            el,
            {"question_type": "numerical_question", "points_possible": plain_number(item.points)},
        )
        pres = _sub(el, "presentation")
        _material(pres, v.prompt)
        rs = _sub(pres, "response_str", {"ident": "response1", "rcardinality": "Single"})
        _sub(_sub(rs, "render_fib", {"fibtype": "Decimal"}), "response_label", {"ident": "answer1"})
        resp = _sub(el, "resprocessing")
        _outcomes(resp)
        _general_feedback_condition(resp, item.explanation)
        cond = _sub(resp, "respcondition", {"continue": "No"})
        either = _sub(_sub(cond, "conditionvar"), "or")
        _sub(either, "varequal", {"respident": "response1"}, plain_number(v.key))
        within = _sub(either, "and")
        _sub(within, "vargte", {"respident": "response1"}, plain_number(v.low))
        _sub(within, "varlte", {"respident": "response1"}, plain_number(v.high))
        _score_100(cond)
        _item_feedback(el, item.explanation)


def _essay_item(parent: ET.Element, ident: str, item: ConceptItem) -> None:
    el = _sub(parent, "item", {"ident": ident, "title": item.id})
    _metadata(el, {"question_type": "essay_question", "points_possible": plain_number(item.points)})
    pres = _sub(el, "presentation")
    _material(pres, item.prompt)
    rs = _sub(pres, "response_str", {"ident": "response1", "rcardinality": "Single"})
    _sub(_sub(rs, "render_fib"), "response_label", {"ident": "answer1", "rshuffle": "No"})
    resp = _sub(el, "resprocessing")
    _outcomes(resp)
    info = grader_info(item)
    _general_feedback_condition(resp, info)
    cond = _sub(resp, "respcondition", {"continue": "No"})
    _sub(_sub(cond, "conditionvar"), "other")
    _item_feedback(el, info)


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def assessment_xml(bank: Bank, *, variants: int = 5, course: str = DEFAULT_COURSE) -> bytes:
    """The QTI 1.2 assessment document of ``bank``."""
    root = ET.Element(
        "questestinterop",
        {
            "xmlns": QTI_NS,
            "xmlns:xsi": _XSI,
            "xsi:schemaLocation": f"{QTI_NS} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd",
        },
    )
    aid = assessment_ident(bank)
    assessment = _sub(root, "assessment", {"ident": aid, "title": bank.title})
    meta = _sub(assessment, "qtimetadata")
    f = _sub(meta, "qtimetadatafield")
    _sub(f, "fieldlabel", text="cc_maxattempts")
    _sub(f, "fieldentry", text="1")
    section = _sub(assessment, "section", {"ident": "root_section"})
    for item in bank.items:
        ident = f"{bank.topic}-{item.id}"
        if isinstance(item, SingleChoice | MultipleChoice):
            _choice_item(section, ident, item)
        elif isinstance(item, NumericItem):
            _numeric_group(section, ident, item, variants, course)
        else:
            _essay_item(section, ident, item)
    return _xml(root)


def _points_possible(bank: Bank) -> float:
    return sum(item.points for item in bank.items)


def assessment_meta_xml(bank: Bank) -> bytes:
    """Canvas's quiz settings for the assessment (shuffle answers, points possible)."""
    root = ET.Element(
        "quiz",
        {
            "identifier": assessment_ident(bank),
            "xmlns": CANVAS_NS,
            "xmlns:xsi": _XSI,
            "xsi:schemaLocation": f"{CANVAS_NS} https://canvas.instructure.com/xsd/cccv1p0.xsd",
        },
    )
    _sub(root, "title", text=bank.title)
    _sub(root, "description", text=f"simlib bank {bank.topic}")
    _sub(root, "shuffle_answers", text="true")
    _sub(root, "scoring_policy", text="keep_highest")
    _sub(root, "quiz_type", text="assignment")
    _sub(root, "points_possible", text=plain_number(_points_possible(bank)))
    _sub(root, "allowed_attempts", text="1")
    return _xml(root)


def manifest_xml(bank: Bank) -> bytes:
    """``imsmanifest.xml``: the assessment as an ``imsqti_xmlv1p2`` resource."""
    aid = assessment_ident(bank)
    root = ET.Element(
        "manifest",
        {
            "identifier": f"{aid}-manifest",
            "xmlns": CP_NS,
            "xmlns:xsi": _XSI,
            "xsi:schemaLocation": f"{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd",
        },
    )
    meta = _sub(root, "metadata")
    _sub(meta, "schema", text="IMS Content")
    _sub(meta, "schemaversion", text="1.1.3")
    _sub(root, "organizations")
    resources = _sub(root, "resources")
    res = _sub(
        resources,
        "resource",
        {"identifier": aid, "type": "imsqti_xmlv1p2", "href": f"{aid}/{aid}.xml"},
    )
    _sub(res, "file", {"href": f"{aid}/{aid}.xml"})
    _sub(res, "dependency", {"identifierref": f"{aid}-meta"})
    meta_res = _sub(
        resources,
        "resource",
        {
            "identifier": f"{aid}-meta",
            "type": "associatedcontent/imscc_xmlv1p1/learning-application-resource",
            "href": f"{aid}/assessment_meta.xml",
        },
    )
    _sub(meta_res, "file", {"href": f"{aid}/assessment_meta.xml"})
    return _xml(root)


def qti_zip(bank: Bank, *, variants: int = 5, course: str = DEFAULT_COURSE) -> bytes:
    """The Canvas QTI package of ``bank`` as zip bytes (fixed entry dates: reproducible)."""
    aid = assessment_ident(bank)
    entries = {
        f"{aid}/{aid}.xml": assessment_xml(bank, variants=variants, course=course),
        f"{aid}/assessment_meta.xml": assessment_meta_xml(bank),
        "imsmanifest.xml": manifest_xml(bank),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return out.getvalue()
