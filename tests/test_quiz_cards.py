"""Flashcards: FSRS scheduling, state that survives a restart, damaged state, Anki export."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from simlib.files import WriteError
from simlib.quiz import QuizError, ReviewState, StateError, export_anki, load_deck, parse_rating
from simlib.quiz.storage import write_bytes_atomic

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_ratings():
    assert [int(parse_rating(r)) for r in (1, "2", "good", " Easy ")] == [1, 2, 3, 4]
    for bad in (0, 5, "meh", True, "", None):
        with pytest.raises(QuizError):
            parse_rating(bad)


def test_due_cards_new_then_scheduled(state_dir):
    deck = load_deck("basics")
    state = ReviewState(deck)
    assert state.path == state_dir / "cards_basics.json"
    assert [c.id for c in state.due(T0, new_limit=3)] == [c.id for c in deck.cards[:3]]
    first, second = deck.cards[0].id, deck.cards[1].id
    again = state.review(first, "again", T0)
    good = state.review(second, "easy", T0)
    assert again.due < good.due
    assert state.stats(T0)["new"] == len(deck.cards) - 2
    later = T0 + timedelta(minutes=5)
    due_now = state.due(later, new_limit=0)
    assert [c.id for c in due_now] == [first]
    assert state.stats(later)["due"] == 1


def test_state_survives_a_restart_in_another_process(state_dir):
    code = (
        "from datetime import datetime, timezone\n"
        "from simlib.quiz import ReviewState, load_deck\n"
        "s = ReviewState(load_deck('parallelism'))\n"
        "s.review('ring-bytes', 'good', datetime(2026, 1, 5, 9, tzinfo=timezone.utc))\n"
    )
    env = {"SIMLIB_STATE_DIR": str(state_dir), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    state = ReviewState(load_deck("parallelism"))
    memory = state.memory("ring-bytes")
    assert memory is not None and memory.last_review == T0
    assert "ring-bytes" not in [c.id for c in state.due(T0, new_limit=100)]


def test_same_reviews_same_schedule(tmp_path):
    deck = load_deck("basics")
    files = []
    for run in range(2):
        state = ReviewState(deck, tmp_path / f"s{run}.json")
        for k, card in enumerate(deck.cards[:4]):
            state.review(card.id, 1 + k % 4, T0 + timedelta(hours=k))
        files.append((tmp_path / f"s{run}.json").read_bytes())
    assert files[0] == files[1]
    assert not list(tmp_path.glob(".*.tmp"))


def test_damaged_state_is_a_state_error(state_dir):
    state_dir.mkdir(parents=True)
    path = state_dir / "cards_basics.json"
    for damaged in ("{not json", '{"cards": 3}', '{"cards": {"x": {"state": 99}}}'):
        path.write_text(damaged)
        with pytest.raises(StateError, match="delete"):
            ReviewState(load_deck("basics"))


def test_unknown_card_and_bad_folder(tmp_path):
    state = ReviewState(load_deck("basics"), tmp_path / "s.json")
    with pytest.raises(QuizError, match="no card 'zzz'"):
        state.review("zzz", 3, T0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match="cannot write .*inner.json: a part of the path is a file"):
        write_bytes_atomic(tmp_path / "file" / "inner.json", b"{}")


def test_anki_export_has_every_card_with_stable_ids(tmp_path):
    deck = load_deck("basics")
    guids = []
    for run in range(2):
        out = export_anki(deck, tmp_path / f"d{run}.apkg")
        with zipfile.ZipFile(out) as z:
            z.extract("collection.anki2", tmp_path / str(run))
        with sqlite3.connect(tmp_path / str(run) / "collection.anki2") as db:
            rows = db.execute("select guid, flds from notes order by guid").fetchall()
            decks = json.loads(db.execute("select decks from col").fetchone()[0])
        guids.append([g for g, _ in rows])
        assert len(rows) == len(deck.cards)
        assert any("simlib::" in d["name"] for d in decks.values())
    assert guids[0] == guids[1]
    fronts = {f.split("\x1f")[0] for _, f in rows}
    assert "What is distributed training?" in fronts


def _anki_notes(path, where):
    with zipfile.ZipFile(path) as z:
        z.extract("collection.anki2", where)
    with sqlite3.connect(where / "collection.anki2") as db:
        return db.execute("select guid, mod, flds from notes order by guid").fetchall()


def test_anki_edited_deck_is_newer_and_apostrophes_stay_searchable(tmp_path):
    from simlib.quiz import parse_deck

    text = (
        "kind: deck\nname: t\ntitle: T\ncards:\n"
        "  - id: one\n    front: \"Why don't we <sync>?\"\n    back: It's slower.\n"
    )
    old = _anki_notes(
        export_anki(parse_deck(text), tmp_path / "a.apkg", modified_s=1_700_000_000),
        tmp_path / "a",
    )
    edited = text.replace("slower", "much slower")
    new = _anki_notes(
        export_anki(parse_deck(edited), tmp_path / "b.apkg", modified_s=1_700_000_100),
        tmp_path / "b",
    )
    assert old[0][0] == new[0][0]  # same guid: Anki updates the note it has ...
    assert new[0][1] > old[0][1]  # ... because the edited one is newer
    front, back = new[0][2].split("\x1f")
    assert front == "Why don't we &lt;sync&gt;?" and back == "It's much slower."
