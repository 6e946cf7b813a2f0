"""Where the models of keys out of memory wait on the state volume (``STREAMAL_MAX_MODELS``).

A parked model is one file, written once under a new name and never
changed: the checkpoint names the files its learner's parked keys are in,
so a restart from any checkpoint finds its own. Files no checkpoint names
any more are swept after each checkpoint is saved (:meth:`DirectoryParking.sweep`).

>>> import tempfile
>>> parking = DirectoryParking(Path(tempfile.mkdtemp()))
>>> token = parking.park("dmz", b"model")
>>> parking.unpark(token)
b'model'
>>> parking.sweep(keep=set())
1
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from streamal.errors import CheckpointError

__all__ = ["PARKED_DIR", "DirectoryParking"]

#: The directory of the state volume the parked models are kept in.
PARKED_DIR = "parked-models"


class DirectoryParking:
    """Parked models as files in ``directory`` (made on first use)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def park(self, key: str, data: bytes) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{hashlib.sha256(key.encode()).hexdigest()[:16]}-{uuid.uuid4().hex[:12]}.pkl"
        tmp = self.directory / f"{name}.tmp"
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.directory / name)
        return name

    def unpark(self, token: str) -> bytes:
        # the file stays until a checkpoint no longer names it (:meth:`sweep`): the last one may still
        return self.read(token)

    def read(self, token: str) -> bytes:
        path = self.directory / Path(token).name
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"the parked model {path} cannot be read ({exc.strerror}); start afresh with "
                                  "`streamal run --reset-model` if the state volume lost it") from exc

    def sweep(self, keep: set[str]) -> int:
        """Delete the parked files not in ``keep`` (the ones the checkpoint just saved names); how many."""
        if not self.directory.is_dir():
            return 0
        gone = 0
        for path in self.directory.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)
                gone += 1
        return gone
