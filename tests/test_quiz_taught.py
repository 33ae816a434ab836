"""Every item says where it is taught, and every notebook's quiz asks only what was taught.

``taught_in: "04"`` or ``"04#ssp"`` names a notebook (and a section: words of one of its
headings, lower case, joined by ``-``). The quizzes a notebook shows are read from its code
cells (the ``show_quiz(...)`` calls, parsed with :mod:`ast`), so a test fails when a notebook
asks about something that only a later notebook teaches, or when a bank is shown nowhere.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from simlib.quiz import BankError, bank_names, load_bank, parse_bank

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = {p.name[:2]: p for p in sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def headings(notebook: dict) -> list[str]:
    """The slugs of a notebook's markdown headings: '## Limit 2: communication' -> 'limit-2-...'."""
    out = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if m := re.match(r"^#{1,6}\s+(.*)", line):
                    out.append(_slug(m.group(1)))
    return out


def section_found(section: str, slugs: list[str]) -> bool:
    """Whether ``section`` is a run of whole words of one of the heading slugs."""
    return any(f"-{section}-" in f"-{s}-" for s in slugs)


def quiz_calls(notebook: dict) -> list[tuple[str, list[str] | None]]:
    """Every ``show_quiz(BANK, items=[...])`` in the code cells: (bank, item ids or None)."""
    calls = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(line for line in source.splitlines() if not line.startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "show_quiz"):
                continue
            where = f"cell {index}: {ast.unparse(node)}"
            literal = node.args and isinstance(node.args[0], ast.Constant)
            assert literal, f"the bank is not a literal string, {where}"
            items = next((k.value for k in node.keywords if k.arg == "items"), None)
            if items is not None:
                assert isinstance(items, ast.List), f"items not a literal list, {where}"
                items = [ast.literal_eval(e) for e in items.elts]
            calls.append((node.args[0].value, items))
    return calls


def untaught(number: str, calls: list[tuple[str, list[str] | None]]) -> list[str]:
    """The items that notebook ``number`` asks although it and earlier ones do not teach them."""
    late = []
    for bank_name, ids in calls:
        bank = load_bank(bank_name)
        for item in bank.items if ids is None else [bank.item(i) for i in ids]:
            if item.taught_notebook is None or int(item.taught_notebook) > int(number):
                late.append(f"{bank_name}/{item.id} (taught_in {item.taught_in})")
    return late


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_item_names_a_notebook_and_section_that_exist():
    problems, count = [], 0
    for name in bank_names():
        for item in load_bank(name).items:
            count += 1
            where = f"{name}/{item.id}: taught_in {item.taught_in!r}"
            if item.taught_in is None:
                problems.append(f"{where} missing")
                continue
            number, _, section = item.taught_in.partition("#")
            if number not in NOTEBOOKS:
                problems.append(f"{where}: no notebook {number}")
            elif section and not section_found(section, headings(_read(NOTEBOOKS[number]))):
                problems.append(f"{where}: no heading of {NOTEBOOKS[number].name} has it")
    assert not problems, "\n".join(problems)
    assert count >= 80


@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_a_notebook_quiz_asks_only_what_it_or_an_earlier_notebook_taught(number):
    calls = quiz_calls(_read(NOTEBOOKS[number]))
    late = untaught(number, calls)
    assert not late, f"{NOTEBOOKS[number].name} asks what it has not taught yet: {late}"


def test_every_bank_is_shown_by_some_notebook_and_by_its_own():
    shown: dict[str, set[str]] = {}
    for number, path in NOTEBOOKS.items():
        for bank_name, _ in quiz_calls(_read(path)):
            shown.setdefault(bank_name, set()).add(number)
    for name in bank_names():
        bank = load_bank(name)
        assert name in shown, f"bank {name} is shown by no notebook"
        assert bank.notebook in shown[name], (name, bank.notebook, sorted(shown[name]))


def test_the_checks_catch_a_quiz_that_runs_ahead_and_a_bad_section():
    cell = {
        "cell_type": "code",
        "source": [
            "%matplotlib inline\n",
            "show_quiz('synchronisation', items=['sync-bsp'], student='ada')\n",
            "quiz = show_quiz('basics')\n",
        ],
    }
    calls = quiz_calls({"cells": [cell]})
    assert calls == [("synchronisation", ["sync-bsp"]), ("basics", None)]
    assert untaught("04", calls[:1]) == []
    assert untaught("03", calls[:1]) == ["synchronisation/sync-bsp (taught_in 04)"]
    assert "basics/basics-ps-role (taught_in 05)" in untaught("00", calls[1:])
    heading = {"cell_type": "markdown", "source": ["## Limit 2: communication"]}
    slugs = headings({"cells": [heading]})
    assert slugs == ["limit-2-communication"]
    assert section_found("communication", slugs) and section_found("limit-2", slugs)
    assert not section_found("commun", slugs)


@pytest.mark.parametrize("bad", ["4", "004", "04#SSP", "04#", "four"])
def test_taught_in_must_be_a_notebook_number(bad):
    text = (
        "kind: bank\ntopic: t\ntitle: T\nitems:\n"
        f"  - {{id: q, type: single, prompt: P, options: [a, b], answer: A, taught_in: '{bad}'}}"
    )
    with pytest.raises(BankError, match="taught_in"):
        parse_bank(text, "quizzes/t.yaml")
    good = parse_bank(text.replace(f"'{bad}'", "'04#ssp'"), "quizzes/t.yaml").items[0]
    assert good.taught_in == "04#ssp" and good.taught_notebook == "04"
