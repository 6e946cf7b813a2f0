"""Checkpoints: the learner, the review store and the side-topic positions, saved atomically.

One file, ``checkpoint.pkl``, in two parts:

* a **header**: a first line ``STREAMAL-CHECKPOINT <format>`` and a second line
  of JSON (streamal's version, when it was saved, the learner configuration
  that shaped it), readable without unpickling anything, so a restart can
  say what changed before it loads a model it could not continue;
* the **state**, pickled (the learner holds river models, which pickle).

A save goes to a temporary file, is flushed to disk, then renamed over the
old one, so a crash leaves either the old or the new checkpoint, never half
of one; temporary files left by a kill during a save are removed at the next
start. The directory is locked (``flock``) while a service uses it: two
replicas must not share one. The state directory is trusted (it holds a
pickle, like any river model saved to disk).

>>> import tempfile
>>> store = CheckpointStore(tempfile.mkdtemp())
>>> store.read_header() is None
True
>>> store.save({"learner": {"model": "hat"}}, {"positions": {"streamal.labels:0": 12}})
>>> store.read_header()["learner"]
{'model': 'hat'}
>>> store.load()["positions"]
{'streamal.labels:0': 12}
"""

from __future__ import annotations

import fcntl
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import orjson

from streamal.core.domain import Label
from streamal.crashes import NO_CRASHES, CrashPoints
from streamal.errors import CheckpointError
from streamal.wire.messages import parse_ts

__all__ = ["FORMAT", "CheckpointStore"]

FORMAT = 2
MAGIC = b"STREAMAL-CHECKPOINT"
_RESET_HINT = "start afresh with `streamal run --reset-model` (the labels topic is learned again)"


class CheckpointStore:
    """Saves and loads one state dictionary (and its header) under ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], crashes: CrashPoints = NO_CRASHES) -> None:
        self.directory = Path(directory)
        self.crashes = crashes
        self.path = self.directory / "checkpoint.pkl"
        self._lock: IO[bytes] | None = None

    # -- the directory ----------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the directory for this process; :class:`CheckpointError` if another one holds it."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fh = (self.directory / ".lock").open("a+b")
        except OSError as exc:
            raise CheckpointError(f"STREAMAL_STATE_DIR: cannot use {self.directory}: {exc.strerror}") from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise CheckpointError(
                f"STREAMAL_STATE_DIR: {self.directory} is in use by another streamal process; "
                "give each replica a state directory of its own"
            ) from None
        self._lock = fh

    def unlock(self) -> None:
        """Let the directory go (at the end of the process it goes anyway)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def clean_stale(self) -> list[Path]:
        """Remove temporary files a kill during a save left behind; returns them."""
        stale = sorted(self.directory.glob(".checkpoint-*.tmp")) if self.directory.exists() else []
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def move_aside(self) -> Path | None:
        """Keep the current checkpoint as ``checkpoint-<time>.replaced`` so a fresh start cannot read it."""
        if not self.path.exists():
            return None
        target = self.directory / f"checkpoint-{time.strftime('%Y%m%dT%H%M%S')}.replaced"
        os.replace(self.path, target)
        return target

    # -- save and load ----------------------------------------------------------------------------

    def save(self, header: dict[str, Any], state: dict[str, Any]) -> None:
        """Write ``header`` and ``state`` atomically; :class:`CheckpointError` if the directory is unusable."""
        head = orjson.dumps({"format": FORMAT, "saved_at": time.time(), **header})
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".checkpoint-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(MAGIC + b" %d\n" % FORMAT + head + b"\n")
                    pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
                    self.crashes.reached("saving")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            raise CheckpointError(f"cannot write checkpoint in {self.directory}: {exc}") from exc

    def _open_header(self) -> tuple[IO[bytes], dict[str, Any]] | None:
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint {self.path}: {exc.strerror}") from exc
        first = fh.readline(100)
        if not first.startswith(MAGIC + b" "):
            fh.close()
            raise CheckpointError(f"{self.path} was written by an older streamal (format 1); {_RESET_HINT}")
        try:
            fmt = int(first.split()[1])
            header = orjson.loads(fh.readline())
        except (ValueError, IndexError, orjson.JSONDecodeError) as exc:
            fh.close()
            raise CheckpointError(f"{self.path} has a damaged header ({exc}); {_RESET_HINT}") from exc
        if fmt != FORMAT:
            fh.close()
            raise CheckpointError(f"{self.path} is of format {fmt}, this streamal reads {FORMAT}; {_RESET_HINT}")
        return fh, header

    def read_header(self) -> dict[str, Any] | None:
        """The header of the saved checkpoint, or ``None`` when there is none yet."""
        opened = self._open_header()
        if opened is None:
            return None
        opened[0].close()
        return opened[1]

    def load(self) -> dict[str, Any] | None:
        """The saved state, or ``None`` when there is none yet."""
        opened = self._open_header()
        if opened is None:
            return None
        fh, _ = opened
        try:
            with fh:
                state = _Unpickler(fh).load()
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as exc:
            raise CheckpointError(f"cannot read checkpoint {self.path}: {exc}; {_RESET_HINT}") from exc
        if not isinstance(state, dict):
            raise CheckpointError(f"{self.path} does not hold a streamal state; {_RESET_HINT}")
        return state


class _LegacyLabel(Label):
    """A label waiting in a checkpoint of an earlier release (``streamal.wire.messages.Label``, ISO times)."""

    __slots__ = ()

    def __setstate__(self, state: object) -> None:
        values = state[1] if isinstance(state, tuple) and len(state) == 2 else state
        if not isinstance(values, dict):
            raise TypeError(f"cannot restore a label from {type(state).__name__}")
        at = values.get("labeled_at")
        for name, value in (("event_id", values["event_id"]), ("label", values["label"]),
                            ("annotator", values.get("annotator")), ("features", values.get("features")),
                            ("labeled_at", parse_ts(at) if isinstance(at, str) else at)):
            object.__setattr__(self, name, value)


class _Unpickler(pickle.Unpickler):
    """Reads checkpoints of earlier releases too: a class that moved is found where it lives now."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("streamal.wire.messages", "Label"):
            return _LegacyLabel
        return super().find_class(module, name)
