"""Label routing: where each review item and label read from the topics goes. No Kafka here.

Four kinds of label message (:mod:`streamal.wire.labels`), each with its own path:

* an **analyst's answer through the review API** (``source: review``, for an
  item the review store knows): recorded in the store; its label is learned
  once enough analysts agree and the undo window is over (:meth:`LabelRouter.tick`);
* a **retraction** (``retracts: <answer_id>``): the answer is undone in the store;
* a **correction** (``corrects: <answer_id>``, an answer changed after its undo
  window): the store counts the new answer instead, and if the item's agreed
  label changed after it was learned, the new one is learned too;
* an **external label** (from Kafka, an oracle, an event that came with its
  label): learned now, and its review item marked answered;
* a label for an event **not pending (yet)**: its review item may still be on
  its way, so it waits until the review topic has been read to its end and
  ``wait`` seconds have passed, then counts as ``unknown``.

>>> from streamal.core.config import LearnerConfig
>>> from streamal.core.learner import Learner
>>> from streamal.core.pending import PendingItem
>>> from streamal.review.store import Answer, ReviewStore
>>> router = LabelRouter(Learner(LearnerConfig(seed_size=1)), ReviewStore(clock=lambda: 0.0), wait=5.0)
>>> [r.outcome for r in router.label(ExternalLabel(Label("e1", "bad")), now=0.0)]  # nothing asked yet: it waits
[]
>>> router.add_item(PendingItem("e1", {"x": 1}, None, None, {}, 1.0, "seed", 0, 0.0))
True
>>> [r.outcome for r in router.tick(now=1.0, review_caught_up=True)]
['learned']
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from streamal.core.domain import Label
from streamal.core.learner import Learner, LearnResult
from streamal.core.pending import PendingItem
from streamal.review.store import Answer, ReviewStore
from streamal.service.versions import ModelVersions, UnknownVersion
from streamal.wire.labels import Control, Correction, ExternalLabel, LabelMessage, Retraction, ReviewAnswer

__all__ = ["LABEL_WAIT", "LabelRouter", "Waiting"]

logger = logging.getLogger(__name__)

#: Seconds a label for an event not (yet) pending waits for its review item, once the review topic is read.
LABEL_WAIT = 5.0


@dataclass(slots=True)
class Waiting:
    """A label whose review item has not been read yet, and since when it waits."""

    label: Label
    since: float


class LabelRouter:
    """Sends review items to the learner and the review store, and labels where they belong."""

    def __init__(self, learner: Learner, review: ReviewStore, *, wait: float = LABEL_WAIT,
                 waiting: Iterable[Waiting] = (), versions: ModelVersions | None = None) -> None:
        self.learner = learner
        self.review = review
        self.wait = wait
        self.waiting: deque[Waiting] = deque(waiting)
        self.versions = versions  # the journal of labels learned, snapshots, rollbacks (None: not kept)

    # -- the review topic -----------------------------------------------------------------------

    def add_item(self, item: PendingItem) -> bool:
        """A review item was read; ``False`` if it was known already (or its label learned).

        An item this replica queried itself is pending already: the review store
        keeps that same object, so each waiting item is held once.
        """
        item = self.learner.pending_item(item.event_id) or item
        added = self.learner.remember(item)
        return self.review.add_item(item) or added

    def drop(self, event_id: str) -> None:
        """An analyst dropped the item: nobody is asked for it, no label is waited for."""
        self.review.apply_drop(event_id)
        self.learner.forget(event_id)

    def withdrawn(self, event_id: str, why: str) -> None:
        """The service that asked took the question back (a replica's :class:`~streamal.service.pool.ReviewPool`)."""
        self.review.apply_withdraw(event_id, why)
        self.learner.forget(event_id)

    # -- the labels topic -----------------------------------------------------------------------

    def label(self, msg: LabelMessage, now: float) -> list[LearnResult]:
        """Route one label message; the outcomes of what was learned (empty while it waits)."""
        match msg:
            case Retraction(event_id=event_id, answer_id=answer_id):
                self.review.apply_retraction(event_id, answer_id)
                return []
            case Correction():
                return self._correct(msg)
            case ReviewAnswer(label=label) if self.review.knows(label.event_id):
                self.review.apply_answer(label.event_id, label.label, label.annotator or "unknown",
                                         answer_id=msg.answer_id, at=label.labeled_at, comment=msg.comment)
                return []
            case ReviewAnswer(label=label) | ExternalLabel(label=label):
                self.review.apply_answer(label.event_id, label.label, label.annotator or "unknown",
                                         at=label.labeled_at)
                self.review.mark_handed(label.event_id)
                return self._learn(label, now, since=now,
                                   answer_id=msg.answer_id if isinstance(msg, ReviewAnswer) else None)
            case Control():
                self._control(msg)
                return []

    def _control(self, msg: Control) -> None:
        """An operator's command, read at the same point of the labels topic by every replica."""
        if self.versions is None:
            logger.warning("control message %s id=%s ignored: model versions are not kept here", msg.action,
                           msg.control_id)
            return
        try:
            if msg.action == "snapshot":
                self.versions.snapshot(self.learner, why="asked", by=msg.by)
            elif msg.action == "rollback" and msg.version is not None:
                self.versions.rollback(self.learner, msg.version, replay_labels=msg.replay_labels, by=msg.by)
            elif msg.action == "promote":
                self.versions.promote(self.learner, by=msg.by)
            elif msg.action == "rebuild":
                done = self.versions.rebuild(self.learner, annotator=msg.annotator, since=msg.since,
                                             answers=frozenset(msg.answers), by=msg.by)
                if done.get("excluded"):
                    self.review.retract_answers(msg.annotator, msg.since, frozenset(msg.answers),
                                                why=f"left out of the model by a rebuild ({msg.by or 'admin'})")
        except UnknownVersion as exc:
            logger.error("control message %s id=%s not applied on this replica: %s", msg.action, msg.control_id,
                         exc)

    def _correct(self, msg: Correction) -> list[LearnResult]:
        label = msg.label
        at = label.labeled_at if label.labeled_at is not None else self.review.clock()
        answer = Answer(msg.answer_id or f"{label.event_id}:{msg.corrects}:c", label.annotator or "unknown",
                        label.label, at, comment=msg.comment, corrects=msg.corrects)
        relearn = self.review.apply_correction(label.event_id, msg.corrects, answer)
        if relearn is None:
            return []
        features = self.review.features(label.event_id)
        if features is None:
            return [LearnResult("unknown")]
        before = self.learner.model_version
        result = self.learner.correct(label.event_id, features, relearn)
        self._journal(replace(label, label=relearn), result, before, answer_id=msg.answer_id, kind="correction")
        return [result]

    def _journal(self, label: Label, result: LearnResult, before: int, *, answer_id: str | None = None,
                 kind: str = "label") -> None:
        if self.versions is None or result.outcome != "learned":
            return
        self.versions.learned(label, result, self.learner.model_version, answer_id=answer_id, kind=kind)
        self.versions.maybe_snapshot(self.learner, before)

    def tick(self, now: float, *, review_caught_up: bool) -> list[LearnResult]:
        """Retry the waiting labels, and learn the agreed answers whose undo window is over."""
        results: list[LearnResult] = []
        for _ in range(len(self.waiting)):
            w = self.waiting.popleft()
            results += self._learn(w.label, now, since=w.since, give_up=review_caught_up)
        for event_id, label, at in self.review.due(now):
            answers = self.review.entry(event_id).live_answers()
            who = ",".join(sorted({a.annotator for a in answers})) or "review"
            results += self._learn(Label(event_id, label, annotator=who, labeled_at=at), now,
                                   since=now, give_up=True, answer_id=",".join(a.answer_id for a in answers) or None)
        return results

    def _learn(self, label: Label, now: float, *, since: float, give_up: bool = False,
               answer_id: str | None = None) -> list[LearnResult]:
        before = self.learner.model_version
        result = self.learner.learn(label, now=now)
        if result.outcome == "unknown" and label.features is None:
            # an answer to a question withdrawn meanwhile (the analyst had it open): still a label, learned
            features = self.review.withdrawn_features(label.event_id)
            if features is not None:
                result = self.learner.learn(replace(label, features=features), now=now)
        if result.outcome == "unknown" and not (give_up and now - since >= self.wait):
            self.waiting.append(Waiting(label, since))
            return []
        self._journal(label, result, before, answer_id=answer_id)
        return [result]
