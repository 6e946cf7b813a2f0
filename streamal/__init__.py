"""streamal: streaming active learning for drift-prone data."""

from __future__ import annotations

__version__ = "0.1.0"

from streamal.config import Settings, load_settings  # noqa: E402
from streamal.core.learner import Decision, Learner, LearnResult  # noqa: E402
from streamal.core.sampling import Query, Sampler  # noqa: E402
from streamal.errors import (  # noqa: E402
    BrokerError,
    CheckpointError,
    ConfigError,
    DataError,
    InvalidEvent,
    InvalidLabel,
    InvalidMessage,
    StreamalError,
)
from streamal.wire.messages import Event, Label  # noqa: E402

__all__ = [
    "BrokerError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "Decision",
    "Event",
    "InvalidEvent",
    "InvalidLabel",
    "InvalidMessage",
    "Label",
    "LearnResult",
    "Learner",
    "Query",
    "Sampler",
    "Settings",
    "StreamalError",
    "__version__",
    "load_settings",
]
