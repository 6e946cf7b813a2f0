"""The model's life on disk: named snapshots, the journal of every label learned, and rollbacks.

In the state directory, beside the checkpoint:

* ``snapshots/v<version>.pkl``: the model at that version
  (:class:`~streamal.core.versions.ModelState`), taken every
  ``STREAMAL_SNAPSHOT_EVERY`` labels (at the same versions on every replica:
  labels are learned in the one order of the labels topic) and when an
  operator asks (a control message: every replica at the same point); the
  newest ``STREAMAL_SNAPSHOT_KEEP`` are kept;
* ``journal.jsonl``: one line per label learned: the version it made, who
  answered, when, which item, which answer, its features (what a replay
  learns again), and one line per rollback and snapshot: the audit trail
  ``streamal model history`` prints. It keeps the labels learned since the
  oldest snapshot kept (what a rollback or a rebuild can use, so it stays
  bounded); the labels topic keeps every answer.

A rollback puts the snapshot's model back and, unless told not to, learns the
labels learned since again (each event once, with its answer as it stands
now: corrected answers replace the first ones). Without replay, those labels
leave the journal's lineage (kept as ``dropped`` in the rollback's line). The
journal is cut back to the checkpoint's version at start, so labels learned
again after a restart are not written twice.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streamal.core.domain import Label
from streamal.core.keyed import make_learner
from streamal.core.learner import Learner, LearnResult
from streamal.core.versions import ModelState, replay_order
from streamal.errors import StreamalError

__all__ = ["ModelVersions", "Snapshot", "UnknownVersion"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^v(\d+)\.pkl$")


class UnknownVersion(StreamalError):
    """No snapshot of that model version is kept here."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A kept model version: its number, when it was taken, why, and its file."""

    version: int
    taken_at: float
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "taken_at": self.taken_at, "bytes": self.path.stat().st_size}


