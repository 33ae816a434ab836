"""The Anki export imported twice into a real collection with the ``anki`` package.

Export a deck with ``simlib cards export``, import it into a fresh collection, edit one card's
back in a copy of the deck file (newer mtime, same deck name and card ids), export and import
again: the collection's note has the new text, there is no duplicate, and Anki's own search
finds a word with an apostrophe (stored as ``'``, not ``&#x27;``).
"""

from __future__ import annotations

import os
from pathlib import Path

import anki.collection as anki_collection  # the test extra installs it (pip install anki)

from simlib.cli import main

DECK = """\
kind: deck
name: anki-roundtrip
title: "Anki round trip"
cards:
  - id: ring
    front: "How many steps does a ring all-reduce take on N workers?"
    back: "2(N - 1) steps: N - 1 to reduce-scatter, N - 1 to all-gather."
  - id: sync
    front: "Why synchronise workers?"
    back: "So that updates don't conflict & the model stays consistent."
"""


def _import(col, package: Path):
    from anki.import_export_pb2 import (
        ImportAnkiPackageOptions,
        ImportAnkiPackageRequest,
        ImportAnkiPackageUpdateCondition,
    )

    request = ImportAnkiPackageRequest(
        package_path=str(package),
        options=ImportAnkiPackageOptions(
            # Anki's default for notes it already has: update them when the incoming is newer
            update_notes=ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
            with_scheduling=False,
        ),
    )
    return col.import_anki_package(request).log


def _backs(col) -> dict[str, str]:
    return {col.get_note(n)["Front"]: col.get_note(n)["Back"] for n in col.find_notes("")}


def test_edited_deck_updates_the_collection_and_apostrophes_are_searchable(tmp_path, capsys):
    first = tmp_path / "cards_anki-roundtrip.yaml"
    first.write_text(DECK)
    os.utime(first, (1_700_000_000, 1_700_000_000))
    assert main(["cards", "export", str(first), "--anki", str(tmp_path / "v1.apkg")]) == 0

    col = anki_collection.Collection(str(tmp_path / "collection.anki2"))
    try:
        log = _import(col, tmp_path / "v1.apkg")
        assert len(log.new) == 2 and len(log.updated) == 0
        assert col.note_count() == 2
        backs = _backs(col)
        assert backs["Why synchronise workers?"] == (
            "So that updates don't conflict &amp; the model stays consistent."
        )

        # the teacher corrects one card in a copy of the deck; the copy is newer
        edited = tmp_path / "edited" / "cards_anki-roundtrip.yaml"
        edited.parent.mkdir()
        edited.write_text(DECK.replace("2(N - 1) steps", "2(N - 1) communication steps"))
        os.utime(edited, (1_700_000_600, 1_700_000_600))
        assert main(["cards", "export", str(edited), "--anki", str(tmp_path / "v2.apkg")]) == 0

        log = _import(col, tmp_path / "v2.apkg")
        assert col.note_count() == 2  # no duplicates
        assert len(log.new) == 0 and len(log.updated) >= 1
        backs = _backs(col)
        ring = "How many steps does a ring all-reduce take on N workers?"
        assert backs[ring] == "2(N - 1) communication steps: N - 1 to reduce-scatter, " + (
            "N - 1 to all-gather."
        )
        assert len(col.find_notes("communication")) == 1

        # Anki's search finds the apostrophe word in the stored field
        found = col.find_notes("don't")
        assert len(found) == 1
        assert col.get_note(found[0])["Front"] == "Why synchronise workers?"
        assert col.find_notes("don&#x27;t") == []
    finally:
        col.close()
    capsys.readouterr()


def test_an_unchanged_deck_reimports_as_a_no_op(tmp_path, capsys):
    deck = tmp_path / "cards_anki-roundtrip.yaml"
    deck.write_text(DECK)
    os.utime(deck, (1_700_000_000, 1_700_000_000))
    for name in ("a.apkg", "b.apkg"):
        assert main(["cards", "export", str(deck), "--anki", str(tmp_path / name)]) == 0
    col = anki_collection.Collection(str(tmp_path / "collection.anki2"))
    try:
        _import(col, tmp_path / "a.apkg")
        log = _import(col, tmp_path / "b.apkg")
        assert col.note_count() == 2
        assert len(log.new) == 0 and len(log.updated) == 0 and len(log.duplicate) == 2
    finally:
        col.close()
    capsys.readouterr()
