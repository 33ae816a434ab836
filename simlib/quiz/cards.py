"""Flashcards scheduled with FSRS (the ``fsrs`` package), with state that survives restarts.

Each card of a deck has an FSRS memory state (stability, difficulty, due date). Reviewing a
card with a rating (1 Again, 2 Hard, 3 Good, 4 Easy) moves its due date; cards never seen are
"new". The state of deck ``NAME`` is saved after every review to
``<state dir>/cards_NAME.json`` (see :func:`simlib.quiz.storage.state_dir`), atomically, so a
kernel restart or a crash mid-review loses nothing that was rated. Fuzzing is off, so the same
reviews at the same times give the same schedule.

Several sessions may review one deck at once (two terminals, a notebook and a terminal). Each
review is a read-modify-write done under the deck's file lock (:func:`simlib.files.locked`,
``cards_NAME.json.lock``): the state on disk is read again, the rating is applied to the
newest saved state of that card, and the file is written back. So every session's ratings
survive, and two sessions rating the same card apply both ratings, one after the other. Every
review is also appended to ``cards_NAME.log.jsonl`` (FSRS's review log, one JSON object per
line), which only grows.

Example:
    >>> from simlib.quiz.bank import load_deck
    >>> state = ReviewState(load_deck("basics"))
    >>> card = state.due()[0]
    >>> state.review(card.id, "good").due > state.now()  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import fsrs

from simlib.files import append_text, locked
from simlib.quiz.errors import QuizError, StateError
from simlib.quiz.schema import Card, Deck
from simlib.quiz.storage import read_json, state_dir, write_json_atomic

__all__ = ["RATINGS", "ReviewState", "parse_rating"]

RATINGS = {"again": 1, "hard": 2, "good": 3, "easy": 4}
STATE_VERSION = 1


def parse_rating(rating: int | str) -> fsrs.Rating:
    """``1``-``4`` or ``again``/``hard``/``good``/``easy`` (any case) as an FSRS rating."""
    value = RATINGS.get(rating.strip().lower()) if isinstance(rating, str) else rating
    if isinstance(rating, str) and value is None and rating.strip().isdigit():
        value = int(rating.strip())
    if value not in (1, 2, 3, 4) or isinstance(value, bool):
        raise QuizError(f"rating {rating!r} is not one of 1-4 or again, hard, good, easy")
    return fsrs.Rating(value)


def _card_number(deck: str, card: str) -> int:
    """A stable positive integer id for FSRS (hash of deck and card ids, never ``hash()``)."""
    digest = hashlib.sha256(f"{deck}\x1f{card}".encode()).digest()
    return int.from_bytes(digest[:6], "big") + 1


def _reviewed_at(card: fsrs.Card) -> datetime:
    return card.last_review or datetime.min.replace(tzinfo=UTC)


class ReviewState:
    """The FSRS state of one deck, loaded from and saved to a JSON file.

    Args:
        deck: the deck (see :func:`simlib.quiz.bank.load_deck`).
        path: the state file; default ``<state dir>/cards_<deck name>.json``.
    """

    def __init__(self, deck: Deck, path: str | Path | None = None):
        self.deck = deck
        self.path = Path(path) if path is not None else state_dir() / f"cards_{deck.name}.json"
        self.scheduler = fsrs.Scheduler(enable_fuzzing=False)
        self._state: dict[str, fsrs.Card] = self._load()
        self._reviews: int = 0

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def _load(self) -> dict[str, fsrs.Card]:
        try:
            data = read_json(self.path)
        except FileNotFoundError:
            return {}
        cards = data.get("cards") if isinstance(data, dict) else None
        if not isinstance(cards, dict):
            raise StateError(f"{self.path}: no 'cards' mapping; delete the file to start afresh")
        try:
            return {str(k): fsrs.Card.from_dict(v) for k, v in cards.items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateError(
                f"{self.path}: a card's state is damaged ({type(exc).__name__}: {exc}); delete "
                "the file to start afresh"
            ) from None

    @property
    def log_path(self) -> Path:
        """The append-only review log beside the state file (``cards_NAME.log.jsonl``)."""
        return self.path.with_name(self.path.name.removesuffix(".json") + ".log.jsonl")

    def _write(self) -> None:
        data = {
            "version": STATE_VERSION,
            "deck": self.deck.name,
            "cards": {k: v.to_dict() for k, v in sorted(self._state.items())},
        }
        write_json_atomic(self.path, data)

    def save(self) -> None:
        """Merge with what other sessions saved (per card, the later review wins), then write."""
        with locked(self.path):
            saved = self._load()
            for card_id, mine in self._state.items():
                theirs = saved.get(card_id)
                if theirs is None or _reviewed_at(mine) >= _reviewed_at(theirs):
                    saved[card_id] = mine
            self._state = saved
            self._write()

    def card(self, card_id: str) -> Card:
        """The deck's card with id ``card_id``."""
        for card in self.deck.cards:
            if card.id == card_id:
                return card
        raise QuizError(f"deck {self.deck.name!r} has no card {card_id!r}")

    def memory(self, card_id: str) -> fsrs.Card | None:
        """The FSRS state of a card, or None when it was never reviewed."""
        return self._state.get(card_id)

    def due(self, now: datetime | None = None, new_limit: int = 20) -> list[Card]:
        """Cards to review now: those due (earliest first), then up to ``new_limit`` new ones."""
        now = now or self.now()
        seen = [c for c in self.deck.cards if c.id in self._state]
        due = sorted(
            (c for c in seen if self._state[c.id].due <= now),
            key=lambda c: (self._state[c.id].due, c.id),
        )
        new = [c for c in self.deck.cards if c.id not in self._state][: max(0, new_limit)]
        return due + new

    def review(self, card_id: str, rating: int | str, now: datetime | None = None) -> fsrs.Card:
        """Record a review of ``card_id`` with ``rating``, save, and return the new FSRS state.

        Under the deck's lock: reload, apply the rating to the newest saved state of the card,
        write the state, append to the review log.
        """
        self.card(card_id)
        parsed, when = parse_rating(rating), now or self.now()
        with locked(self.path):
            self._state = self._load()  # with what other sessions rated meanwhile
            current = self._state.get(card_id) or fsrs.Card(
                card_id=_card_number(self.deck.name, card_id)
            )
            updated, log = self.scheduler.review_card(current, parsed, when)
            self._state[card_id] = updated
            self._write()
            entry = {"deck": self.deck.name, "card": card_id, **log.to_dict()}
            append_text(self.log_path, json.dumps(entry, sort_keys=True) + "\n")
        self._reviews += 1
        return updated

    def stats(self, now: datetime | None = None) -> dict:
        """How many cards are new, due now and scheduled later, and the next due time."""
        now = now or self.now()
        known = [self._state[c.id] for c in self.deck.cards if c.id in self._state]
        later = sorted(s.due for s in known if s.due > now)
        return {
            "deck": self.deck.name,
            "cards": len(self.deck.cards),
            "new": len(self.deck.cards) - len(known),
            "due": sum(1 for s in known if s.due <= now),
            "later": len(later),
            "next_due": later[0].isoformat() if later else None,
            "reviewed_this_session": self._reviews,
        }
