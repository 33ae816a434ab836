"""``simlib quiz ...`` and ``simlib cards ...``: quizzes and flashcards for the classroom.

- ``simlib quiz list [BANK]``: items with id, type, prompt and options.
- ``simlib quiz take BANK [--student ID] [--out submission.json]``: answer in the terminal,
  graded at once; ``--out`` saves the answers (also after Ctrl-C) as a submission.
- ``simlib quiz paper BANK --student ID --out paper.json``: a student's variant, no answers;
  ``--roster roster.csv --pdf DIR`` prints one PDF paper per student instead.
- ``simlib quiz grade --bank BANK --submissions DIR --csv grades.csv --json-out grades.json``
  (exit status 1 when some file was skipped; both outputs are still written).
- ``simlib quiz grade ... --overrides overrides.yaml``: regrade with alternative keys and
  per-student adjustments; every override applied is listed in the outputs.
- ``simlib quiz report GRADES.json --out DIR``: item analysis (difficulty, discrimination,
  distractors, concept miss rates) as CSV and one PNG.
- ``simlib quiz check [BANK]``: validate banks, compute sample keys of every numeric item, and
  grade the same-letter and longest-option strategies (fails, exit 1, over 35%).
- ``simlib quiz key BANK --course SECRET (--student ID | --roster roster.csv) --out key.csv``:
  the teacher's answer key, per student (letters in that student's order); ``--pdf FILE_OR_DIR``
  prints it.
- ``simlib quiz export BANK (--moodle quiz.xml | --qti quiz.zip | --gift quiz.txt)``.
- ``simlib cards list``, ``simlib cards review DECK``,
  ``simlib cards export DECK --anki deck.apkg``.

Every quiz command takes ``--bank-dir DIR`` (else ``$SIMLIB_QUIZ_DIR``) to read banks kept
outside the repository. ``--course`` is the course secret; its default is
``$SIMLIB_COURSE_SECRET``, else the public name ``simlib`` (fine for practice, not for marks).

Everything from :mod:`simlib.quiz` is imported inside the handlers, so ``simlib --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys

from simlib.cli import quiz_classroom as classroom
from simlib.cli.arguments import bounded_int
from simlib.cli.output import add_json_flag, emit, positive_int
from simlib.limits import QUIZ_VARIANTS

SECRET_ENV = "SIMLIB_COURSE_SECRET"
PUBLIC_COURSE = "simlib"  # simlib.quiz.variants.DEFAULT_COURSE (not imported: --help stays fast)


def _attempt(raw: str) -> int:
    import argparse

    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an attempt number from 0 to 10000")
    return value


def register(sub) -> None:
    _register_quiz(sub)
    _register_cards(sub)


def _bank_dir_flag(p) -> None:
    p.add_argument(
        "--bank-dir",
        default=None,
        help="folder of bank .yaml files, e.g. a private exam bank (default $SIMLIB_QUIZ_DIR, "
        "else the repository's quizzes/)",
    )


def _course_flag(p, required: bool = False) -> None:
    env = os.environ.get(SECRET_ENV) or None
    default = env if env or required else PUBLIC_COURSE
    p.add_argument(
        "--course",
        default=default,
        required=default is None,
        metavar="SECRET",
        help="course secret: keys the variants, option orders and paper ids; never written "
        f"out (default ${SECRET_ENV}"
        + (")" if required else f", else the public {PUBLIC_COURSE!r}: practice only)"),
    )


def _variant_flags(p, student_required: bool = False) -> None:
    p.add_argument(
        "--student",
        required=student_required,
        default="guest",
        help="student id: seeds the numeric variants (default guest)",
    )
    _course_flag(p)
    p.add_argument(
        "--attempt", type=_attempt, default=0, help="attempt number, part of the seed (default 0)"
    )
    p.add_argument("--items", default=None, help="only these item ids, comma-separated")
    _bank_dir_flag(p)


def _register_quiz(sub) -> None:
    quiz = sub.add_parser("quiz", help="question banks: list, take, paper, grade, check")
    cmds = quiz.add_subparsers(dest="quiz_command", metavar="ACTION")
    cmds.required = True
    p = cmds.add_parser("list", help="list banks, or one bank's items (id, type, prompt, options)")
    p.add_argument("bank", nargs="?", help="bank topic or path (default: every bank)")
    _bank_dir_flag(p)
    add_json_flag(p)
    p.set_defaults(handler=run_list)
    p = cmds.add_parser("take", help="take a quiz in the terminal, graded as you go")
    p.add_argument("bank", help="bank topic or path")
    _variant_flags(p)
    p.set_defaults(student=None)
    p.add_argument(
        "--out",
        default=None,
        help="write your answers as a submission JSON that `quiz grade` accepts (needs --student)",
    )
    add_json_flag(p)
    p.set_defaults(handler=run_take)
    p = cmds.add_parser(
        "paper", help="write a student's paper (questions and parameters, no answers)"
    )
    p.add_argument("bank", help="bank topic or path")
    _variant_flags(p)
    _paper_pdf_flags(p)
    p.add_argument("--out", default=None, help="JSON file to write (one --student)")
    add_json_flag(p)
    p.set_defaults(handler=run_paper, student=None)
    p = cmds.add_parser("grade", help="grade a folder of submissions into a CSV and a class JSON")
    p.add_argument("--bank", required=True, help="bank topic or path")
    p.add_argument(
        "--submissions",
        required=True,
        help="folder of *.json submissions (nested folders, as LMS bulk downloads, are read)",
    )
    p.add_argument("--csv", default=None, help="gradebook CSV to write")
    p.add_argument(
        "--json-out",
        default=None,
        help="class-wide JSON to write (every student's scores and feedback; for Gradescope, "
        "use `quiz autograder`)",
    )
    _course_flag(p)
    _bank_dir_flag(p)
    p.add_argument(
        "--allow-skipped",
        action="store_true",
        help="exit 0 even when some file was skipped (they are still listed)",
    )
    p.add_argument(
        "--overrides",
        default=None,
        help="YAML of alternative keys per item and per-student adjustments, each with a reason "
        "(see README: Regrading and item analysis)",
    )
    _lms_grade_flags(p)
    add_json_flag(p)
    p.set_defaults(handler=run_grade)
    p = cmds.add_parser(
        "report", help="item analysis of graded work: difficulty, discrimination, distractors"
    )
    p.add_argument("grades", help="the JSON that `simlib quiz grade --json` printed")
    p.add_argument("--out", required=True, help="folder for the CSV files and items.png")
    add_json_flag(p)
    p.set_defaults(handler=run_report)
    p = cmds.add_parser(
        "check",
        help="validate banks, sample numeric keys, grade the same-letter and longest-option "
        "strategies (exit 1 over 35%%)",
    )
    p.add_argument("bank", nargs="?", help="bank topic or path (default: every bank and deck)")
    p.add_argument(
        "--students",
        type=bounded_int(QUIZ_VARIANTS),
        default=20,
        help="variants per numeric item (default 20)",
    )
    _bank_dir_flag(p)
    add_json_flag(p)
    p.set_defaults(handler=run_check)
    p = cmds.add_parser(
        "key", help="write the teacher's answer key per student (letters in their order)"
    )
    p.add_argument("bank", help="bank topic or path")
    _course_flag(p, required=True)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--student", default=None, help="one student id")
    who.add_argument(
        "--roster",
        default=None,
        help="CSV with a header row and a 'student' column (Canvas exports work)",
    )
    p.add_argument(
        "--column", default=None, help="the roster column holding student ids (default: found)"
    )
    p.add_argument(
        "--attempt", type=_attempt, default=0, help="attempt number, part of the seed (default 0)"
    )
    p.add_argument("--items", default=None, help="only these item ids, comma-separated")
    p.add_argument("--out", default=None, help="key file to write: .csv or .json")
    p.add_argument(
        "--pdf",
        default=None,
        metavar="FILE_OR_DIR",
        help="also (or instead) print the key: one .pdf, or a folder of one PDF per student",
    )
    _bank_dir_flag(p)
    add_json_flag(p)
    p.set_defaults(handler=run_key)
    classroom.register(cmds)
    _register_export(cmds)


def _lms_grade_flags(p) -> None:
    p.add_argument(
        "--csv-format",
        choices=("simlib", "canvas", "moodle"),
        default="simlib",
        help="layout of --csv: simlib's, or the columns Canvas or Moodle import (default simlib)",
    )
    p.add_argument(
        "--roster", default=None, help="roster CSV mapping student ids to LMS identities"
    )
    p.add_argument(
        "--assignment",
        default=None,
        help='the LMS grade column, e.g. "Quiz 3 (1234)" for a Canvas assignment (default: '
        "the bank's title)",
    )


def _register_export(cmds) -> None:
    p = cmds.add_parser("export", help="export a bank to Moodle XML, a Canvas QTI zip or GIFT")
    p.add_argument("bank", help="bank topic or path")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--moodle", metavar="QUIZ.xml", help="Moodle XML file to write")
    where.add_argument("--qti", metavar="QUIZ.zip", help="Canvas QTI 1.2 package to write")
    where.add_argument("--gift", metavar="QUIZ.txt", help="GIFT file to write")
    p.add_argument(
        "--variants",
        type=positive_int,
        default=5,
        help="pre-generated variants per numeric item, the LMS draws one (default 5)",
    )
    _course_flag(p)
    _bank_dir_flag(p)
    add_json_flag(p)
    p.set_defaults(handler=run_export)


def run_export(args) -> int:
    from simlib.quiz import load_bank
    from simlib.quiz.lms import FORMATS
    from simlib.quiz.storage import write_bytes_atomic

    bank = load_bank(args.bank, bank_dir=args.bank_dir)
    flag = next(f for f in FORMATS if getattr(args, f))
    out = getattr(args, flag)
    data = FORMATS[flag].render(bank, variants=args.variants, course=args.course)
    write_bytes_atomic(out, data)
    numeric = sum(1 for i in bank.items if i.type == "numeric")
    result = {
        "bank": bank.topic,
        "format": flag,
        "out": out,
        "items": len(bank.items),
        "numeric_items": numeric,
        "variants_per_numeric_item": args.variants,
        "bytes": len(data),
    }
    emit(
        result,
        args.json,
        lambda r: (
            f"wrote {r['out']} ({FORMATS[flag].description}): {r['items']} items, "
            f"{r['numeric_items']} numeric with {r['variants_per_numeric_item']} variants each"
        ),
    )
    return 0


def _register_cards(sub) -> None:
    cards = sub.add_parser("cards", help="flashcards: list, review (FSRS), export to Anki")
    cmds = cards.add_subparsers(dest="cards_command", metavar="ACTION")
    cmds.required = True
    p = cmds.add_parser("list", help="decks with their new, due and scheduled cards")
    add_json_flag(p)
    p.set_defaults(handler=run_cards_list)
    p = cmds.add_parser("review", help="review due cards in the terminal (FSRS scheduling)")
    p.add_argument("deck", help="deck name or path")
    p.add_argument("--limit", type=positive_int, default=20, help="cards this session (default 20)")
    add_json_flag(p)
    p.set_defaults(handler=run_cards_review)
    p = cmds.add_parser("export", help="export a deck to an Anki package (.apkg)")
    p.add_argument("deck", help="deck name or path")
    p.add_argument("--anki", required=True, help="the .apkg file to write")
    add_json_flag(p)
    p.set_defaults(handler=run_cards_export)


def _items(raw: str | None) -> list[str] | None:
    return [i.strip() for i in raw.split(",") if i.strip()] if raw else None


def _item_row(item) -> dict:
    row = {"id": item.id, "type": item.type, "prompt": item.prompt, "points": item.points}
    if hasattr(item, "options"):
        row["options"] = list(item.options)
    if item.type == "numeric":
        row["unit"] = item.unit
        row["parameters"] = list(item.params)
    return row


def run_list(args) -> int:
    from simlib.quiz import bank_names, load_bank

    names = [args.bank] if args.bank else bank_names(args.bank_dir, required=True)
    banks = [load_bank(n, bank_dir=args.bank_dir) for n in names]
    result = {
        "banks": [
            {
                "topic": b.topic,
                "title": b.title,
                "notebook": b.notebook,
                "items": [_item_row(i) for i in b.items],
            }
            for b in banks
        ]
    }

    def text(r):
        lines = []
        for b in r["banks"]:
            lines.append(f"{b['topic']} ({len(b['items'])} items): {b['title']}")
            for i in b["items"]:
                lines.append(f"  {i['id']:<32} {i['type']:<9} {i['prompt'][:70]}")
                lines += [f"      {'ABCDEFGH'[k]}) {o}" for k, o in enumerate(i.get("options", []))]
        return "\n".join(lines)

    emit(result, args.json, text)
    return 0


def _say_to(stream):
    return lambda text: print(text, file=stream, flush=True)


def _ask_on(stream):
    """Like input(), but the prompt goes to ``stream`` (stderr with --json, keeping stdout JSON).

    On a terminal, answers are read with :func:`input` and :mod:`readline` (line editing and
    history); from a pipe or file, one line at a time.
    """
    if sys.stdin.isatty():
        try:
            import readline  # noqa: F401 - importing it gives input() line editing
        except ImportError:  # pragma: no cover - Windows without pyreadline
            pass

        def ask_tty(prompt: str) -> str:
            if stream is sys.stdout:
                return input(prompt)
            stream.write(prompt)
            stream.flush()
            return input()

        return ask_tty

    def ask(prompt: str) -> str:
        stream.write(prompt)
        stream.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return ask


def _check_submission_target(args) -> None:
    """Before asking anything: --out needs a student id that a submission may carry."""
    from simlib.quiz import SubmissionError, parse_submission

    if args.out is None:
        return
    if args.student is None:
        raise SubmissionError(
            f"--out {args.out}: a submission needs a student id; add --student ID"
        )
    parse_submission(json.dumps({"student": args.student, "answers": {}}), "--student")


def run_take(args) -> int:
    from simlib.quiz import load_bank, parse_submission, take_in_terminal
    from simlib.quiz.storage import write_json_atomic

    bank = load_bank(args.bank, bank_dir=args.bank_dir)
    _check_submission_target(args)
    stream = sys.stderr if args.json else sys.stdout
    taken = take_in_terminal(
        bank,
        args.student,
        course=args.course,
        attempt=args.attempt,
        items=_items(args.items),
        ask=_ask_on(stream),
        say=_say_to(stream),
    )
    result = {
        "bank": bank.topic,
        "student": taken.student,
        "score": taken.score,
        "max_score": taken.max_score,
        "stopped": taken.stopped,
        "out": args.out,
        "items": [
            {"id": r.item_id, "score": r.score, "points": r.points, "correct": r.correct}
            for r in taken.items
        ],
    }
    if args.out:
        submission = taken.submission()
        parse_submission(json.dumps(submission), args.out)  # what we write, grade accepts
        write_json_atomic(args.out, submission)
        answered = sum(v is not None for v in submission["answers"].values())
        print(f"wrote {args.out}: {answered} answer(s) for {taken.student}", file=stream)
    if args.json:
        emit(result, True, str)
    return 0


def _warn_public_course(course: str) -> None:
    if course == PUBLIC_COURSE:
        print(
            f"simlib: warning: no --course secret (nor ${SECRET_ENV}); with the public default "
            "anyone can compute these variants and option orders: fine for practice, not marks",
            file=sys.stderr,
        )


def _paper_pdf_flags(p) -> None:
    p.add_argument(
        "--roster", default=None, help="CSV roster: print a PDF paper for every student (--pdf)"
    )
    p.add_argument(
        "--column", default=None, help="the roster column holding student ids (default: found)"
    )
    p.add_argument(
        "--pdf", default=None, metavar="DIR", help="folder to write BANK-STUDENT.pdf papers into"
    )


def run_paper(args) -> int:
    from simlib.quiz import build_paper, load_bank
    from simlib.quiz.storage import write_json_atomic
    from simlib.quiz.submissions import check_identity

    if args.roster is not None or args.pdf is not None:
        return run_paper_pdf(args)
    if args.student is None or args.out is None:
        from simlib.quiz.errors import RosterError

        raise RosterError(
            "quiz paper: give --student ID --out paper.json for a JSON paper, or "
            "(--student ID | --roster roster.csv) --pdf DIR for printed papers"
        )
    check_identity(args.student, args.attempt)  # the rules `quiz grade` applies
    bank = load_bank(args.bank, bank_dir=args.bank_dir)
    paper = build_paper(
        bank, args.student, course=args.course, attempt=args.attempt, items=_items(args.items)
    )
    write_json_atomic(args.out, paper)
    _warn_public_course(args.course)  # after the work: an error stays one line
    result = {
        "bank": bank.topic,
        "student": args.student,
        "paper_id": paper["paper_id"],
        "items": len(paper["items"]),
        "out": args.out,
    }
    emit(result, args.json, lambda r: f"wrote {r['out']}: {r['items']} items for {r['student']}")
    return 0


def run_paper_pdf(args) -> int:
    """``quiz paper --pdf DIR`` (with ``--student`` or ``--roster``): printed papers."""
    from simlib.quiz import build_paper, load_bank
    from simlib.quiz.errors import RosterError
    from simlib.quiz.key import check_student
    from simlib.quiz.printed import write_paper_pdfs
    from simlib.quiz.roster import read_roster

    if args.pdf is None or (args.roster is None) == (args.student is None) or args.out:
        raise RosterError(
            "quiz paper: printed papers take (--student ID | --roster roster.csv) --pdf DIR "
            "(and no --out)"
        )
    bank = load_bank(args.bank, bank_dir=args.bank_dir)
    names: dict[str, str] = {}
    if args.roster is not None:
        roster = read_roster(args.roster, args.column)
        students, names = roster.students, {r.student: r.name for r in roster.rows}
    else:
        students = (check_student(args.student),)
    items = _items(args.items)
    papers = (
        build_paper(bank, s, course=args.course, attempt=args.attempt, items=items)
        for s in students
    )
    _warn_public_course(args.course)
    paths = write_paper_pdfs(papers, args.pdf, names=names)
    result = {
        "bank": bank.topic,
        "students": len(students),
        "pdf": args.pdf,
        "files": [str(p) for p in paths],
    }
    emit(
        result,
        args.json,
        lambda r: f"wrote {r['students']} PDF paper(s) of {r['bank']} into {r['pdf']}",
    )
    return 0


def run_grade(args) -> int:
    """Grade the folder and write both outputs together; exit 1 if any file was skipped."""
    from simlib.files import printable, resolve_target
    from simlib.quiz import grade_class, load_bank, load_submissions
    from simlib.quiz.analysis import class_records
    from simlib.quiz.gradebook import write_gradebook
    from simlib.quiz.overrides import load_overrides, regrade
    from simlib.quiz.paper import paper_check

    for out in (args.csv, args.json_out):
        if out:
            resolve_target(out)  # a bad output path is refused before any grading
    bank = load_bank(args.bank, bank_dir=args.bank_dir)
    overrides = load_overrides(args.overrides, bank) if args.overrides else None
    good, rejected = load_submissions(args.submissions, check=paper_check(bank, args.course))
    book = grade_class(bank, good, rejected, course=args.course)
    missing: tuple[str, ...] = ()
    if overrides is not None:
        book, missing = regrade(book, good, overrides)
    lms = _lms_csv(book, args)  # rendered first: a bad roster stops before any file is written
    write_gradebook(
        book,
        csv_path=args.csv,
        json_path=args.json_out,
        csv_body=None if lms is None else lms.text,
    )
    result = {**book.summary(), "csv": args.csv, "json_out": args.json_out}
    if lms is not None:
        result.update(
            csv_format=args.csv_format,
            not_in_roster=list(lms.not_in_roster),
            no_submission=list(lms.no_submission),
        )
    for r in book.skipped:
        print(f"simlib: skipped {printable(r.reason, 400)}", file=sys.stderr)
    for r in book.replaced:
        print(f"simlib: {printable(r.reason, 400)}", file=sys.stderr)
    for student in missing:
        print(
            f"simlib: {printable(args.overrides, 200)}: no graded submission from {student!r}; "
            "their adjustment was not applied",
            file=sys.stderr,
        )
    if overrides is not None:
        result["overrides"] = [a.as_dict() for a in book.overrides]
        result["overrides_not_applied"] = list(missing)
    answers = {s.student: s.answers for s in good}
    result.update(class_records(bank, book.rows, answers, course=args.course))

    def text(r):
        mean = "-" if r["mean_score"] is None else f"{r['mean_score']:.3g}"
        applied = f"; {len(r['overrides'])} override(s) applied" if "overrides" in r else ""
        return (
            f"graded {r['graded']} submission(s) of {r['bank']}, mean {mean} of "
            f"{r['max_score']:g}; skipped {len(r['rejected'])}, replaced "
            f"{len(r['replaced'])}{applied}"
        )

    emit(result, args.json, text)
    return 1 if book.skipped and not args.allow_skipped else 0


def _strategy_row(bank) -> tuple[dict, list[str]]:
    from simlib.quiz.fairness import MAX_STRATEGY_SHARE, letter_references, strategy_scores

    scores = strategy_scores(bank)
    refs = letter_references(bank)
    failures = []
    limit = f"{MAX_STRATEGY_SHARE:.0%}"
    if scores.same_letter_share > MAX_STRATEGY_SHARE + 1e-12:
        failures.append(
            f"bank {bank.topic!r}: answering {scores.same_letter!r} everywhere scores "
            f"{scores.same_letter_share:.1%} of its choice points (same-letter figure), over "
            f"{limit}; spread the keys over the letters"
        )
    if scores.longest_share > MAX_STRATEGY_SHARE + 1e-12:
        failures.append(
            f"bank {bank.topic!r}: always picking the longest option scores "
            f"{scores.longest_share:.1%} of its choice points (longest-option figure), over "
            f"{limit}; rewrite distractors so the key is not the longest"
        )
    failures += [
        f"bank {bank.topic!r}: item {item!r} field {field} names an option by letter "
        f"({text!r}); options move between letters per student, so name the option's content"
        for item, field, text in refs
    ]
    row = {
        "choice_points": scores.choice_points,
        "same_letter": {
            "letter": scores.same_letter,
            "points": scores.same_letter_points,
            "share": round(scores.same_letter_share, 6),
        },
        "longest_option": {
            "points": scores.longest_points,
            "share": round(scores.longest_share, 6),
        },
        "max_share": MAX_STRATEGY_SHARE,
        "letter_references": [list(r) for r in refs],
        "ok": not failures,
    }
    return row, failures


def run_report(args) -> int:
    from simlib.quiz.analysis import analyse, load_grades, write_report

    grades = load_grades(args.grades)
    report = analyse(grades)
    title = f"Item analysis: {grades.get('bank', '')}, {len(grades['students'])} students"
    paths = write_report(report, args.out, title=title)
    result = {
        "bank": grades.get("bank"),
        "students": len(grades["students"]),
        "items": [
            {"id": s.item, "difficulty": s.difficulty, "discrimination": s.discrimination}
            for s in report.items
        ],
        "files": [str(p) for p in paths],
    }

    def text(r):
        lines = [f"{'item':<32} {'difficulty':>10} {'r_pb':>7}"]
        for i in r["items"]:
            d = "-" if i["difficulty"] is None else f"{i['difficulty']:.2f}"
            x = "-" if i["discrimination"] is None else f"{i['discrimination']:.2f}"
            lines.append(f"{i['id']:<32} {d:>10} {x:>7}")
        return "\n".join([*lines, "wrote " + ", ".join(r["files"])])

    emit(result, args.json, text)
    return 0


def _lms_csv(book, args):
    """--csv in --csv-format (None without --csv); report who roster and submissions miss."""
    from simlib.quiz.errors import QuizError
    from simlib.quiz.gradebook_formats import CSV_FORMATS
    from simlib.quiz.roster import read_roster

    if args.csv is None:
        if args.roster or args.assignment or args.csv_format != "simlib":
            raise QuizError("--csv-format, --roster and --assignment shape --csv; add --csv FILE")
        return None
    roster = read_roster(args.roster) if args.roster else None
    fmt = CSV_FORMATS[args.csv_format]
    lms = fmt.render(book, roster, args.assignment or book.bank.title)
    for s in lms.not_in_roster:
        print(
            f"simlib: {s} was graded but is not in {args.roster}; left out of {args.csv}",
            file=sys.stderr,
        )
    for s in lms.no_submission:
        print(
            f"simlib: {s} is in {args.roster} but has no submission; grade left empty",
            file=sys.stderr,
        )
    return lms


def run_check(args) -> int:
    from simlib.quiz import bank_names, deck_names, load_bank, load_deck
    from simlib.quiz.variants import make_variant

    names = [args.bank] if args.bank else bank_names(args.bank_dir, required=True)
    rows, failures = [], []
    for name in names:
        bank = load_bank(name, bank_dir=args.bank_dir)
        numeric = [i for i in bank.items if i.type == "numeric"]
        for item in numeric:
            for s in range(args.students):
                make_variant(item, f"check-{s}")
        figures, failed = _strategy_row(bank)
        failures += failed
        rows.append(
            {"bank": bank.topic, "items": len(bank.items), "numeric": len(numeric), **figures}
        )
    decks = (
        []
        if args.bank
        else [
            {"deck": d, "cards": len(load_deck(d, bank_dir=args.bank_dir).cards)}
            for d in deck_names(args.bank_dir)
        ]
    )
    result = {"banks": rows, "decks": decks, "ok": not failures, "failures": failures}

    def line(b) -> str:
        same, longest = b["same_letter"], b["longest_option"]
        return (
            f"{'ok' if b['ok'] else 'FAIL':<5}{b['bank']:<20} {b['items']} items "
            f"({b['numeric']} numeric); of {b['choice_points']:g} choice points, same letter "
            f"{same['letter']} {same['share']:.1%}, longest option {longest['share']:.1%}"
        )

    emit(
        result,
        args.json,
        lambda r: "\n".join(
            [line(b) for b in r["banks"]]
            + [f"ok   deck {d['deck']:<15} {d['cards']} cards" for d in r["decks"]]
        ),
    )
    for failure in failures:
        print(f"simlib: quiz check failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def run_key(args) -> int:
    from simlib.quiz import load_bank
    from simlib.quiz.key import answer_key, check_student, write_key
    from simlib.quiz.roster import read_roster

    if args.out is None and args.pdf is None:
        from simlib.quiz.errors import RosterError

        raise RosterError("quiz key: give --out key.csv|key.json, --pdf FILE_OR_DIR, or both")
    bank = load_bank(args.bank, bank_dir=args.bank_dir)
    if args.roster is not None:
        students = read_roster(args.roster, args.column).students
    else:
        students = (check_student(args.student),)
    rows = answer_key(
        bank, students, course=args.course, attempt=args.attempt, items=_items(args.items)
    )
    _warn_public_course(args.course)
    path = write_key(bank, rows, args.out) if args.out is not None else None
    pdfs = []
    if args.pdf is not None:
        from simlib.quiz.printed import write_key_pdfs

        pdfs = [str(p) for p in write_key_pdfs(bank.topic, bank.title, rows, args.pdf)]
    result = {
        "bank": bank.topic,
        "students": len(students),
        "items": len(rows) // max(1, len(students)),
        "rows": len(rows),
        "out": str(path) if path else None,
        "pdf": pdfs,
    }
    wrote = [*([str(path)] if path else []), *pdfs[:2], *(["..."] if len(pdfs) > 2 else [])]
    emit(
        result,
        args.json,
        lambda r: (
            f"wrote {', '.join(wrote)}: the key to {r['bank']} for {r['students']} student(s), "
            f"{r['items']} items each; keep it with the teacher"
        ),
    )
    return 0


def run_cards_list(args) -> int:
    from simlib.quiz import ReviewState, deck_names, load_deck

    decks = [
        {"title": load_deck(n).title, **ReviewState(load_deck(n)).stats()}
        for n in deck_names(required=True)
    ]
    emit(
        {"decks": decks},
        args.json,
        lambda r: "\n".join(
            f"{d['deck']:<16} {d['cards']} cards: {d['new']} new, {d['due']} due, "
            f"next {d['next_due'] or '-'}"
            for d in r["decks"]
        ),
    )
    return 0


def run_cards_review(args) -> int:
    from simlib.quiz import ReviewState, load_deck, review_in_terminal

    state = ReviewState(load_deck(args.deck))
    stream = sys.stderr if args.json else sys.stdout
    stats = review_in_terminal(state, limit=args.limit, ask=_ask_on(stream), say=_say_to(stream))
    emit(
        {**stats, "state_file": str(state.path)},
        args.json,
        lambda r: (
            f"{r['reviewed_this_session']} reviewed; {r['due']} due, {r['new']} new; "
            f"next due {r['next_due'] or '-'}"
        ),
    )
    return 0


def run_cards_export(args) -> int:
    from simlib.quiz import export_anki, load_deck
    from simlib.quiz.bank import deck_file

    deck = load_deck(args.deck)
    path = export_anki(deck, args.anki, modified_s=deck_file(args.deck).stat().st_mtime)
    result = {"deck": deck.name, "cards": len(deck.cards), "out": str(path)}
    emit(result, args.json, lambda r: f"wrote {r['out']}: {r['cards']} cards from deck {r['deck']}")
    return 0
