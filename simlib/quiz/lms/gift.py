"""A bank in Moodle's GIFT text format.

One question per paragraph, ``::name::prompt {answers}``, under ``$CATEGORY:`` lines:

- ``single``: ``{=right#feedback ~wrong#feedback}``;
- ``multiple``: every option weighted, ``{~%50%right ~%-50%wrong}`` (``+-100/k``: Moodle sums
  the weights of the chosen options and clamps at 0, our grader's rule);
- ``numeric``: a sub-category ``<topic>/<item-id>`` of ``N`` variants, each
  ``{#key:margin}`` with the absolute margin of :mod:`simlib.quiz.lms.common`;
- ``concepts``: an essay, ``{}``. GIFT has no grader-information field, so the model answer
  is written as a ``//`` comment above the question (for the teacher; Moodle ignores
  comments): use the Moodle XML export to import it as grader information.

The special characters ``~ = # { } :`` and the backslash are escaped with a backslash (in
feedback, ``= ~ }`` are written as HTML character references, which Moodle renders), and
numbers are written in plain digits (no exponent). Options keep the bank's order; Moodle's
quiz setting "shuffle within questions" shuffles them. Source: Moodle docs, "GIFT format".

Example:
    >>> escape("a=b {c}")
    'a\\\\=b \\\\{c\\\\}'
"""

from __future__ import annotations

from simlib.quiz.lms.common import multiple_weights_percent, numeric_variants, plain_number
from simlib.quiz.lms.moodle import category_path, grader_info, moodle_fraction
from simlib.quiz.schema import LETTERS, Bank, ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.variants import DEFAULT_COURSE

__all__ = ["escape", "gift_text"]

_SPECIAL = "\\~=#{}:"


def escape(text: str) -> str:
    """Text safe inside a GIFT question: specials backslash-escaped, one line."""
    out = "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)
    return " ".join(out.split())


_FEEDBACK_ENTITIES = {"=": "&#61;", "~": "&#126;", "}": "&#125;"}


def _feedback(text: str) -> str:
    """``#feedback``: ``= ~ }`` as HTML character references (Moodle shows feedback as
    HTML, so they read as the characters), the other specials escaped."""
    if not text:
        return ""
    out = escape("".join(_FEEDBACK_ENTITIES.get(ch, ch) for ch in text))
    return f"#{out}"


def _single(item: SingleChoice) -> str:
    parts = []
    for i, option in enumerate(item.options):
        letter = LETTERS[i]
        mark = "=" if letter == item.answer else "~"
        said = item.feedback.get(letter) or (item.explanation if mark == "=" else "")
        parts.append(f"{mark}{escape(option)}{_feedback(said)}")
    return _question(item.id, item.prompt, parts)


def _multiple(item: MultipleChoice) -> str:
    parts = []
    for i, (option, weight) in enumerate(
        zip(item.options, multiple_weights_percent(item), strict=True)
    ):
        said = item.feedback.get(LETTERS[i], "")
        parts.append(f"~%{moodle_fraction(weight)}%{escape(option)}{_feedback(said)}")
    return _question(item.id, item.prompt, parts)


def _question(name: str, prompt: str, parts: list[str]) -> str:
    body = "\n".join(f"    {p}" for p in parts)
    return f"::{escape(name)}::{escape(prompt)} {{\n{body}\n}}"


def _numeric(bank: Bank, item: NumericItem, count: int, course: str) -> list[str]:
    out = [f"$CATEGORY: {category_path(bank, item.id)}"]
    for v in numeric_variants(item, count, course):
        answer = f"#{plain_number(v.key)}:{plain_number(v.margin)}{_feedback(item.explanation)}"
        out.append(f"::{escape(item.id)} variant {v.number}::{escape(v.prompt)} {{{answer}}}")
    out.append(f"$CATEGORY: {category_path(bank)}")
    return out


def _essay(item: ConceptItem) -> list[str]:
    note = f"// Grader information for {item.id}: {' '.join(grader_info(item).split())}"
    return [f"{note}\n::{escape(item.id)}::{escape(item.prompt)} {{}}"]


def gift_text(bank: Bank, *, variants: int = 5, course: str = DEFAULT_COURSE) -> str:
    """The bank as GIFT text (questions separated by blank lines)."""
    blocks = [f"// simlib bank {bank.topic}: {' '.join(bank.title.split())}"]
    blocks.append(f"$CATEGORY: {category_path(bank)}")
    for item in bank.items:
        if isinstance(item, SingleChoice):
            blocks.append(_single(item))
        elif isinstance(item, MultipleChoice):
            blocks.append(_multiple(item))
        elif isinstance(item, NumericItem):
            blocks += _numeric(bank, item, variants, course)
        else:
            blocks += _essay(item)
    return "\n\n".join(blocks) + "\n"
