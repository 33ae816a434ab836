"""Papers on paper: a student's paper and the teacher's key as PDF pages (fpdf2).

:func:`paper_pdf` lays out the dict :func:`simlib.quiz.paper.build_paper` returns: the student's
id, a line for their name, their paper id, then each question with that student's numbers
(numeric variants) and options in that student's order (so their letters are the ones the
grader maps back), each with somewhere to answer: a box per letter for choice items, a box and
the unit for numeric items, ruled lines for free text. Like the JSON paper it carries no key,
explanation or secret. :func:`key_pdf` prints :class:`simlib.quiz.key.KeyRow` rows, a section
per student: the letters in that student's order, each numeric key with its tolerance and the
range it accepts, the concept names a free-text answer must state.

Layout: A4 portrait, 18 mm margins. Every page has a header (bank title, student id, paper id)
and a footer (student id, paper id, "page n of N"). Long prompts wrap at spaces. A question is
kept on one page when it fits on one (it moves to the next page whole); a question taller than
a page breaks between options, never inside one, and the answer box stays with its item.

Text uses the PDF core font Helvetica, whose encoding is Latin-1: nothing to embed, and the same
pages on the grading install (which has no font files). Characters outside Latin-1 are
transliterated by :func:`printable`: a fixed table for typographic marks and common maths
symbols (``≈`` -> ``~``, ``≤`` -> ``<=``, ``→`` -> ``->``, dashes -> ``-``, curly quotes ->
straight), Greek letters by their name (``Ψ`` -> ``Psi``), accented letters by their base letter
(Unicode NFKD), anything else ``?``. The shipped banks' printed text is all ASCII; only two
explanations and a flashcard (never printed) hold ``Ψ``.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> from simlib.quiz.paper import build_paper
    >>> data = paper_pdf(build_paper(load_bank("basics"), "ada", course="secret"))
    >>> data[:5], len(data) > 1000
    (b'%PDF-', True)
    >>> printable("4Ψ + 12Ψ/N ≈ 2 GB — ½ of it")
    '4Psi + 12Psi/N ~ 2 GB - ½ of it'
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from simlib.quiz.errors import QuizError
from simlib.quiz.storage import write_bytes_atomic
from simlib.quiz.variants import format_number

__all__ = [
    "Layout",
    "key_pdf",
    "paper_filename",
    "paper_pdf",
    "printable",
    "write_key_pdfs",
    "write_paper_pdfs",
]

# Substitutes for characters Helvetica (Latin-1) cannot show; see the module doc.
SUBSTITUTES = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u2022": "*",
    "\u2219": "*",
    "\u22c5": "*",
    "\u2248": "~",
    "\u223c": "~",
    "\u2260": "!=",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u226a": "<<",
    "\u226b": ">>",
    "\u2192": "->",
    "\u2190": "<-",
    "\u2194": "<->",
    "\u21d2": "=>",
    "\u221e": "inf",
    "\u221a": "sqrt",
    "\u2211": "sum",
    "\u220f": "prod",
    "\u2202": "d",
    "\u2206": "Delta",
    "\u2032": "'",
    "\u2033": '"',
    "\u2044": "/",
    "\u20ac": "EUR",
    "\u2122": "(TM)",
    "\u03bc": "\u00b5",  # Greek mu -> the micro sign, which Latin-1 has
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\u200b": "",
}


def _one(char: str) -> str:
    if char in SUBSTITUTES:
        return SUBSTITUTES[char]
    if ord(char) < 256:
        return char if char.isprintable() or char in "\n" else " "
    name = unicodedata.name(char, "")
    if name.startswith("GREEK ") and " LETTER " in name:
        word = name.rsplit(" LETTER ", 1)[1].split()[0].lower()
        return word.capitalize() if " CAPITAL " in name else word
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) < 256)
    base = "".join(c for c in base if not unicodedata.combining(c))
    return base or "?"


def printable(text: object) -> str:
    """``text`` with every character Helvetica cannot show replaced (see the module doc).

    >>> printable("σ² ≤ 3 → ok; naïve “quotes”")
    'sigma² <= 3 -> ok; naïve "quotes"'
    """
    return "".join(_one(c) for c in str(text))


@dataclass(frozen=True)
class Layout:
    """Page geometry in millimetres and font sizes in points (A4 by default)."""

    page_format: str = "A4"
    margin_mm: float = 18.0
    body_pt: float = 10.5
    small_pt: float = 8.0
    line_mm: float = 5.2
    box_mm: float = 5.0
    option_indent_mm: float = 16.0
    numeric_box_mm: tuple[float, float] = (62.0, 11.0)
    free_text_lines: int = 6
    ruled_gap_mm: float = 8.5
    item_gap_mm: float = 6.0


_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}  # (style, size) -> word -> mm


class _Pages(FPDF):
    """An FPDF document whose header and footer name the student and the paper on every page."""

    def __init__(self, layout: Layout, title: str, kind: str) -> None:
        super().__init__(orientation="P", unit="mm", format=layout.page_format)
        self.layout = layout
        self.doc_title = printable(title)
        self.kind = kind
        self.student = ""  # the next page's; set before add_page()
        self.paper_id = ""
        self._shown = ("", "")  # the current page's, for its footer
        self.set_margins(layout.margin_mm, layout.margin_mm + 4, layout.margin_mm)
        self.set_auto_page_break(True, margin=layout.margin_mm + 4)
        self.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))  # same input, same bytes
        self.set_title(printable(f"{title} ({kind})"))
        self.set_creator("simlib")
        self.c_margin = 0  # labels in cells line up with wrapped text at the margin

    def header(self) -> None:
        lay = self.layout
        self._shown = (self.student, self.paper_id)
        self.set_font("helvetica", "", lay.small_pt)
        self.set_text_color(80)
        self.set_xy(lay.margin_mm, lay.margin_mm - 8)
        who = printable("Student {} | Paper {}".format(*self._shown))
        room = self.epw - self.get_string_width(who) - 6
        self.cell(room, 4, self.fit(f"{self.doc_title} - {self.kind}", room))
        self.cell(self.epw - room, 4, who, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(150)
        self.line(lay.margin_mm, self.get_y() + 1, self.w - lay.margin_mm, self.get_y() + 1)
        self.set_text_color(0)
        self.set_draw_color(0)
        self.set_y(lay.margin_mm + 4)

    def footer(self) -> None:
        lay = self.layout
        self.set_y(-(lay.margin_mm - 4))
        self.set_font("helvetica", "", lay.small_pt)
        self.set_text_color(80)
        who = printable("Student {} | Paper {}".format(*self._shown))
        self.cell(self.epw * 0.7, 4, who)
        self.cell(self.epw * 0.3, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)

    def fit(self, text: str, width: float) -> str:
        """``text``, cut short with "..." so that it fits ``width`` in the current font."""
        if self.get_string_width(text) <= width:
            return text
        while text and self.get_string_width(text + "...") > width:
            text = text[:-1]
        return text.rstrip() + "..."

    def wrap(self, text: str, width: float, size: float, style: str = "") -> list[str]:
        """``text`` broken into lines no wider than ``width`` mm: greedy, at spaces (a word
        wider than a line is cut after its last hyphen that fits, else by characters); ``\\n``
        starts a new line.

        fpdf2's own ``multi_cell`` re-measures every line character by character, which made a
        class of 60 papers take over 10 s; here each word is measured once (Helvetica's widths
        are fixed, so the cache is shared by every document).
        """
        self.set_font("helvetica", style, size)
        cache = _WIDTHS.setdefault((style, size), {})

        def measure(word: str) -> float:
            if word not in cache:
                cache[word] = self.get_string_width(word)
            return cache[word]

        space = measure(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, used = [], 0.0
            for word in paragraph.split():
                w = measure(word)
                while w > width:  # cut an overlong word to the line
                    if line:
                        lines.append(" ".join(line))
                        line, used = [], 0.0
                    cut = len(word)
                    while cut > 1 and self.get_string_width(word[:cut]) > width:
                        cut -= 1
                    hyphen = word.rfind("-", 0, cut)  # an item id breaks after a hyphen
                    cut = hyphen + 1 if hyphen > 0 else cut
                    lines.append(word[:cut])
                    word = word[cut:]
                    w = measure(word)
                if line and used + space + w > width:
                    lines.append(" ".join(line))
                    line, used = [], 0.0
                used += (space if line else 0.0) + w
                line.append(word)
            lines.append(" ".join(line))
        return lines

    def line_height(self, size: float) -> float:
        return self.layout.line_mm * size / self.layout.body_pt

    def text_height(self, width: float, text: str, size: float, style: str = "") -> float:
        """The height ``text`` takes when wrapped into ``width`` at ``size`` points."""
        return len(self.wrap(text, width, size, style)) * self.line_height(size)

    def write_text(self, x: float, width: float, text: str, size: float, style: str = "") -> None:
        """``text`` wrapped into ``width`` from ``x`` at the current y, line by line; a line that
        does not fit above the bottom margin starts the next page."""
        height = self.line_height(size)
        lines = self.wrap(text, width, size, style)
        for line in lines:
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
                self.set_font("helvetica", style, size)
            top = self.get_y()
            # the baseline where cell() puts it: half the line down, plus 0.3 of the font size
            self.text(x, top + 0.5 * height + 0.3 * self.font_size, line)
            self.set_y(top + height)

    def room(self) -> float:
        """Millimetres left above the bottom margin on this page."""
        return self.page_break_trigger - self.get_y()

    def keep(self, pieces: Sequence[tuple[float, Callable[[], None]]], label: str = "") -> None:
        """Draw ``pieces`` (height, draw) on one page if they fit on one, else piece by piece,
        each piece whole: a new page (headed "``label``, continued") before any piece that does
        not fit the rest of this one."""
        total = sum(h for h, _ in pieces)
        page = self.page_break_trigger - self.t_margin - 6
        if total > self.room() and total <= page:
            self.add_page()
        for k, (height, draw) in enumerate(pieces):
            if height > self.room() and height <= page:
                self.add_page()
                if k and label:
                    self.write_text(self.l_margin, self.epw, f"{label}, continued", 8, "I")
                    self.ln(1)
            draw()


_FORMATS = {
    "single": "Choose one: cross one box.",
    "multiple": "Choose all that apply: cross every box you choose.",
    "concepts": "Answer in a few sentences on the lines.",
}


def _instruction(item: dict) -> str:
    if item["type"] == "numeric":
        unit = item.get("unit") or ""
        where = f" in {unit}" if unit else ""
        return f"Write a number{where} in the box, in digits (an exponent such as 2.5e9 is fine)."
    return _FORMATS.get(item["type"], "Answer in the space below.")


def _points(value: float) -> str:
    return f"{format_number(value)} point{'' if value == 1 else 's'}"


def _item_pieces(pdf: _Pages, number: int, item: dict) -> list[tuple[float, Callable[[], None]]]:
    lay = pdf.layout
    left, width = pdf.l_margin, pdf.epw
    head = printable(f"Question {number}   ({_points(item['points'])}, item {item['id']})")
    prompt = printable(item["prompt"])
    hint = printable(f"Hint: {item['hint']}") if item.get("hint") else ""
    note = printable(_instruction(item))

    def text(x, w, value, size, style=""):
        return (
            pdf.text_height(w, value, size, style),
            lambda: pdf.write_text(x, w, value, size, style),
        )

    pieces = [text(left, width, head, lay.body_pt, "B"), text(left, width, prompt, lay.body_pt)]
    if hint:
        pieces.append(text(left, width, hint, lay.body_pt, "I"))
    gap = (1.5, lambda: pdf.ln(1.5))
    pieces += [text(left, width, note, lay.small_pt, "I"), gap]
    if item["type"] in ("single", "multiple"):
        pieces += [_option_piece(pdf, opt) for opt in item["options"]]
    elif item["type"] == "numeric":
        pieces.append(_numeric_piece(pdf, item.get("unit") or ""))
    else:
        pieces.append(_lines_piece(pdf))
    # The question and its first answer piece stay together: merge all but the answer pieces.
    answers = len(item.get("options", ())) or 1
    stem, rest = pieces[:-answers], pieces[-answers:]
    first = rest[0]
    return [_joined([*stem, first]), *rest[1:]]


def _joined(pieces: Sequence[tuple[float, Callable[[], None]]]) -> tuple[float, Callable[[], None]]:
    def draw() -> None:
        for _, piece in pieces:
            piece()

    return sum(h for h, _ in pieces), draw


def _option_piece(pdf: _Pages, option: dict) -> tuple[float, Callable[[], None]]:
    lay = pdf.layout
    x_text = pdf.l_margin + lay.option_indent_mm
    width = pdf.epw - lay.option_indent_mm
    label = printable(option["text"])
    height = max(pdf.text_height(width, label, lay.body_pt), lay.box_mm) + 2.0

    def draw() -> None:
        top = pdf.get_y()
        pdf.rect(pdf.l_margin + 1, top, lay.box_mm, lay.box_mm)
        pdf.set_font("helvetica", "B", lay.body_pt)
        pdf.set_xy(pdf.l_margin + 1 + lay.box_mm + 2, top)
        pdf.cell(6, lay.line_mm, option["letter"])
        pdf.set_y(top)
        pdf.write_text(x_text, width, label, lay.body_pt)
        pdf.set_y(max(pdf.get_y(), top + lay.box_mm) + 2.0)

    return height, draw


def _numeric_piece(pdf: _Pages, unit: str) -> tuple[float, Callable[[], None]]:
    lay = pdf.layout
    box_w, box_h = lay.numeric_box_mm

    def draw() -> None:
        top = pdf.get_y() + 1
        pdf.set_font("helvetica", "B", lay.body_pt)
        pdf.set_xy(pdf.l_margin, top)
        pdf.cell(18, box_h, "Answer:")
        pdf.rect(pdf.l_margin + 18, top, box_w, box_h)
        pdf.set_font("helvetica", "", lay.body_pt)
        pdf.set_xy(pdf.l_margin + 18 + box_w + 2, top)
        pdf.cell(40, box_h, printable(unit))
        pdf.set_y(top + box_h + 1)

    return box_h + 2, draw


def _lines_piece(pdf: _Pages) -> tuple[float, Callable[[], None]]:
    lay = pdf.layout
    height = lay.free_text_lines * lay.ruled_gap_mm + 1

    def draw() -> None:
        top = pdf.get_y()
        pdf.set_draw_color(140)
        for k in range(1, lay.free_text_lines + 1):
            y = top + k * lay.ruled_gap_mm
            pdf.line(pdf.l_margin, y, pdf.l_margin + pdf.epw, y)
        pdf.set_draw_color(0)
        pdf.set_y(top + height)

    return height, draw


PRINT_INSTRUCTIONS = (
    "Answer on this paper. Choice items: cross the box of the letter you choose (every letter "
    "that applies where it says so). Numbers: digits in the box, in the unit printed after it. "
    "Free text: a few sentences on the lines. Your options and numbers are your own: "
    "a neighbour's paper has other letters and other numbers."
)


def _cover(pdf: _Pages, paper: dict, name: str | None) -> None:
    lay = pdf.layout
    pdf.write_text(pdf.l_margin, pdf.epw, printable(paper["title"]), 16, "B")
    items = paper["items"]
    total = sum(float(i["points"]) for i in items)
    facts = (
        f"Bank {paper['bank']} | attempt {paper['attempt']} | {len(items)} questions | "
        f"{_points(total)}"
    )
    pdf.write_text(pdf.l_margin, pdf.epw, printable(facts), lay.small_pt)
    pdf.ln(3)
    rows = [
        ("Student ID", printable(paper["student"])),
        ("Paper ID", printable(paper["paper_id"])),
        ("Name", printable(name) if name else ""),
    ]
    for label, value in rows:
        top = pdf.get_y()
        pdf.set_font("helvetica", "B", lay.body_pt)
        pdf.cell(26, 8, f"{label}:")
        pdf.set_font("helvetica", "", lay.body_pt + 1)
        pdf.cell(pdf.epw - 26, 8, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if not value:
            pdf.line(pdf.l_margin + 26, top + 7, pdf.l_margin + pdf.epw, top + 7)
    pdf.ln(2)
    pad, size = 2.0, lay.small_pt + 1
    height = pdf.text_height(pdf.epw - 2 * pad, PRINT_INSTRUCTIONS, size) + 2 * pad
    pdf.set_fill_color(240)
    pdf.rect(pdf.l_margin, pdf.get_y(), pdf.epw, height, style="F")
    pdf.set_y(pdf.get_y() + pad)
    pdf.write_text(pdf.l_margin + pad, pdf.epw - 2 * pad, PRINT_INSTRUCTIONS, size)
    pdf.ln(pad)
    pdf.ln(lay.item_gap_mm)


def paper_pdf(paper: dict, *, name: str | None = None, layout: Layout | None = None) -> bytes:
    """The PDF of a paper from :func:`simlib.quiz.paper.build_paper` (``name``: printed under the
    id; else a line to write it on). Options are printed in the order the paper lists them."""
    pdf = _Pages(layout or Layout(), paper["title"], "question paper")
    pdf.student, pdf.paper_id = paper["student"], paper["paper_id"]
    pdf.set_subject(printable(f"Paper {paper['paper_id']} for {paper['student']}"))
    pdf.add_page()
    _cover(pdf, paper, name)
    for number, item in enumerate(paper["items"], 1):
        pdf.keep(_item_pieces(pdf, number, item), f"Question {number}")
        pdf.ln(pdf.layout.item_gap_mm)
    return bytes(pdf.output())


def _key_answer(row) -> tuple[str, str]:
    """(what the student writes, the details a marker needs) for one key row."""
    if row.type == "numeric":
        unit = f" {row.unit}" if row.unit else ""
        answer = f"{format_number(row.answer)}{unit}"
        low, high = format_number(row.accept_min), format_number(row.accept_max)
        return answer, f"{row.tolerance}: accept {low} to {high}{unit}"
    if row.type == "concepts":
        names = "\n".join(f"{k}. {name}" for k, name in enumerate(row.answer, 1))
        return names, f"Model answer: {row.answer_text}" if row.answer_text else ""
    if isinstance(row.answer, str):
        return row.answer, row.answer_text
    return ", ".join(row.answer), row.answer_text.replace(" | ", "\n")  # an option a line


KEY_HEADINGS = ("#", "Item", "Points", "Answer", "Accepted range, option text, model answer")
KEY_WIDTHS = (0.04, 0.22, 0.08, 0.27, 0.39)  # shares of the text width


class _KeyTable:
    """A ruled table whose rows never split over pages; the headings repeat on a new page."""

    def __init__(self, pdf: _Pages, size: float, pad_mm: float = 1.2) -> None:
        self.pdf, self.size, self.pad = pdf, size, pad_mm
        self.widths = [share * pdf.epw for share in KEY_WIDTHS]
        self.headings: list[str] | None = None

    def row(self, cells: Sequence[str], style: str = "") -> None:
        pdf, pad = self.pdf, self.pad
        if self.headings is None:
            self.headings = list(cells)
        wrapped = [
            pdf.wrap(c, w - 2 * pad, self.size, style)
            for c, w in zip(cells, self.widths, strict=True)
        ]
        line = pdf.line_height(self.size)
        height = max(len(w) for w in wrapped) * line + 2 * pad
        if height > pdf.room():
            pdf.add_page()
            if cells is not self.headings and style != "B":
                self.row(self.headings, "B")
        top, x = pdf.get_y(), pdf.l_margin
        pdf.set_font("helvetica", style, self.size)
        for lines, width in zip(wrapped, self.widths, strict=True):
            pdf.rect(x, top, width, height)
            for k, text in enumerate(lines):
                pdf.set_xy(x + pad, top + pad + k * line)
                pdf.cell(width - 2 * pad, line, text)
            x += width
        pdf.set_xy(pdf.l_margin, top + height)


def key_pdf(title: str, rows: Sequence, *, layout: Layout | None = None) -> bytes:
    """The teacher's key: a section per student (new page each) of their rows, in item order.

    ``rows`` are :class:`simlib.quiz.key.KeyRow` from :func:`simlib.quiz.key.answer_key`.
    """
    pdf = _Pages(layout or Layout(), title, "teacher's key: keep private")
    lay = pdf.layout
    by_student: dict[str, list] = {}
    for row in rows:
        by_student.setdefault(row.student, []).append(row)
    for student, mine in by_student.items():
        pdf.student, pdf.paper_id = student, mine[0].paper_id
        pdf.add_page()
        heading = f"Key for {student}: paper {mine[0].paper_id}, attempt {mine[0].attempt}"
        pdf.write_text(pdf.l_margin, pdf.epw, printable(heading), 13, "B")
        pdf.ln(2)
        table = _KeyTable(pdf, lay.small_pt + 1)
        table.row(KEY_HEADINGS, "B")
        for number, row in enumerate(mine, 1):
            answer, details = _key_answer(row)
            cells = (str(number), f"{row.item} ({row.type})", format_number(row.points))
            table.row([printable(c) for c in (*cells, answer, details)])
    if not by_student:
        pdf.add_page()
    return bytes(pdf.output())


def paper_filename(bank: str, student: str, suffix: str = "") -> str:
    """``BANK-STUDENT[SUFFIX].pdf``: student ids hold only letters, digits and ``._@+-``."""
    return f"{bank}-{student}{suffix}.pdf"


def _folder(path: str | os.PathLike, flag: str) -> Path:
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise QuizError(f"{flag} {os.fspath(path)!r}: is a file, not a folder; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise QuizError(
            f"{flag} {os.fspath(path)!r}: cannot create the folder ({exc.strerror}); "
            "give a folder you can write to"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise QuizError(
            f"{flag} {os.fspath(path)!r}: the folder is not writable; give one you can write to"
        )
    return folder


def write_paper_pdfs(
    papers: Iterable[dict],
    folder: str | os.PathLike,
    *,
    flag: str = "--pdf",
    names: dict[str, str] | None = None,
) -> list[Path]:
    """Write each paper to ``folder/BANK-STUDENT.pdf`` (atomically); return the paths.

    ``names`` (student id -> name, from a roster) prints each student's name on the cover.
    """
    target = _folder(folder, flag)
    names = names or {}
    return [
        write_bytes_atomic(
            target / paper_filename(p["bank"], p["student"]),
            paper_pdf(p, name=names.get(p["student"]) or None),
        )
        for p in papers
    ]


def write_key_pdfs(
    bank: str, title: str, rows: Sequence, path: str | os.PathLike, *, flag: str = "--pdf"
) -> list[Path]:
    """Write the key: one file (every student, a new page each) when ``path`` ends in ``.pdf``,
    else a folder with ``BANK-STUDENT-key.pdf`` per student. Returns the paths written."""
    if Path(path).suffix.lower() == ".pdf":
        where = Path(path)
        if where.is_dir():
            raise QuizError(
                f"{flag} {os.fspath(path)!r}: is a folder; name a .pdf file or a folder"
            )
        return [write_bytes_atomic(where, key_pdf(title, rows))]
    target = _folder(path, flag)
    by_student: dict[str, list] = {}
    for row in rows:
        by_student.setdefault(row.student, []).append(row)
    return [
        write_bytes_atomic(target / paper_filename(bank, s, "-key"), key_pdf(title, mine))
        for s, mine in by_student.items()
    ]
