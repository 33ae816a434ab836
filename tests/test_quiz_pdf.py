"""Printed papers and keys, read back with pypdf (a PDF parser we did not write).

What a student's PDF must show is recomputed here from the bank and the secret through
:mod:`simlib.quiz.order` and :mod:`simlib.quiz.variants` (not read from the paper dict the PDF
was made from): their id and paper id on every page, each prompt with their numbers, their
options under their letters in their order on the page; and never the secret or a key.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from simlib.cli import main
from simlib.quiz.bank import bank_names, load_bank, parse_bank
from simlib.quiz.key import accepted_range, answer_key
from simlib.quiz.order import option_order, paper_id, to_shown
from simlib.quiz.paper import build_paper
from simlib.quiz.printed import key_pdf, paper_pdf, printable
from simlib.quiz.schema import LETTERS, ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.variants import format_number, make_variant

SECRET = "pdf-test-Secret-9f3Kq"
STUDENTS = ("ada@uni.edu", "bob", "grace.h+1")


def flat(text: str) -> str:
    """Whitespace collapsed to single spaces: wrapping moves line breaks, not words."""
    return re.sub(r"\s+", " ", text).strip()


def pages(data: bytes) -> list[str]:
    return [flat(p.extract_text() or "") for p in PdfReader(io.BytesIO(data)).pages]


def shown_options(item, student: str) -> list[tuple[str, str]]:
    """(letter, text) in the student's order, from the keyed permutation itself."""
    order = option_order(item.id, len(item.options), student=student, course=SECRET, attempt=0)
    return [(LETTERS[i], item.options[a]) for i, a in enumerate(order)]


def expected_prompt(item, student: str) -> str:
    if isinstance(item, NumericItem):
        return make_variant(item, student, course=SECRET, attempt=0).prompt
    return item.prompt


@pytest.mark.parametrize("topic", bank_names())
def test_a_paper_shows_the_students_ids_prompts_numbers_and_options_in_order(topic):
    bank = load_bank(topic)
    student = STUDENTS[0]
    text_pages = pages(paper_pdf(build_paper(bank, student, course=SECRET)))
    pid = paper_id(SECRET, bank.topic, student, 0)
    assert len(text_pages) >= 1
    for number, page in enumerate(text_pages, 1):
        assert f"Student {student} | Paper {pid}" in page  # header and footer
        assert f"Page {number} of {len(text_pages)}" in page
    text = " ".join(text_pages)
    assert f"Student ID: {student}" in text and f"Paper ID: {pid}" in text
    cursor = 0
    for number, item in enumerate(bank.items, 1):
        head = text.index(f"Question {number} ", cursor)
        prompt = text.index(flat(printable(expected_prompt(item, student))), head)
        cursor = prompt
        if isinstance(item, SingleChoice | MultipleChoice):
            for letter, option in shown_options(item, student):
                at = text.index(f"{letter} {flat(printable(option))}", cursor)
                assert at > cursor
                cursor = at
        elif isinstance(item, NumericItem):
            answer = text.index("Answer:", cursor)
            if item.unit:
                assert text[answer:].startswith(f"Answer: {printable(item.unit)}")
            cursor = answer
    assert text.find(f"Question {len(bank.items) + 1} ") == -1


def test_two_students_see_different_letters_and_numbers():
    bank = load_bank("data_parallelism")
    texts = {s: " ".join(pages(paper_pdf(build_paper(bank, s, course=SECRET)))) for s in STUDENTS}
    choice = [i for i in bank.items if isinstance(i, SingleChoice)]
    orders = {s: [tuple(shown_options(i, s)) for i in choice] for s in STUDENTS}
    assert len({tuple(o) for o in orders.values()}) == len(STUDENTS)
    numeric = [i for i in bank.items if isinstance(i, NumericItem)]
    prompts = {s: [expected_prompt(i, s) for i in numeric] for s in STUDENTS}
    assert len({tuple(p) for p in prompts.values()}) > 1
    for s in STUDENTS:
        others = [o for o in STUDENTS if o != s]
        for k, prompt in enumerate(prompts[s]):
            assert flat(prompt) in texts[s]
            for o in others:
                if prompts[o][k] != prompt:
                    assert flat(prompts[o][k]) not in texts[s]


