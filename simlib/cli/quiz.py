"""``simlib quiz ...`` and ``simlib cards ...``: quizzes and flashcards for the classroom.

- ``simlib quiz list [BANK]``: items with id, type, prompt and options.
- ``simlib quiz take BANK [--student ID]``: answer in the terminal, graded at once.
- ``simlib quiz paper BANK --student ID --out paper.json``: a student's variant, no answers.
- ``simlib quiz grade --bank BANK --submissions DIR --csv grades.csv --gradescope results.json``.
- ``simlib quiz check [BANK]``: validate banks and compute sample keys of every numeric item.
- ``simlib cards list``, ``simlib cards review DECK``,
  ``simlib cards export DECK --anki deck.apkg``.

Everything from :mod:`simlib.quiz` is imported inside the handlers, so ``simlib --help`` stays fast.
"""

from __future__ import annotations

import sys

from simlib.cli.arguments import bounded_int
from simlib.cli.output import add_json_flag, emit, positive_int
from simlib.limits import QUIZ_VARIANTS


def register(sub) -> None:
    _register_quiz(sub)
    _register_cards(sub)


def _variant_flags(p, student_required: bool = False) -> None:
    p.add_argument(
        "--student",
        required=student_required,
        default="guest",
        help="student id: seeds the numeric variants (default guest)",
    )
    p.add_argument(
        "--course", default="simlib", help="course name, part of the seed (default simlib)"
    )
    p.add_argument(
        "--attempt", type=int, default=0, help="attempt number, part of the seed (default 0)"
    )
    p.add_argument("--items", default=None, help="only these item ids, comma-separated")


def _register_quiz(sub) -> None:
    quiz = sub.add_parser("quiz", help="question banks: list, take, paper, grade, check")
    cmds = quiz.add_subparsers(dest="quiz_command", metavar="ACTION")
    cmds.required = True
    p = cmds.add_parser("list", help="list banks, or one bank's items (id, type, prompt, options)")
    p.add_argument("bank", nargs="?", help="bank topic or path (default: every bank)")
    add_json_flag(p)
    p.set_defaults(handler=run_list)
    p = cmds.add_parser("take", help="take a quiz in the terminal, graded as you go")
    p.add_argument("bank", help="bank topic or path")
    _variant_flags(p)
    add_json_flag(p)
    p.set_defaults(handler=run_take)
    p = cmds.add_parser(
        "paper", help="write a student's paper (questions and parameters, no answers)"
    )
    p.add_argument("bank", help="bank topic or path")
    _variant_flags(p, student_required=True)
    p.add_argument("--out", required=True, help="JSON file to write")
    add_json_flag(p)
    p.set_defaults(handler=run_paper)
    p = cmds.add_parser("grade", help="grade a folder of submissions into CSV and Gradescope JSON")
    p.add_argument("--bank", required=True, help="bank topic or path")
    p.add_argument("--submissions", required=True, help="folder of *.json submissions")
    p.add_argument("--csv", default=None, help="gradebook CSV to write")
    p.add_argument("--gradescope", default=None, help="Gradescope results JSON to write")
    p.add_argument(
        "--course", default="simlib", help="course name, part of the seed (default simlib)"
    )
    add_json_flag(p)
    p.set_defaults(handler=run_grade)
    p = cmds.add_parser("check", help="validate banks and compute sample keys of numeric items")
    p.add_argument("bank", nargs="?", help="bank topic or path (default: every bank and deck)")
    p.add_argument(
        "--students",
        type=bounded_int(QUIZ_VARIANTS),
        default=20,
        help="variants per numeric item (default 20)",
    )
    add_json_flag(p)
    p.set_defaults(handler=run_check)


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

    names = [args.bank] if args.bank else bank_names()
    banks = [load_bank(n) for n in names]
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
    """Like input(), but the prompt goes to ``stream`` (stderr with --json, keeping stdout JSON)."""

    def ask(prompt: str) -> str:
        stream.write(prompt)
        stream.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return ask


def run_take(args) -> int:
    from simlib.quiz import load_bank, take_in_terminal

    bank = load_bank(args.bank)
    stream = sys.stderr if args.json else sys.stdout
    graded = take_in_terminal(
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
        "student": graded.student,
        "score": graded.score,
        "max_score": graded.max_score,
        "items": [
            {"id": r.item_id, "score": r.score, "points": r.points, "correct": r.correct}
            for r in graded.items
        ],
    }
    if args.json:
        emit(result, True, str)
    return 0


def run_paper(args) -> int:
    from simlib.quiz import build_paper, load_bank
    from simlib.quiz.storage import write_json_atomic

    bank = load_bank(args.bank)
    paper = build_paper(
        bank, args.student, course=args.course, attempt=args.attempt, items=_items(args.items)
    )
    write_json_atomic(args.out, paper)
    result = {
        "bank": bank.topic,
        "student": args.student,
        "items": len(paper["items"]),
        "out": args.out,
    }
    emit(result, args.json, lambda r: f"wrote {r['out']}: {r['items']} items for {r['student']}")
    return 0


def run_grade(args) -> int:
    from simlib.quiz import grade_class, load_bank, load_submissions, write_csv, write_gradescope

    bank = load_bank(args.bank)
    good, rejected = load_submissions(args.submissions)
    book = grade_class(bank, good, rejected, course=args.course)
    if args.csv:
        write_csv(book, args.csv)
    if args.gradescope:
        write_gradescope(book, args.gradescope)
    result = {**book.summary(), "csv": args.csv, "gradescope": args.gradescope}
    for r in book.rejected:
        print(f"simlib: skipped {r.reason}", file=sys.stderr)

    def text(r):
        mean = "-" if r["mean_score"] is None else f"{r['mean_score']:.3g}"
        return (
            f"graded {r['graded']} submission(s) of {r['bank']}, mean {mean} of "
            f"{r['max_score']:g}; skipped {len(r['rejected'])}"
        )

    emit(result, args.json, text)
    return 0


def run_check(args) -> int:
    from simlib.quiz import bank_names, deck_names, load_bank, load_deck
    from simlib.quiz.variants import make_variant

    names = [args.bank] if args.bank else bank_names()
    rows = []
    for name in names:
        bank = load_bank(name)
        numeric = [i for i in bank.items if i.type == "numeric"]
        for item in numeric:
            for s in range(args.students):
                make_variant(item, f"check-{s}")
        rows.append({"bank": bank.topic, "items": len(bank.items), "numeric": len(numeric)})
    decks = (
        [] if args.bank else [{"deck": d, "cards": len(load_deck(d).cards)} for d in deck_names()]
    )
    result = {"banks": rows, "decks": decks, "ok": True}
    emit(
        result,
        args.json,
        lambda r: "\n".join(
            [f"ok  {b['bank']:<20} {b['items']} items ({b['numeric']} numeric)" for b in r["banks"]]
            + [f"ok  deck {d['deck']:<15} {d['cards']} cards" for d in r["decks"]]
        ),
    )
    return 0


def run_cards_list(args) -> int:
    from simlib.quiz import ReviewState, deck_names, load_deck

    decks = [
        {"title": load_deck(n).title, **ReviewState(load_deck(n)).stats()} for n in deck_names()
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

    deck = load_deck(args.deck)
    path = export_anki(deck, args.anki)
    result = {"deck": deck.name, "cards": len(deck.cards), "out": str(path)}
    emit(result, args.json, lambda r: f"wrote {r['out']}: {r['cards']} cards from deck {r['deck']}")
    return 0
