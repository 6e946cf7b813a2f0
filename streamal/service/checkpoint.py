"""Checkpoints: the learner and the consumer positions, saved atomically to the state directory.

One file, ``checkpoint.pkl``: written to a temporary file, flushed to disk,
then renamed over the old one, so a crash leaves either the old or the new
checkpoint, never half of one. The state directory is trusted (it holds a
pickle, like any river model saved to disk).

>>> import tempfile
>>> store = CheckpointStore(tempfile.mkdtemp())
>>> store.load() is None
True
>>> store.save({"positions": {"streamal.labels:0": 12}})
>>> store.load()["positions"]
{'streamal.labels:0': 12}
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from streamal.errors import CheckpointError

__all__ = ["CheckpointStore"]

FORMAT = 1


class CheckpointStore:
    """Saves and loads one state dictionary under ``directory``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "checkpoint.pkl"

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically; :class:`CheckpointError` if the directory is unusable."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".checkpoint-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump({"format": FORMAT, **state}, fh, protocol=pickle.HIGHEST_PROTOCOL)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            raise CheckpointError(f"cannot write checkpoint in {self.directory}: {exc}") from exc

    def load(self) -> dict[str, Any] | None:
        """The saved state, or ``None`` when there is none yet."""
        if not self.path.exists():
            return None
        try:
            with self.path.open("rb") as fh:
                state = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise CheckpointError(
                f"cannot read checkpoint {self.path}: {exc}; move it away to start afresh"
            ) from exc
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise CheckpointError(f"{self.path} is not a streamal checkpoint of format {FORMAT}")
        return state
