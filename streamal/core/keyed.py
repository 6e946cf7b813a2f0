"""A model per kind of event: one learner per value of a key field, created on first sight, bounded in number.

One deployment may serve events of several kinds (sensors, tenants, ticket
queues) whose patterns differ. With ``STREAMAL_MODEL_KEY`` naming a field
(``meta.sensor`` for a field of the event's ``meta``, or a feature's name),
each value of that field gets its own :class:`~streamal.core.learner.Learner`:
its own model, strategy state, drift monitors and budget (each key spends
the budget on its own events, so its share follows its traffic).

Bounds, so no stream of keys can exhaust memory or disk:

* ``max_models`` learners are kept in memory; past it the least recently used
  is *parked* (pickled to a :class:`~streamal.core.parking.Parking`, the state volume in the
  service) and loaded back when its key is seen again;
* ``max_keys`` keys get a model at all; an event of a new key beyond it, and
  an event without the key field, is scored by the **shared** model (this
  learner's own, which the keyed ones are kept beside), or, with
  ``key_overflow="deadletter"``, refused as :class:`~streamal.errors.InvalidEvent`
  (reason ``key_overflow``).

The model version stays one count for the deployment (labels learned by
every key), so snapshots, rollbacks and the journal keep one numbering.

>>> from streamal.core.config import LearnerConfig
>>> from streamal.core.domain import Event, Label
>>> learner = KeyedLearner(LearnerConfig(model="linear", model_key="meta.sensor", seed_size=1, audit_share=0.0))
>>> learner.score(Event("a1", {"x": 1.0}, meta={"sensor": "dmz"}), now=0.0).key
'dmz'
>>> learner.learn(Label("a1", "scan"), now=1.0).key
'dmz'
>>> learner.score(Event("b1", {"x": 1.0}, meta={"sensor": "lan"}), now=2.0).query.reason  # its own cold start
'seed'
>>> learner.model_version, sorted(learner.resident)
(1, ['dmz', 'lan'])
>>> learner.score(Event("c1", {"x": 1.0}), now=3.0).key      # no key: the shared model
''
"""

from __future__ import annotations

import math
import pickle
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.core.outcomes import ChallengerStats, Decision, LearnerStats, LearnResult
from streamal.core.parking import MemoryParking, Parking
from streamal.core.pending import PendingItem
from streamal.errors import InvalidEvent

__all__ = ["MAX_KEY_CHARS", "SHARED", "KeyedLearner", "key_of", "make_learner"]

#: The key of the shared model: events without the key field, and new keys beyond ``max_keys``.
SHARED = ""
#: A key value longer than this is cut (a key is a label of the metrics and a file name's part).
MAX_KEY_CHARS = 120


def key_of(field: str, features: Mapping[str, Any], meta: Mapping[str, Any] | None) -> str | None:
    """The key of an event: the value of ``field`` (``meta.NAME`` or a feature), or ``None`` if it has none.

    >>> key_of("meta.sensor", {"x": 1}, {"sensor": "dmz"}), key_of("proto", {"proto": "tcp"}, None)
    ('dmz', 'tcp')
    >>> key_of("meta.sensor", {"x": 1}, None) is None
    True
    """
    if field.startswith("meta."):
        value = (meta or {}).get(field[5:])
    else:
        value = features.get(field)
    if value is None or isinstance(value, dict | list) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    return text[:MAX_KEY_CHARS] or None


def make_learner(config: LearnerConfig) -> Learner:
    """A :class:`KeyedLearner` when ``config.model_key`` names a field, else a plain :class:`Learner`."""
    return KeyedLearner(config) if config.model_key else Learner(config)