@pytest.mark.parametrize("topic", bank_names())
def test_a_paper_never_prints_the_secret_or_a_key(topic):
    bank = load_bank(topic)
    student = STUDENTS[1]
    data = paper_pdf(build_paper(bank, student, course=SECRET))
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(pages(data))
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    assert SECRET not in text and SECRET not in meta and SECRET.encode() not in data
    visible = " ".join(
        [expected_prompt(i, student) for i in bank.items]
        + [o for i in bank.items for o in getattr(i, "options", ())]
    )
    secrets_of_the_key = []
    for item in bank.items:
        secrets_of_the_key += [item.explanation, *getattr(item, "feedback", {}).values()]
        if isinstance(item, ConceptItem):
            secrets_of_the_key += [item.model_answer, *(c.name for c in item.concepts)]
        if isinstance(item, NumericItem):
            variant = make_variant(item, student, course=SECRET, attempt=0)
            secrets_of_the_key += [format_number(variant.key)]
            secrets_of_the_key += [
                format_number(v) for v in accepted_range(variant.key, item.tolerance)
            ]
    checked = [s for s in secrets_of_the_key if s and len(s) >= 3 and s not in visible]
    assert checked, "nothing to check: the test would be vacuous"
    for secret in checked:
        assert flat(printable(secret)) not in text, secret


def test_the_key_pdf_holds_each_students_letters_numbers_ranges_and_concepts():
    bank = load_bank("zero")
    rows = answer_key(bank, STUDENTS, course=SECRET)
    text_pages = pages(key_pdf(bank.title, rows))
    for student in STUDENTS:
        pid = paper_id(SECRET, bank.topic, student, 0)
        mine = [p for p in text_pages if f"Student {student} | Paper {pid}" in p]
        assert mine and f"Key for {student}: paper {pid}, attempt 0" in mine[0]
        text = " ".join(mine)
        cursor = 0
        for number, item in enumerate(bank.items, 1):
            # A long id wraps after a hyphen in its table cell ("zero-params-gathered-" "when").
            head = r"-\s?".join(re.escape(p) for p in f"{number} {item.id} (".split("-"))
            cursor = re.compile(head + re.escape(f"{item.type})")).search(text, cursor).start()
            if isinstance(item, SingleChoice | MultipleChoice):
                order = option_order(item.id, len(item.options), student=student, course=SECRET)
                authored = [item.answer] if isinstance(item, SingleChoice) else item.answer
                letters = ", ".join(sorted(to_shown(a, order) for a in authored))
                assert text.index(f" {letters} ", cursor) > cursor
            elif isinstance(item, NumericItem):
                key = make_variant(item, student, course=SECRET).key
                low, high = accepted_range(key, item.tolerance)
                unit = f" {item.unit}" if item.unit else ""
                at = text.index(f"{format_number(key)}{unit}", cursor)
                span = f"accept {format_number(low)} to {format_number(high)}{unit}"
                assert text.index(span, at) > at
            else:
                for name in (c.name for c in item.concepts):
                    assert flat(printable(name)) in text
    assert SECRET not in " ".join(text_pages)


def _write_roster(path, n):
    path.write_text("student\n" + "".join(f"s{k:03d}@uni.edu\n" for k in range(n)))
    return path


def test_quiz_paper_roster_of_60_writes_60_readable_pdfs(tmp_path, capsys):
    roster = _write_roster(tmp_path / "roster.csv", 60)
    out = tmp_path / "papers"
    argv = ["quiz", "paper", "zero", "--course", SECRET, "--roster", str(roster)]
    assert main([*argv, "--pdf", str(out)]) == 0
    assert "wrote 60 PDF paper(s) of zero" in capsys.readouterr().out
    files = sorted(out.glob("*.pdf"))
    assert [f.name for f in files] == [f"zero-s{k:03d}@uni.edu.pdf" for k in range(60)]
    for f in files[::15]:
        student = f.stem.removeprefix("zero-")
        text = " ".join(pages(f.read_bytes()))
        assert f"Student ID: {student}" in text
        assert f"Paper ID: {paper_id(SECRET, 'zero', student, 0)}" in text


