"""Export a flashcard deck to Anki (``.apkg``, via ``genanki``).

Model, deck and note ids come from SHA-256 hashes of the deck and card ids, so exporting again
updates the same notes in Anki instead of duplicating them. Anki replaces a note on import only
when the incoming note is newer, so the notes' modification time is the deck file's (the CLI
passes it): an edited deck reaches learners, an unchanged one exports byte for byte the same.
Fields are HTML, escaped without touching quotes, so Anki's search finds "don't". genanki
builds the package in a scratch folder; :func:`simlib.files.write_bytes` then puts it in place
atomically (a device, FIFO or folder at the path is refused, a symlink is written through).

Example:
    >>> from simlib.quiz.bank import load_deck
    >>> export_anki(load_deck("basics"), "basics.apkg")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import html
import os
import tempfile
import time
from pathlib import Path

from simlib.files import resolve_target, write_bytes
from simlib.quiz.errors import QuizError
from simlib.quiz.schema import Deck

__all__ = ["export_anki"]

_CSS = ".card { font-family: sans-serif; font-size: 20px; text-align: left; }"


def _stable_id(*parts: str) -> int:
    """An id in the range Anki expects (2**30 .. 2**31), stable across runs."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def _model(genanki):
    return genanki.Model(
        _stable_id("simlib", "model", "front-back"),
        "simlib front/back",
        fields=[{"name": "Front"}, {"name": "Back"}],
        templates=[
            {
                "name": "Card 1",
                "qfmt": "{{Front}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Back}}',
            }
        ],
        css=_CSS,
    )


def export_anki(deck: Deck, path: str | os.PathLike, *, modified_s: float | None = None) -> Path:
    """Write ``deck`` as an Anki package to ``path``; return the path.

    ``modified_s`` (Unix seconds) stamps every note; Anki updates a note it already has only
    when this is newer than its copy. Default: now.
    """
    import genanki

    model = _model(genanki)
    anki_deck = genanki.Deck(_stable_id("simlib", "deck", deck.name), f"simlib::{deck.title}")
    for card in deck.cards:
        note = genanki.Note(
            model=model,
            fields=[html.escape(card.front, quote=False), html.escape(card.back, quote=False)],
            tags=[t.replace(" ", "_") for t in card.tags],
            guid=genanki.guid_for("simlib", deck.name, card.id),
        )
        anki_deck.add_note(note)
    target = resolve_target(path)  # refused before any work if it is a folder or device
    try:
        stamp = time.time() if modified_s is None else float(modified_s)
        with tempfile.TemporaryDirectory(prefix="simlib-anki-") as scratch:
            built = Path(scratch) / "deck.apkg"
            genanki.Package(anki_deck).write_to_file(str(built), timestamp=stamp)
            data = built.read_bytes()
    except OSError as exc:
        raise QuizError(
            f"cannot build the Anki package in the temporary folder ({exc.strerror}); "
            "set TMPDIR to a writable folder"
        ) from None
    write_bytes(target.requested, data)
    return target.path
