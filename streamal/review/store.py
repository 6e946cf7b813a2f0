"""The review store: open and answered review items, materialised from the review and labels topics.

The topics are the source of truth. The service feeds this store every review
item and every label message it reads (and the review API applies its own
answers as soon as Kafka has acknowledged them, so the page does not wait for
the round trip; the message coming back is recognised by its ``answer_id``).
The store is saved with the learner in the checkpoint, at the same topic
positions, so a restart or another replica arrives at the same state.

Claims are the one thing kept only in memory: they are short-lived locks
between analysts working on one replica, and expire by themselves.

>>> from streamal.core.pending import PendingItem
>>> store = ReviewStore(answers_wanted=2, clock=lambda: 100.0)
>>> store.add_item(PendingItem("e1", {"x": 1}, None, "ok", {"ok": 0.6, "bad": 0.4}, 0.4, "uncertainty", 7, 90.0))
True
>>> store.apply_answer("e1", "bad", "analyst-1", answer_id="a1")
True
>>> store.due(now=1000.0)                 # one answer of the two wanted
[]
>>> store.apply_answer("e1", "bad", "analyst-2", answer_id="a2")
True
>>> store.due(now=130.0)                  # agreed, but still within the undo window
[]
>>> store.due(now=161.0)
[('e1', 'bad', 100.0)]
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from streamal.core.pending import PendingItem
from streamal.review.claims import AnalystRules
from streamal.review.entries import Answer, ReviewConflict, ReviewEntry, UnknownItem, majority
from streamal.review.figures import agreement_kappa, summarize

__all__ = ["Answer", "ReviewConflict", "ReviewEntry", "ReviewStore", "UnknownItem"]

class ReviewStore(AnalystRules):
    """Review items by event id, with their answers, claims and agreement.

    Parameters
    ----------
    answers_wanted
        Answers an item needs before its label is agreed (the most frequent answer; ties go to the earliest).
    claim_seconds
        How long a claim holds before it is released by itself.
    undo_seconds
        How long an analyst may take back an answer.
    max_items
        Items kept; the oldest closed ones go first.
    max_closed
        Closed (answered or dropped) items kept, for "my answers", the export and
        changes of answer; the oldest go first, so memory stays flat however long
        the analysts keep up (the labels topic keeps every answer for good).
    """

    def __init__(self, answers_wanted: int = 1, claim_seconds: float = 300.0, undo_seconds: float = 60.0,
                 max_items: int = 100_000, clock: Callable[[], float] = time.time, max_closed: int = 10_000) -> None:
        self.answers_wanted = answers_wanted
        self.claim_seconds = claim_seconds
        self.undo_seconds = undo_seconds
        self.max_items = max_items
        self.max_closed = max_closed
        self._closed: deque[str] = deque()  # closed items' ids, in the order they closed
        self.clock = clock
        self._entries: OrderedDict[str, ReviewEntry] = OrderedDict()
        self._lock = threading.RLock()
        self.classes: list[str] = []  # the classes the model knows (from the items' probabilities)
        self._due: list[str] = []  # agreed items whose label has not gone to the learner yet
        self._inflight: set[tuple[str, str]] = set()  # (event_id, annotator): answers being published

    _STATE = ("answers_wanted", "claim_seconds", "undo_seconds", "max_items", "_entries", "classes", "_due",
              "_closed")

    def snapshot(self) -> bytes:
        """The store as bytes, taken whole under the lock (HTTP threads may be changing it)."""
        with self._lock:
            return pickle.dumps({k: getattr(self, k) for k in self._STATE}, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, data: bytes) -> None:
        """Replace the contents with a :meth:`snapshot`, in place; claims do not survive it.

        The settings given at construction (answers wanted, claim and undo
        times, size) win over those in the snapshot.
        """
        state = pickle.loads(data)  # noqa: S301 - our own checkpoint, in the trusted state directory
        with self._lock:
            self._entries = state["_entries"]
            self.classes = state["classes"]
            self._due = state["_due"]
            self._closed = state.get("_closed") or deque(k for k, e in self._entries.items() if not e.open)
            self._inflight = set()
            for entry in self._entries.values():
                entry.claimed_by, entry.claim_until = None, 0.0
            self._trim()

    # -- from the topics -----------------------------------------------------------------------

    def add_item(self, item: PendingItem) -> bool:
        """A review item was read from the review topic; ``False`` if it was known already."""
        with self._lock:
            if item.event_id in self._entries:
                return False
            self._entries[item.event_id] = ReviewEntry(item, self.clock())
            for c in item.proba:
                if c not in self.classes:
                    self.classes.append(c)
            self._trim()
            return True

    def _closing(self, event_id: str) -> None:
        """``event_id`` closed: past ``max_closed`` closed items, the oldest one still closed is let go."""
        self._closed.append(event_id)
        while len(self._closed) > self.max_closed:
            old = self._closed.popleft()
            entry = self._entries.get(old)
            if entry is not None and not entry.open and (entry.handed or entry.dropped):
                del self._entries[old]

    def _trim(self) -> None:
        while len(self._entries) > self.max_items:
            victim = next((k for k, e in self._entries.items() if not e.open), None)
            self._entries.pop(victim if victim is not None else next(iter(self._entries)))

    def reserve(self, event_id: str, annotator: str) -> ReviewEntry:
        """Hold ``event_id`` for one answer of ``annotator`` while it is published (atomic: a second one is refused).

        :class:`ReviewConflict` when the analyst may not answer now, or already has an answer on its way.
        """
        with self._lock:
            entry = self.check_answerable(event_id, annotator)
            if (event_id, annotator) in self._inflight:
                raise ReviewConflict(f"your answer to item {event_id!r} is already on its way")
            self._inflight.add((event_id, annotator))
            return entry

    def unreserve(self, event_id: str, annotator: str) -> None:
        """The reserved answer was not published after all."""
        with self._lock:
            self._inflight.discard((event_id, annotator))

    def record_local(self, event_id: str, label: str, annotator: str, *, answer_id: str, at: float,
                     comment: str | None = None) -> None:
        """An answer this replica published (and Kafka acknowledged): counted now, confirmed when read back."""
        with self._lock:
            self._inflight.discard((event_id, annotator))
            entry = self._entries.get(event_id)
            if entry is None or entry.dropped or any(a.answer_id == answer_id for a in entry.answers):
                return
            entry.answers.append(Answer(answer_id, annotator, label, at, tentative=True, comment=comment))
            self._answered(entry, annotator)

    def apply_answer(self, event_id: str, label: str, annotator: str, *, answer_id: str | None = None,
                     at: float | None = None, comment: str | None = None) -> bool:
        """A label message for ``event_id`` read from the labels topic; ``False`` if it does not count.

        The topic decides: the first answer of an annotator to an item, in topic
        order, is the one that counts (idempotent by ``answer_id``); a later one
        is a duplicate, and a tentative local answer it contradicts gives way to it.
        """
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is None or entry.dropped:
                return False
            same = next((a for a in entry.answers if answer_id is not None and a.answer_id == answer_id), None)
            if same is not None:
                same.tentative = False
                return True
            mine = [a for a in entry.live_answers() if a.annotator == annotator]
            if any(not a.tentative for a in mine):
                return False  # this analyst already answered this item, earlier in the topic
            for a in mine:  # a tentative answer the topic did not keep
                entry.answers.remove(a)
            answer = Answer(answer_id or f"{event_id}:{len(entry.answers)}", annotator, label,
                            self.clock() if at is None else at, comment=comment)
            entry.answers.append(answer)
            if mine and entry.agreed is not None and not entry.handed:
                entry.agreed, entry.closed_at = None, None  # agreed on what the topic replaced: agree again
            self._answered(entry, annotator)
            return True

    def _answered(self, entry: ReviewEntry, annotator: str) -> None:
        if entry.claimed_by == annotator:
            entry.claimed_by, entry.claim_until = None, 0.0
        self._settle(entry)

    def _settle(self, entry: ReviewEntry) -> None:
        live = entry.live_answers()
        if entry.agreed is None and len(live) >= self.answers_wanted:
            entry.agreed = majority(live)
            entry.closed_at = live[-1].at
            self._due.append(entry.item.event_id)
            self._closing(entry.item.event_id)

    def apply_retraction(self, event_id: str, answer_id: str) -> bool:
        """An answer was taken back: the item opens again unless its label already went to the learner."""
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is None:
                return False
            for a in entry.answers:
                if a.answer_id == answer_id and not a.retracted:
                    a.retracted = True
                    if entry.agreed is not None and len(entry.live_answers()) < self.answers_wanted:
                        entry.agreed, entry.closed_at, entry.handed = None, None, False
                    return True
            return False

    def record_correction(self, event_id: str, old_answer_id: str, answer: Answer) -> None:
        """A correction this replica published: shown now; what is learned waits for the labels topic."""
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is None or any(a.answer_id == answer.answer_id for a in entry.answers):
                return
            for a in entry.answers:
                if a.answer_id == old_answer_id:
                    a.retracted = True
            entry.answers.append(answer)

    def apply_correction(self, event_id: str, old_answer_id: str, answer: Answer) -> str | None:
        """A correction read from the labels topic; the label to learn now, if the item's agreed label changed.

        The old answer is replaced by the new one and the agreement counted
        again. If the old agreed label had already gone to the learner, the new
        one is returned to be learned as well (a model cannot unlearn; the
        correction outweighs the mistake as more labels come); if not, the
        item simply closes on the new agreement when its time comes.
        """
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is None or entry.dropped:
                return None
            known = next((a for a in entry.answers if a.answer_id == answer.answer_id), None)
            if known is not None and not known.tentative:
                return None  # read twice
            old = next((a for a in entry.answers if a.answer_id == old_answer_id), None)
            if old is None or old.annotator != answer.annotator:
                return None
            old.retracted = True
            if known is not None:
                known.tentative = False
            else:
                entry.answers.append(answer)
            live = entry.live_answers()
            if len(live) < self.answers_wanted:
                return None
            agreed = majority(live)
            changed = agreed != entry.agreed
            if entry.agreed is None:
                self._settle(entry)
                return None
            entry.agreed = agreed
            return agreed if changed and entry.handed else None

    def answers(self, *, annotator: str | None = None, limit: int | None = None) -> list[tuple[ReviewEntry, Answer]]:
        """Every answer kept (retracted ones too), newest first; only ``annotator``'s if given."""
        with self._lock:
            out = [(e, a) for e in self._entries.values() for a in e.answers
                   if annotator is None or a.annotator == annotator]
        out.sort(key=lambda ea: ea[1].at, reverse=True)
        return out[:limit] if limit is not None else out

    def apply_drop(self, event_id: str) -> None:
        """An analyst dropped the item: nobody is asked for it any more."""
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is not None:
                entry.dropped = True
                entry.closed_at = self.clock()
                self._closing(event_id)

    def apply_withdraw(self, event_id: str, why: str) -> bool:
        """The service took the question back (``why``): closed like a drop; ``False`` if it was not open."""
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is None or not entry.open:
                return False
            entry.dropped = True
            entry.withdrawn = why
            entry.claimed_by, entry.claim_until = None, 0.0
            entry.closed_at = self.clock()
            self._closing(event_id)
            return True

    def withdrawn_features(self, event_id: str) -> dict[str, Any] | None:
        """The features of a withdrawn item (an answer that comes anyway is still learned), else ``None``."""
        with self._lock:
            entry = self._entries.get(event_id)
            return dict(entry.item.features) if entry is not None and entry.withdrawn is not None else None

    def top_unanswered(self, reasons: frozenset[str], limit: int) -> list[ReviewEntry]:
        """The first ``limit`` open items of the queue with one of ``reasons``, unanswered and unclaimed.

        What the pool re-ranks: only the top of the queue is looked at again, not every item.
        """
        with self._lock:
            entries, _ = self.open_items(limit=len(self._entries) or 1)
            out = []
            for e in entries:
                if e.item.reason in reasons and not e.live_answers() and e.claimed_by is None:
                    out.append(e)
                    if len(out) >= limit:
                        break
            return out

    def set_utility(self, event_id: str, utility: float) -> None:
        """The question's worth to the model now (the queue is ordered by it)."""
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is not None:
                entry.utility = utility

    def due(self, now: float) -> list[tuple[str, str, float]]:
        """Agreed items whose undo window is over: ``(event_id, label, closed_at)``, each handed out once."""
        with self._lock:
            out, keep = [], []
            for event_id in self._due:
                entry = self._entries.get(event_id)
                if entry is None or entry.handed or entry.agreed is None or entry.closed_at is None:
                    continue
                if now - entry.closed_at < self.undo_seconds:
                    keep.append(event_id)
                    continue
                entry.handed = True
                out.append((event_id, entry.agreed, entry.closed_at))
            self._due = keep
            return out

    def mark_handed(self, event_id: str) -> None:
        """The learner got this item's label another way (a label message from outside the review API)."""
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is not None:
                entry.handed = True

    def features(self, event_id: str) -> dict[str, Any] | None:
        """The features of the item for ``event_id`` (``None`` if it is not kept)."""
        with self._lock:
            entry = self._entries.get(event_id)
            return dict(entry.item.features) if entry is not None else None

    def knows(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._entries

    # -- statistics ----------------------------------------------------------------------------

    def agreement_kappa(self) -> float | None:
        """Fleiss' kappa over the agreed items answered more than once (``None`` while there are none)."""
        with self._lock:
            return agreement_kappa(list(self._entries.values()))

    def stats(self) -> dict[str, Any]:
        """Open, answered, by reason, by annotator, median answer time, agreement."""
        with self._lock:
            return summarize(list(self._entries.values()))