def test_quiz_key_pdf_as_one_file_or_a_folder(tmp_path, capsys):
    roster = _write_roster(tmp_path / "roster.csv", 3)
    base = ["quiz", "key", "basics", "--course", SECRET, "--roster", str(roster)]
    assert main([*base, "--pdf", str(tmp_path / "key.pdf"), "--out", str(tmp_path / "k.csv")]) == 0
    text = " ".join(pages((tmp_path / "key.pdf").read_bytes()))
    assert all(f"Key for s{k:03d}@uni.edu" in text for k in range(3))
    assert (tmp_path / "k.csv").read_text().count("\n") == 1 + 3 * len(load_bank("basics").items)
    assert main([*base, "--pdf", str(tmp_path / "keys")]) == 0
    files = sorted(p.name for p in (tmp_path / "keys").iterdir())
    assert files == [f"basics-s{k:03d}@uni.edu-key.pdf" for k in range(3)]
    capsys.readouterr()


def _one_line_error(argv, capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [x for x in err.splitlines() if not x.startswith("simlib: warning")]
    assert len(lines) == 1 and lines[0].startswith("simlib: error: ") and "Traceback" not in err
    return lines[0]


def test_bad_roster_or_folder_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    good = _write_roster(tmp_path / "roster.csv", 2)
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nAda Lovelace\n")
    paper = ["quiz", "paper", "basics", "--course", SECRET]
    out = tmp_path / "out"
    line = _one_line_error([*paper, "--roster", str(bad), "--pdf", str(out)], capsys)
    assert "bad.csv" in line and "no column of student ids" in line
    line = _one_line_error(
        [*paper, "--roster", str(tmp_path / "nope.csv"), "--pdf", str(out)], capsys
    )
    assert "nope.csv" in line and "no such roster file" in line
    assert not out.exists()
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    line = _one_line_error([*paper, "--roster", str(good), "--pdf", str(a_file)], capsys)
    assert "--pdf" in line and "is a file" in line
    line = _one_line_error([*paper, "--roster", str(good), "--pdf", str(a_file / "sub")], capsys)
    assert "--pdf" in line and "cannot create the folder" in line
    line = _one_line_error(
        [*paper, "--roster", str(good), "--out", str(tmp_path / "p.json")], capsys
    )
    assert "--pdf DIR" in line
    key = ["quiz", "key", "basics", "--course", SECRET, "--roster", str(good)]
    line = _one_line_error([*key, "--pdf", str(a_file / "key.pdf")], capsys)
    assert "cannot write" in line
    line = _one_line_error(key, capsys)
    assert "--pdf FILE_OR_DIR" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "roster.csv", "taken"]


def test_the_json_paper_still_needs_student_and_out(tmp_path, capsys):
    line = _one_line_error(["quiz", "paper", "basics", "--out", str(tmp_path / "p.json")], capsys)
    assert "--student ID --out paper.json" in line
    assert (
        main(["quiz", "paper", "basics", "--student", "ada", "--out", str(tmp_path / "p.json")])
        == 0
    )


LONG = (
    "ZeRO stage 3 shards 16Ψ bytes over N ranks ≈ 16Ψ/N per device — naïve replication keeps "
    + "all of the optimizer state, gradients and parameters on every rank. " * 6
)


def _stress_bank():
    option = "A long option that must wrap over lines, about σ and μ and → arrows, " * 4
    options = [f"{k}: {option}" for k in range(8)]
    lines = [
        "kind: bank",
        "topic: stress",
        'title: "Stress: a title with Ψ, σ² and ≈ in it that is long enough to be cut short in'
        ' the header of every page of the paper"',
        "items:",
        "  - id: huge",
        "    type: multiple",
        f'    prompt: "{LONG}"',
        "    options:",
        *[f'      - "{o} {o}"' for o in options],
        "    answer: [A, C]",
    ]
    for k in range(4):
        lines += [
            f"  - id: again-{k}",
            "    type: single",
            f'    prompt: "{LONG}"',
            "    options:",
            *[f'      - "{o}"' for o in options[:4]],
            "    answer: B",
        ]
    return parse_bank("\n".join(lines) + "\n")


