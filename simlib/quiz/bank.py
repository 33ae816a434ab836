"""Find, read and validate question banks and flashcard decks (YAML under ``quizzes/``).

YAML is read by the shared loader :mod:`simlib.yaml_files` (the safe loader, the C one when
present): nothing in a file is ever run as code. Files over ``MAX_FILE_BYTES``, aliases (which
can make a small file expand enormously), nesting deeper than ``MAX_DEPTH`` and keys repeated in
one mapping are refused, with the line. Every problem is a
:class:`~simlib.quiz.errors.BankError` whose one-line message names the file, the item id, the
field and the fix.

Banks are ``quizzes/<topic>.yaml``; decks are ``quizzes/cards_<name>.yaml``. A name or a path
may be given. A folder of your own (an exam bank kept out of the repository) is named by the
``bank_dir`` argument (``--bank-dir`` on the command line), else by ``$SIMLIB_QUIZ_DIR``; a folder
that does not exist is a :class:`~simlib.quiz.errors.BankError` naming it, never an empty list.

Example:
    >>> bank = load_bank("basics")
    >>> bank.topic
    'basics'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from simlib.quiz.errors import BankError
from simlib.quiz.schema import Bank, Deck
from simlib.yaml_files import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, parse_yaml, quote, shorten

__all__ = [
    "bank_names",
    "bank_file",
    "deck_file",
    "deck_names",
    "load_bank",
    "load_deck",
    "parse_bank",
    "parse_deck",
    "quiz_dir",
]

_CACHE: dict[tuple[str, str, int, int], Any] = {}
M = TypeVar("M", bound=BaseModel)


BankDir = str | os.PathLike | None


def quiz_dir(bank_dir: BankDir = None) -> Path:
    """The folder holding banks and decks.

    ``bank_dir`` (``--bank-dir``) when given, else ``$SIMLIB_QUIZ_DIR``; else the banks an
    installed wheel carries (``simlib/banks``); else the repository's ``quizzes/`` (a checkout
    or an editable install). A given folder that is not one raises :class:`BankError`.
    """
    if bank_dir is not None and os.fspath(bank_dir) != "":
        where, label = Path(os.fspath(bank_dir)).expanduser(), "--bank-dir"
    elif os.environ.get("SIMLIB_QUIZ_DIR"):
        where, label = Path(os.environ["SIMLIB_QUIZ_DIR"]).expanduser(), "SIMLIB_QUIZ_DIR"
    else:
        here = Path(__file__).resolve().parents[1]
        for candidate in (here / "banks", here.parent / "quizzes"):
            if candidate.is_dir():
                return candidate
        raise BankError(
            f"no quiz banks found: neither {here / 'banks'} nor {here.parent / 'quizzes'} "
            "exists; reinstall simlib-course or set SIMLIB_QUIZ_DIR to a folder of banks"
        )
    try:
        is_dir = where.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if not is_dir:
        raise BankError(
            f"{label} {os.fspath(where)!r} is not a folder; give the folder that holds the "
            "bank .yaml files"
        )
    return where


def _none_found(what: str, folder: Path) -> BankError:
    return BankError(
        f"no {what} found in {folder}; point --bank-dir or SIMLIB_QUIZ_DIR at a folder of banks "
        "(topic.yaml, cards_name.yaml) or reinstall simlib-course"
    )


def bank_names(bank_dir: BankDir = None, *, required: bool = False) -> list[str]:
    """Topics of the banks in :func:`quiz_dir`, sorted; ``required``: none is an error."""
    folder = quiz_dir(bank_dir)
    names = sorted(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("cards_"))
    if required and not names:
        raise _none_found("quiz banks", folder)
    return names


def deck_names(bank_dir: BankDir = None, *, required: bool = False) -> list[str]:
    """Names of the flashcard decks in :func:`quiz_dir`, sorted (without ``cards_``)."""
    folder = quiz_dir(bank_dir)
    names = sorted(p.stem[len("cards_") :] for p in folder.glob("cards_*.yaml"))
    if required and not names:
        raise _none_found("flashcard decks", folder)
    return names


def _path(name: str | os.PathLike, prefix: str, what: str, names, bank_dir: BankDir = None) -> Path:
    text = os.fspath(name)
    if text.endswith((".yaml", ".yml")) or os.sep in text or "/" in text:
        path = Path(text)
    else:
        path = quiz_dir(bank_dir) / f"{prefix}{text.removeprefix(prefix)}.yaml"
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a name the system refuses (too long, ...)
        found = False
    if not found:
        raise BankError(
            f"{what} {quote(text)} not found at {shorten(str(path))}; use one of "
            f"{names(bank_dir)} or a path to a .yaml file"
        )
    return path


def _read_yaml(text: str, source: str) -> Any:
    """The data of a bank or deck, read by the shared loader (:mod:`simlib.yaml_files`)."""
    data = parse_yaml(
        text, source, error=BankError, max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH,
        max_nodes=MAX_NODES,
    )  # fmt: skip
    if not isinstance(data, dict):
        raise BankError(
            f"{source}: the top level must be a mapping with fields such as topic, title, items"
        )
    return data


_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it or correct its spelling",
    "union_tag_not_found": "add type: single, multiple, numeric or concepts",
    "union_tag_invalid": "use type: single, multiple, numeric or concepts",
    "string_pattern_mismatch": (
        "use lower-case letters, digits, '-' and '_' (names: letters, digits, '_')"
    ),
    "literal_error": "use one of the values named",
}


def _where(loc: tuple, data: dict) -> tuple[str, tuple]:
    """('items', 3, 'numeric', 'params') -> ("item 'dp-x' (items[3])", ('params',))."""
    if len(loc) >= 2 and loc[0] in ("items", "cards") and isinstance(loc[1], int):
        raw = data.get(loc[0])
        entry = raw[loc[1]] if isinstance(raw, list) and loc[1] < len(raw) else None
        ident = entry.get("id") if isinstance(entry, dict) else None
        label = f"{loc[0][:-1]} {ident!r}" if isinstance(ident, str) else f"{loc[0][:-1]}"
        rest = loc[2:]
        if rest and rest[0] in ("single", "multiple", "numeric", "concepts"):
            rest = rest[1:]
        return f"{label} ({loc[0]}[{loc[1]}])", rest
    return "top level", loc


def describe_errors(exc: ValidationError, data: dict, source: str) -> str:
    """One line naming file, item id, field, problem and fix for each of the first errors."""
    lines = []
    errors = exc.errors(include_url=False)
    for error in errors[:3]:
        where, rest = _where(tuple(error["loc"]), data)
        field = ".".join(str(p) for p in rest) or "(whole entry)"
        message = str(error["msg"]).removeprefix("Value error, ")
        fix = _FIXES.get(error["type"], "")
        got = (
            ""
            if error["type"] in ("missing", "value_error")
            else f" (got {str(error.get('input'))[:60]!r})"
        )
        lines.append(f"{where} field {field}: {message}{got}" + (f"; fix: {fix}" if fix else ""))
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"{source}: " + " | ".join(lines) + more


def _validate(model: type[M], data: dict, source: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BankError(describe_errors(exc, data, source)) from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise BankError(f"{source}: cannot be validated ({exc}); check its structure") from None


def parse_bank(text: str, source: str = "<bank>") -> Bank:
    """Validate the YAML text of a bank; ``source`` names it in errors."""
    data = _read_yaml(text, source)
    if data.get("kind") == "deck":
        raise BankError(f"{source}: this is a flashcard deck (kind: deck); use `simlib cards`")
    return _validate(Bank, data, source)


def parse_deck(text: str, source: str = "<deck>") -> Deck:
    """Validate the YAML text of a flashcard deck; ``source`` names it in errors."""
    return _validate(Deck, _read_yaml(text, source), source)


def _load(path: Path, parse) -> Any:
    try:
        stat = path.stat()
        key = (parse.__name__, str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key in _CACHE:
            return _CACHE[key]
        if stat.st_size > MAX_FILE_BYTES:
            raise BankError(f"{path}: file is over {MAX_FILE_BYTES} bytes; split it")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BankError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise BankError(f"{path}: cannot be read ({exc.strerror}); check the path") from None
    _CACHE[key] = parse(text, str(path))
    return _CACHE[key]


def load_bank(name: str | os.PathLike, *, bank_dir: BankDir = None) -> Bank:
    """The bank named ``name`` (a topic under :func:`quiz_dir`, or a path), validated."""
    return _load(bank_file(name, bank_dir=bank_dir), parse_bank)


def bank_file(name: str | os.PathLike, *, bank_dir: BankDir = None) -> Path:
    """The file of the bank named ``name`` (a topic under :func:`quiz_dir`, or a path)."""
    return _path(name, "", "bank", bank_names, bank_dir)


def deck_file(name: str | os.PathLike, *, bank_dir: BankDir = None) -> Path:
    """The file of the flashcard deck named ``name`` (``cards_<name>.yaml`` or a path)."""
    return _path(name, "cards_", "deck", deck_names, bank_dir)


def load_deck(name: str | os.PathLike, *, bank_dir: BankDir = None) -> Deck:
    """The flashcard deck named ``name`` (``cards_<name>.yaml`` or a path), validated."""
    return _load(deck_file(name, bank_dir=bank_dir), parse_deck)