def _challengers(each: list[ChallengerStats]) -> ChallengerStats | None:
    """The challengers of every model as one: accuracy and lead weighted by their labels."""
    if not each:
        return None
    counts = {name: sum(c.accuracy_labels[name] for c in each) for name in each[0].accuracy}
    accuracy = {name: sum(c.accuracy[name] * c.accuracy_labels[name] for c in each if c.accuracy_labels[name])
                / counts[name] if counts[name] else math.nan for name in counts}
    leads = [(c.lead, c.accuracy_labels["queried"]) for c in each if not math.isnan(c.lead)]
    weight = sum(n for _, n in leads)
    lead = sum(v * n for v, n in leads) / weight if weight else math.nan
    return replace(each[0], accuracy=accuracy, accuracy_labels=counts, lead=lead)


class KeyedLearner(Learner):
    """A learner per key beside a shared one (this object's own model); see the module's text."""

    def __init__(self, config: LearnerConfig, *, parking: Parking | None = None) -> None:
        if not config.model_key:
            raise ValueError("model_key: a keyed learner needs the field that names the key")
        super().__init__(config)
        self.resident: OrderedDict[str, Learner] = OrderedDict()  # least recently used first
        self.parked: dict[str, str] = {}  # key -> parking token
        self.parking: Parking = parking or MemoryParking()
        self.owner: OrderedDict[str, str] = OrderedDict()  # event id -> its key (labels carry only the id)
        self.overflowed = 0
        self.parks = 0
        self.classes_of_keys: list[str] = []  # the classes learned under any key (the shared model's: classes)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["timer"] = None
        return state

    # -- keys ----------------------------------------------------------------------------------

    @property
    def key_field(self) -> str:
        return self.config.model_key

    def keys(self) -> list[str]:
        """Every key with a model, in memory or parked."""
        return [*self.resident, *self.parked]

    def _sub_config(self) -> LearnerConfig:
        return replace(self.config, model_key="")

    def _sub(self, key: str | None, *, create: bool) -> Learner | None:
        """The learner of ``key``, made the most recent; ``None`` for the shared model (or a key not made)."""
        if key is None or key == SHARED:
            return None
        sub = self.resident.get(key)
        if sub is not None:
            self.resident.move_to_end(key)
            return sub
        if key in self.parked:
            sub = self._parked_learner(key, take=True)
            sub.reconfigure(self._sub_config())
        elif not create:
            return None
        elif len(self.resident) + len(self.parked) >= self.config.max_keys:
            self.overflowed += 1
            if self.config.key_overflow == "deadletter":
                raise InvalidEvent(f"key {key!r} of {self.key_field} would be model number "
                                   f"{self.config.max_keys + 1}, over STREAMAL_MAX_KEYS", "key_overflow")
            return None
        else:
            sub = Learner(self._sub_config())
        self.resident[key] = sub
        self._park_least_used()
        return sub

    def _park_least_used(self) -> None:
        """Past ``max_models`` in memory, park the least recently used."""
        while len(self.resident) > self.config.max_models:
            self._park(*self.resident.popitem(last=False))

    def _park(self, key: str, learner: Learner) -> None:
        self.parked[key] = self.parking.park(key, pickle.dumps(learner, protocol=pickle.HIGHEST_PROTOCOL))
        self.parks += 1

    def _parked_learner(self, key: str, *, take: bool) -> Learner:
        """The parked learner of ``key``: taken out of the parking (``take``), or a copy read from it."""
        token = self.parked.pop(key) if take else self.parked[key]
        sub = pickle.loads(self.parking.unpark(token) if take else self.parking.read(token))
        assert isinstance(sub, Learner)
        return sub

    def _learner_of(self, key: str | None, *, create: bool = True) -> Learner | None:
        """The learner of ``key`` for a label or a question read back (``None``: the shared model's).

        Unlike an event, a label is never refused: one for a key beyond ``max_keys`` goes to the shared model.
        """
        try:
            return self._sub(key, create=create)
        except InvalidEvent:
            return None

    def _owned(self, event_id: str, key: str) -> None:
        self.owner[event_id] = key
        self.owner.move_to_end(event_id)
        while len(self.owner) > 2 * self.config.max_pending:
            self.owner.popitem(last=False)

    def _key_for(self, event_id: str, features: Mapping[str, Any] | None, key: str | None = None,
                 meta: Mapping[str, Any] | None = None) -> str | None:
        if key is not None:
            return key
        if event_id in self.owner:
            return self.owner[event_id]
        return key_of(self.key_field, features, meta) if features is not None else None

    def _counted(self, sub: Learner, before: int, key: str) -> None:
        """Bring the deployment's version up by the labels ``sub`` learned, and its news of classes."""
        self.model_version += sub.model_version - before
        for name in sub.new_classes:
            self.new_classes.append(name)
        sub.new_classes.clear()
        for name in sub.classes:
            if name not in self.classes_of_keys:
                self.classes_of_keys.append(name)

    # -- scoring -------------------------------------------------------------------------------

    def score(self, event: Event, now: float) -> Decision:
        key = key_of(self.key_field, event.features, event.meta)
        sub = self._sub(key, create=True)
        if sub is None or key is None:
            decision = super().score(event, now)
            key = SHARED
        else:
            decision = sub.score(event, now)
            decision.model_version = self.model_version
        decision.key = key
        if decision.item is not None:
            decision.item.key = key
            decision.item.model_version = self.model_version
            self._owned(event.id, key)
        return decision

    def remember(self, item: PendingItem) -> bool:
        key = item.key if item.key is not None else key_of(self.key_field, item.features, item.meta)
        sub = self._learner_of(key)
        self._owned(item.event_id, key if sub is not None and key is not None else SHARED)
        return super().remember(item) if sub is None else sub.remember(item)

    def pending_item(self, event_id: str) -> PendingItem | None:
        sub = self._sub(self.owner.get(event_id), create=False)
        return super().pending_item(event_id) if sub is None else sub.pending_item(event_id)

    # -- learning ------------------------------------------------------------------------------

    def learn(self, label: Label, now: float) -> LearnResult:
        key = self._key_for(label.event_id, label.features, meta=label.meta)
        sub = self._learner_of(key, create=label.features is not None)
        if sub is None or key is None:
            result = super().learn(label, now)
            result.key = SHARED
            return result
        before = sub.model_version
        result = sub.learn(label, now)
        self._counted(sub, before, key)
        if result.outcome == "learned":
            self._owned(label.event_id, key)
        result.key = key
        return result

    def correct(self, event_id: str, features: Mapping[str, Any], label: str, *,
                key: str | None = None) -> LearnResult:
        key = self._key_for(event_id, features, key)
        sub = self._learner_of(key)
        if sub is None or key is None:
            result = super().correct(event_id, features, label)
            result.key = SHARED
            return result
        before = sub.model_version
        result = sub.correct(event_id, features, label)
        self._counted(sub, before, key)
        result.key = key
        return result

    def warm(self, pairs: Iterable[tuple[Mapping[str, Any], str]]) -> tuple[int, int]:
        """A labelled history: each example to its key's model (by a feature key), the rest to the shared one."""
        learned = refused = 0
        for x, y in pairs:
            key = key_of(self.key_field, x, None)
            sub = self._learner_of(key)
            if sub is None or key is None:
                done = super().warm([(x, y)])
            else:
                before = sub.model_version
                done = sub.warm([(x, y)])
                self._counted(sub, before, key)
            learned, refused = learned + done[0], refused + done[1]
        return learned, refused

    def forget(self, event_id: str) -> bool:
        sub = self._sub(self.owner.get(event_id), create=False)
        return super().forget(event_id) if sub is None else sub.forget(event_id)

    def withdraw(self, event_id: str) -> bool:
        sub = self._sub(self.owner.get(event_id), create=False)
        return super().withdraw(event_id) if sub is None else sub.withdraw(event_id)

    def worth_now(self, features: Mapping[str, Any], *, key: str | None = None) -> float:
        sub = self._sub(key, create=False)
        return super().worth_now(features) if sub is None else sub.worth_now(features)

    def admission_bar(self, *, key: str | None = None) -> float:
        sub = self._sub(key, create=False)
        return super().admission_bar() if sub is None else sub.admission_bar()

    def promote_challenger(self) -> None:
        """Every model's challenger serves from now on: the shared model's and every key's, parked ones too."""
        super().promote_challenger()
        for sub in self.resident.values():
            sub.promote_challenger()
        for key in list(self.parked):
            sub = self._parked_learner(key, take=True)
            sub.promote_challenger()
            self._park(key, sub)

    def reconfigure(self, config: LearnerConfig) -> None:
        super().reconfigure(config)
        for sub in self.resident.values():
            sub.reconfigure(self._sub_config())
        self._park_least_used()

    # -- state ---------------------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        return len(self.pending) + sum(len(sub.pending) for sub in self.resident.values())

    def key_stats(self) -> dict[str, LearnerStats]:
        """The figures of each key's model in memory (parked ones are not loaded for the metrics)."""
        return {key: sub.stats() for key, sub in self.resident.items()}

    def stats(self) -> LearnerStats:
        """The deployment's figures: the shared model's and every resident key's, added up."""
        own = super().stats()
        subs = [sub.stats() for sub in self.resident.values()]
        if not subs:
            return own
        everyone = [own, *subs]
        hits = {name: sum(s.accuracy[name] * s.accuracy_labels[name] for s in everyone if s.accuracy_labels[name])
                for name in own.accuracy}
        counts = {name: sum(s.accuracy_labels[name] for s in everyone) for name in own.accuracy}
        return replace(
            own, model_version=self.model_version, backlog=sum(s.backlog for s in everyone),
            evicted=sum(s.evicted for s in everyone),
            accuracy={name: hits[name] / counts[name] if counts[name] else math.nan for name in own.accuracy},
            accuracy_labels=counts, spent_run=sum(s.spent_run for s in everyone),
            spent_recent=sum(s.spent_recent for s in everyone),
            oldest_queried_at=min((s.oldest_queried_at for s in everyone if s.oldest_queried_at is not None),
                                  default=None),
            classes=len(set(self.classes) | set(self.classes_of_keys)),
            schema_mismatches=sum(s.schema_mismatches for s in everyone),
            challenger=_challengers([s.challenger for s in everyone if s.challenger is not None]))

    def model_parts(self) -> dict[str, Any]:
        """The shared model's parts and every key's (parked ones loaded for it), for a snapshot."""
        parts = super().model_parts()
        keys: dict[str, tuple[int, dict[str, Any]]] = {}
        for key, sub in self.resident.items():
            keys[key] = (sub.model_version, sub.model_parts())
        for key in self.parked:  # read where they are: they stay parked
            sub = self._parked_learner(key, take=False)
            keys[key] = (sub.model_version, sub.model_parts())
        parts["keys"] = keys
        return parts

    def restore_model_parts(self, parts: Mapping[str, Any], version: int) -> None:
        """Put a snapshot back: the shared model's and each key's; keys made after it start afresh."""
        super().restore_model_parts(parts, version)
        keys: Mapping[str, tuple[int, dict[str, Any]]] = parts.get("keys", {})
        fresh = pickle.dumps(Learner(self._sub_config()).model_parts(), protocol=pickle.HIGHEST_PROTOCOL)
        for key in [*self.resident, *self.parked]:
            sub = self._sub(key, create=False)
            assert sub is not None
            if key in keys:
                sub.restore_model_parts(keys[key][1], keys[key][0])
            else:  # each its own copy of a fresh model
                sub.restore_model_parts(pickle.loads(fresh), 0)
        for key, (sub_version, sub_parts) in keys.items():
            if key not in self.resident and key not in self.parked:
                sub = self._sub(key, create=True)
                if sub is not None:
                    sub.restore_model_parts(sub_parts, sub_version)
        self.model_version = version