def test_long_prompts_wrap_unicode_prints_and_no_option_splits_over_pages():
    bank = _stress_bank()
    student = "ada"
    text_pages = pages(paper_pdf(build_paper(bank, student, course=SECRET)))
    assert len(text_pages) >= 3
    text = " ".join(text_pages)
    assert "16Psi bytes over N ranks ~ 16Psi/N per device - naïve" in text
    assert "Ψ" not in text and "σ" not in text
    for page in text_pages:  # the long title is cut short, the ids are whole
        assert f"Student {student} | Paper {paper_id(SECRET, 'stress', student, 0)}" in page
    # Each page's text cut at the question heads: (question number, page index, text).
    parts, current = [], 0
    for k, page in enumerate(text_pages):
        pieces = re.split(r"(?=Question \d+ \()", page)
        for piece in pieces:
            head = re.match(r"Question (\d+) \(", piece)
            current = int(head.group(1)) if head else current
            parts.append((current, k, piece))
    for number, item in enumerate(bank.items, 1):
        mine = [(k, piece) for n, k, piece in parts if n == number]
        options = [f"{letter} {flat(printable(o))}" for letter, o in shown_options(item, student)]
        on = [next(k for k, piece in mine if o in piece) for o in options]  # each whole on a page
        assert on == sorted(on)
        head = next(k for k, piece in mine if piece.startswith(f"Question {number} "))
        if number > 1:  # an item that fits on a page is kept on one page
            assert on[0] == on[-1] == head
        else:  # taller than a page: it breaks between options, its stem with the first option
            assert head == on[0] and on[-1] > on[0]


def test_printable_transliterates_outside_latin_1():
    assert printable("Ψ ψ Δ → ≤ ≥ ≈ — “x” ’ … €") == 'Psi psi Delta -> <= >= ~ - "x" \' ... EUR'
    assert printable("ő ç ½ µ μ") == "o ç ½ µ µ"
    assert printable("中") == "?"
    assert all(ord(c) < 256 for c in printable("".join(chr(c) for c in range(0x2000, 0x2400))))


def test_the_grading_install_prints_papers_without_the_course_libraries(tmp_path):
    """fpdf2 is a core requirement: the wheel alone (no matplotlib, no fonts) prints."""
    import os
    import subprocess

    from install_helpers import offline_env
    from test_packaging import _build_wheel

    python, deps, _ = offline_env(_build_wheel(tmp_path / "dist"), tmp_path / "env")
    assert "fpdf2" in deps and "matplotlib" not in deps
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SIMLIB_QUIZ_DIR")}
    roster = _write_roster(tmp_path / "roster.csv", 2)
    common = ["zero", "--course", SECRET, "--roster", str(roster)]
    for action, out in (("paper", "papers"), ("key", "key.pdf")):
        run = subprocess.run(
            [str(python), "-m", "simlib", "quiz", action, *common, "--pdf", str(tmp_path / out)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
    text = " ".join(pages((tmp_path / "papers" / "zero-s001@uni.edu.pdf").read_bytes()))
    assert f"Paper ID: {paper_id(SECRET, 'zero', 's001@uni.edu', 0)}" in text
    assert "Key for s001@uni.edu" in " ".join(pages((tmp_path / "key.pdf").read_bytes()))


def test_one_student_paper_as_pdf_same_input_same_bytes(tmp_path, capsys):
    argv = ["quiz", "paper", "basics", "--course", SECRET, "--student", "ada", "--json"]
    assert main([*argv, "--pdf", str(tmp_path / "a")]) == 0
    assert main([*argv, "--pdf", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [len(json.loads(line)["files"]) for line in out] == [1, 1]
    first, second = (tmp_path / d / "basics-ada.pdf" for d in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()  # no clock or random id in the file
    assert f"Paper ID: {paper_id(SECRET, 'basics', 'ada', 0)}" in " ".join(
        pages(first.read_bytes())
    )
