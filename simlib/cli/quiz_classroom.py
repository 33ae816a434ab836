"""``simlib quiz autograder``: the quiz commands that hand work to a class's own tools.

- ``simlib quiz autograder BANK --course SECRET --out autograder.zip``: the zip to upload to
  Gradescope as a programming assignment's autograder (see :mod:`simlib.quiz.autograder`).

Registered under ``simlib quiz`` by :mod:`simlib.cli.quiz`; imports simlib.quiz lazily.
"""

from __future__ import annotations

from simlib.cli.output import add_json_flag, emit

__all__ = ["FEEDBACK_CHOICES", "IDENTITY_CHOICES", "register"]

# simlib.quiz.autograder's vocabularies, spelt here so that `simlib --help` need not import the
# quiz package; tests/test_autograder.py holds them equal.
IDENTITY_CHOICES = ("email", "sid", "id")
FEEDBACK_CHOICES = ("hidden", "after_due_date", "after_published", "visible")


def register(cmds) -> None:
    """Add the classroom commands to the ``simlib quiz`` subparsers ``cmds``."""
    from simlib.cli.quiz import _attempt, _bank_dir_flag, _course_flag  # loaded: it calls us

    p = cmds.add_parser("autograder", help="write a Gradescope autograder zip for a bank")
    p.add_argument("bank", help="bank topic or path to its .yaml file")
    _course_flag(p, required=True)
    p.add_argument("--out", required=True, help="zip file to write (autograder.zip)")
    p.add_argument("--attempt", type=_attempt, default=0, help="attempt the papers were made for")
    p.add_argument("--items", default=None, help="only these item ids, comma-separated")
    p.add_argument(
        "--identity",
        choices=IDENTITY_CHOICES,
        default="email",
        help="Gradescope user field used as the student id on papers (default email)",
    )
    p.add_argument(
        "--feedback",
        choices=FEEDBACK_CHOICES,
        default="after_due_date",
        help="when students see scores and feedback (default after_due_date: no answer leaks "
        "to a resubmission before the deadline)",
    )
    _bank_dir_flag(p)
    add_json_flag(p)
    p.set_defaults(handler=run_autograder)


def run_autograder(args) -> int:
    from pathlib import Path

    from simlib.quiz.autograder import AutograderConfig, build_autograder
    from simlib.quiz.bank import bank_file
    from simlib.quiz.errors import QuizError

    path = bank_file(args.bank, bank_dir=args.bank_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuizError(f"{path}: cannot be read as UTF-8 text ({exc}); check the file") from None
    items = tuple(i.strip() for i in args.items.split(",") if i.strip()) if args.items else None
    config = AutograderConfig(
        course=args.course,
        attempt=args.attempt,
        items=items,
        identity=args.identity,
        visibility=args.feedback,
    )
    out = build_autograder(text, str(path), config, Path(args.out))
    result = {
        "bank": str(path),
        "out": str(out),
        "identity": args.identity,
        "feedback": args.feedback,
    }
    emit(result, args.json, lambda r: f"wrote {r['out']}: upload it as the autograder")
    return 0