class ModelVersions:
    """Snapshots and the journal of one replica's model (used on the loop's thread; listing from any)."""

    def __init__(self, directory: Path, *, every: int = 1000, keep: int = 10,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory) / "snapshots"
        self.journal_path = Path(directory) / "journal.jsonl"
        self.every = every
        self.keep = keep
        self.clock = clock
        #: An operator's command changed the model: the loop checkpoints at once, so a restart does not read
        #: the command again on top of a model that already took it.
        self.changed = False
        self.directory.mkdir(parents=True, exist_ok=True)

    def start_afresh(self) -> None:
        """A fresh model (no checkpoint, or ``--reset-model``): the old lineage's journal and snapshots go aside."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        if self.journal_path.exists():
            os.replace(self.journal_path, self.journal_path.with_name(f"journal-{stamp}.replaced"))
        if any(self.directory.iterdir()):
            os.replace(self.directory, self.directory.with_name(f"snapshots-{stamp}.replaced"))
            self.directory.mkdir(parents=True, exist_ok=True)

    # -- the journal ---------------------------------------------------------------------------

    def _append(self, record: dict[str, Any]) -> None:
        with self.journal_path.open("ab") as fh:
            fh.write(orjson.dumps(record) + b"\n")

    def entries(self) -> Iterator[dict[str, Any]]:
        """The journal's records, oldest first (a torn last line, from a kill, is skipped)."""
        try:
            fh = self.journal_path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            for line in fh:
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue

    def learned(self, label: Label, result: LearnResult, version: int, *, answer_id: str | None = None,
                kind: str = "label") -> None:
        """A label was learned (``version`` is the model version it made): journaled."""
        self._append({"v": version, "kind": kind, "event_id": label.event_id, "label": label.label,
                      "annotator": label.annotator, "at": label.labeled_at, "answer_id": answer_id,
                      "learned_at": self.clock(), "features": result.features,
                      **({"key": result.key} if result.key is not None else {})})

    def cut_back(self, version: int) -> int:
        """Drop the label records past ``version`` (learned after the checkpoint a restart resumes from)."""
        kept, dropped = [], 0
        for record in self.entries():
            if "control" not in record and int(record.get("v", 0)) > version:
                dropped += 1
            else:
                kept.append(record)
        if dropped:
            self._rewrite(kept)
        return dropped

    def _rewrite(self, records: list[dict[str, Any]]) -> None:
        tmp = self.journal_path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            for record in records:
                fh.write(orjson.dumps(record) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.journal_path)

    # -- snapshots -----------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        """The kept snapshots, oldest first."""
        out = []
        for path in self.directory.glob("v*.pkl"):
            match = _NAME.match(path.name)
            if match:
                out.append(Snapshot(int(match.group(1)), path.stat().st_mtime, path))
        return sorted(out, key=lambda s: s.version)

    def maybe_snapshot(self, learner: Learner, before: int) -> Snapshot | None:
        """A snapshot if the labels just learned (from version ``before``) crossed a multiple of ``every``."""
        if self.every <= 0 or learner.model_version // self.every == before // self.every:
            return None
        return self.snapshot(learner, why="every")

    def snapshot(self, learner: Learner, *, why: str, by: str | None = None) -> Snapshot:
        """Keep the model as it is now, named by its version (an existing one of that version is replaced)."""
        state = ModelState.capture(learner)
        path = self.directory / f"v{state.version}.pkl"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(state.data)
        os.replace(tmp, path)
        dropped = self.snapshots()[:-self.keep] if self.keep > 0 else []
        for old in dropped:
            old.path.unlink(missing_ok=True)
        if dropped:  # labels older than the oldest snapshot kept can no longer be rolled back to or rebuilt from
            oldest = self.snapshots()[0].version
            self._rewrite([r for r in self.entries() if "control" in r or int(r.get("v", 0)) > oldest])
        self._append({"control": "snapshot", "v": state.version, "why": why, "by": by, "at": self.clock()})
        logger.info("model snapshot version=%d why=%s", state.version, why)
        return Snapshot(state.version, self.clock(), path)

    def has(self, version: int) -> bool:
        return (self.directory / f"v{version}.pkl").exists()

    # -- rollback ------------------------------------------------------------------------------

    def rollback(self, learner: Learner, version: int, *, replay_labels: bool = True,
                 by: str | None = None) -> dict[str, Any]:
        """Put the model of ``version`` back; learn the labels since again unless ``replay_labels`` is false."""
        path = self.directory / f"v{version}.pkl"
        if not path.exists():
            raise UnknownVersion(f"no snapshot of model version {version} here; kept: "
                                 f"{', '.join(str(s.version) for s in self.snapshots()) or 'none'}")
        was = learner.model_version
        records = list(self.entries())
        ModelState(version, path.read_bytes()).restore(learner)
        after = [r for r in records if "control" not in r and int(r.get("v", 0)) > version]
        summary = self._go_on(learner, records, version, after if replay_labels else [], {
            "control": "rollback", "from": was, "to": version, "dropped": 0 if replay_labels else len(after),
            "by": by})
        replayed = summary["replayed"]
        logger.warning("model rolled back from version %d to %d, labels learned again=%d, dropped=%d, by=%s",
                       was, version, replayed, summary["dropped"], by)
        return summary

    def rebuild(self, learner: Learner, *, annotator: str | None = None, since: float | None = None,
                answers: frozenset[str] = frozenset(), by: str | None = None) -> dict[str, Any]:
        """Learn again, from the newest snapshot before the first label left out, every label but those left out.

        Left out: the labels of ``annotator`` (given at or after ``since``, if
        given) and the ``answers`` named. With no snapshot old enough, the
        rebuild starts from a fresh model (version 0), which needs the journal
        from the first label on.
        """
        records = list(self.entries())
        labels = [r for r in records if "control" not in r]

        def excluded(r: dict[str, Any]) -> bool:
            if answers & set(str(r.get("answer_id") or "").split(",")):
                return True
            if annotator is None or annotator not in str(r.get("annotator") or "").split(","):
                return False
            at = r.get("at")
            return since is None or (isinstance(at, int | float) and at >= since)

        out = [r for r in labels if excluded(r)]
        if not out:
            return {"control": "rebuild", "v": learner.model_version, "excluded": 0, "replayed": 0}
        first = min(int(r["v"]) for r in out)
        bases = [s for s in self.snapshots() if s.version < first]
        was = learner.model_version
        if bases:
            base = bases[-1].version
            ModelState(base, bases[-1].path.read_bytes()).restore(learner)
        elif labels and min(int(r["v"]) for r in labels) == 1:
            base = 0
            ModelState.capture(make_learner(learner.config)).restore(learner)
        else:
            raise UnknownVersion(f"no snapshot before version {first} and the journal does not reach back to the "
                                 "first label: a rebuild cannot start there")
        keep = [r for r in labels if int(r["v"]) > base and not excluded(r)]
        summary = self._go_on(learner, records, base, keep, {
            "control": "rebuild", "from": was, "base": base, "excluded": len(out), "annotator": annotator,
            "since": since, "answers": sorted(answers), "by": by})
        logger.warning("model rebuilt from version %d without %d labels (annotator=%s since=%s answers=%d): "
                       "version %d, by=%s", base, len(out), annotator, since, len(answers), learner.model_version, by)
        return summary

    def _go_on(self, learner: Learner, records: list[dict[str, Any]], base: int, replay: list[dict[str, Any]],
               summary: dict[str, Any]) -> dict[str, Any]:
        """After the model of ``base`` was put back: learn ``replay`` again, write the lineage that goes on from it.

        The journal keeps what came up to ``base`` and every command, then the
        labels learned again (numbered by the versions they make now) and the
        command's ``summary``; snapshots newer than ``base`` are deleted, as they
        name a model that no longer is. The summary, with ``v`` and ``replayed``.
        """
        kept = [r for r in records if "control" in r or int(r.get("v", 0)) <= base]
        replayed = 0
        for item in replay_order(replay, after=base):
            if learner.correct(item.event_id, item.features, item.label, key=item.key).outcome == "learned":
                replayed += 1
                kept.append({"v": learner.model_version, "kind": "replay", "event_id": item.event_id,
                             "label": item.label, "learned_at": self.clock(), "features": dict(item.features),
                             **({"key": item.key} if item.key is not None else {})})
        summary = {**summary, "v": learner.model_version, "replayed": replayed, "at": self.clock()}
        kept.append(summary)
        self._rewrite(kept)
        self.changed = True
        for newer in self.snapshots():
            if newer.version > base:
                newer.path.unlink(missing_ok=True)
        return summary

    def promote(self, learner: Learner, *, by: str | None = None) -> dict[str, Any]:
        """The challenger serves from now on (:func:`~streamal.core.challenger.promote`); journaled."""
        was = learner.config.model
        try:
            learner.promote_challenger()
        except ValueError as exc:
            raise UnknownVersion(str(exc)) from None
        record = {"control": "promote", "v": learner.model_version, "model": learner.config.model,
                  "challenger": was, "by": by, "at": self.clock()}
        self._append(record)
        self.changed = True
        logger.warning("challenger promoted: model=%s serves, challenger=%s, by=%s (set STREAMAL_MODEL=%s and "
                       "STREAMAL_CHALLENGER_MODEL=%s before the next restart)", learner.config.model, was, by,
                       learner.config.model, was)
        return record

    def history(self, limit: int = 200) -> list[dict[str, Any]]:
        """What changed the model, newest first: runs of labels learned, snapshots, rollbacks."""
        out: list[dict[str, Any]] = []
        run: dict[str, Any] | None = None
        for record in self.entries():
            if "control" in record:
                run = None
                out.append({k: v for k, v in record.items() if k != "features"})
                continue
            if run is None:
                run = {"kind": "labels", "from": record["v"], "to": record["v"], "labels": 0, "annotators": {}}
                out.append(run)
            run["to"] = record["v"]
            run["labels"] += 1
            who = str(record.get("annotator") or "unknown")
            run["annotators"][who] = run["annotators"].get(who, 0) + 1
        return out[::-1][:limit]
