"""The exceptions streamal raises, one hierarchy for the whole package.

::

    StreamalError                 anything streamal raises on purpose
    ├── ConfigError               a setting is wrong; names the setting
    ├── InvalidMessage            a message cannot be used as it is
    │   ├── InvalidEvent          ... an event (goes to the dead-letter topic)
    │   └── InvalidLabel          ... a label (counted and skipped)
    ├── OutputTooLarge            an output cannot be cut to fit the broker's limit
    ├── BrokerError               Kafka is unreachable or refused a request
    ├── CheckpointError           a checkpoint cannot be read or written
    │   └── IncompatibleState     ... it was made with settings that cannot go on
    └── DataError                 a data set or stream cannot be read

Third-party errors are wrapped at the boundary (``raise ... from exc``) so a
caller needs to catch only these.
"""

from __future__ import annotations

__all__ = [
    "BrokerError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "IncompatibleState",
    "InvalidEvent",
    "InvalidLabel",
    "InvalidMessage",
    "InvalidReviewItem",
    "OutputTooLarge",
    "StreamalError",
]


class StreamalError(Exception):
    """Base class of every error streamal raises on purpose."""


class ConfigError(StreamalError):
    """A setting is missing or wrong. The message names the setting."""


class InvalidMessage(StreamalError):
    """A message cannot be used; the message says why in one line.

    ``reason`` is a short code from a fixed set (:data:`INVALID_REASONS`) for
    the metrics: ``too_large``, ``not_json``, ``not_object``, ``bad_id``,
    ``bad_features``, ``bad_field``.
    """

    def __init__(self, message: str, reason: str = "bad_field") -> None:
        super().__init__(message)
        self.reason = reason


#: The reasons a message is refused, plus ``internal`` (scoring failed): the values of a metric label.
INVALID_REASONS = ("too_large", "not_json", "not_object", "bad_id", "bad_features", "bad_field", "key_overflow",
                   "internal")


class InvalidEvent(InvalidMessage):
    """An event is not valid JSON, has the wrong shape, or is over a limit."""


class InvalidLabel(InvalidMessage):
    """A label message is malformed (no event id, no label, wrong types)."""


class InvalidReviewItem(InvalidMessage):
    """A review-topic message is malformed (not an item, a drop or a withdrawal streamal can read)."""


class OutputTooLarge(StreamalError):
    """An output message cannot be made to fit the size bound (a bug: inputs are checked so it cannot happen)."""


class BrokerError(StreamalError):
    """Kafka could not be reached, or refused a request we cannot do without."""


class CheckpointError(StreamalError):
    """The state directory cannot be read or written."""


class IncompatibleState(CheckpointError):
    """The checkpoint was made with a model or strategy other than the settings': start afresh to change them."""


class DataError(StreamalError):
    """A data set, stream or ground-truth file cannot be read."""
