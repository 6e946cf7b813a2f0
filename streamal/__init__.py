"""streamal: streaming active learning for drift-prone data.

The public names load on first use (PEP 562), so ``import streamal.core.learner``
does not pull in pydantic, and ``import streamal`` costs next to nothing.
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = metadata.version("streamal")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "BrokerError": "streamal.errors",
    "CheckpointError": "streamal.errors",
    "ConfigError": "streamal.errors",
    "DataError": "streamal.errors",
    "Decision": "streamal.core.learner",
    "Event": "streamal.core.domain",
    "IncompatibleState": "streamal.errors",
    "InvalidEvent": "streamal.errors",
    "InvalidLabel": "streamal.errors",
    "InvalidMessage": "streamal.errors",
    "Label": "streamal.core.domain",
    "LearnResult": "streamal.core.learner",
    "Learner": "streamal.core.learner",
    "LearnerConfig": "streamal.core.config",
    "OutputTooLarge": "streamal.errors",
    "Query": "streamal.core.sampling",
    "Sampler": "streamal.core.sampling",
    "Settings": "streamal.config",
    "StreamalError": "streamal.errors",
    "load_settings": "streamal.config",
}

__all__ = [
    "BrokerError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "Decision",
    "Event",
    "IncompatibleState",
    "InvalidEvent",
    "InvalidLabel",
    "InvalidMessage",
    "Label",
    "LearnResult",
    "Learner",
    "LearnerConfig",
    "OutputTooLarge",
    "Query",
    "Sampler",
    "Settings",
    "StreamalError",
    "__version__",
    "load_settings",
]

if TYPE_CHECKING:
    from streamal.config import Settings, load_settings
    from streamal.core.config import LearnerConfig
    from streamal.core.domain import Event, Label
    from streamal.core.learner import Decision, Learner, LearnResult
    from streamal.core.sampling import Query, Sampler
    from streamal.errors import (
        BrokerError,
        CheckpointError,
        ConfigError,
        DataError,
        IncompatibleState,
        InvalidEvent,
        InvalidLabel,
        InvalidMessage,
        OutputTooLarge,
        StreamalError,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'streamal' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
