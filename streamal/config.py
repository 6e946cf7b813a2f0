"""Settings: environment variables with the prefix ``STREAMAL_``, each also a flag.

Built once at start (:func:`load_settings`) and passed down; nothing reads the
environment anywhere else. A bad value fails at start with one line naming the
setting, as a :class:`~streamal.errors.ConfigError`:

>>> load_settings({"budget": "2"})
Traceback (most recent call last):
...
streamal.errors.ConfigError: STREAMAL_BUDGET: must be in (0, 1], got 2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_type_hints

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamal.core.config import LearnerConfig, out_of_range, settings_table
from streamal.core.names import ModelName, StrategyName, model_name, strategy_name
from streamal.crashes import CrashPoints
from streamal.errors import ConfigError
from streamal.tokens import TokenBook, digest, parse_tokens

__all__ = ["KafkaSettings", "Settings", "TokenBook", "default", "digest", "load_kafka_settings", "load_settings",
           "parse_tokens"]

ENV_PREFIX = "STREAMAL_"
_S = TypeVar("_S", bound="KafkaSettings")


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _secret_or_file(v: object) -> object:
    """``@/path`` reads a secret from a file (a mounted secret), without its final newline."""
    if isinstance(v, str) and v.startswith("@"):
        path = Path(v[1:])
        try:
            return path.read_text().rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    return v


class KafkaSettings(BaseSettings):
    """How to reach Kafka: the part of the settings every command that talks to Kafka shares.

    ``replay``, ``oracle`` and ``demo`` read these from the same ``STREAMAL_KAFKA_*``
    variables as the service, so one environment serves them all. TLS and SASL
    settings must match the protocol; a mismatch fails at start:

    >>> load_kafka_settings({"kafka_sasl_username": "svc", "kafka_sasl_password": "pw"})
    Traceback (most recent call last):
    ...
    streamal.errors.ConfigError: STREAMAL_KAFKA_SASL_USERNAME is set but STREAMAL_KAFKA_SECURITY_PROTOCOL is \
PLAINTEXT: set it to SASL_PLAINTEXT or SASL_SSL
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    kafka_bootstrap: str = Field("localhost:9092", description="Kafka bootstrap servers, comma-separated.")
    kafka_connect_timeout: float = Field(
        10.0, gt=0, le=600, description="Seconds to reach Kafka at start before giving up.")
    kafka_client: Literal["auto", "kafka-python", "confluent"] = Field(
        "auto", description="Kafka client: auto (confluent when installed, else kafka-python), kafka-python (pure "
                            "Python, always installed) or confluent (librdkafka, the 'fast' extra: several times "
                            "the throughput; the Docker image has it).")
    kafka_security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS).")
    kafka_ssl_cafile: Path | None = Field(
        None, description="PEM file of the CA(s) that signed the brokers' certificates (default: the system's).")
    kafka_ssl_certfile: Path | None = Field(
        None, description="PEM file of streamal's client certificate (mutual TLS); may hold the key too.")
    kafka_ssl_keyfile: Path | None = Field(None, description="PEM file of the client certificate's private key.")
    kafka_ssl_key_password: SecretStr | None = Field(
        None, description="Password of the private key, or '@/path/to/file'.")
    kafka_ssl_check_hostname: bool = Field(
        True, description="Check that the broker's certificate names the host connected to.")
    kafka_sasl_mechanism: SaslMechanism = Field(
        "PLAIN", description="SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.")
    kafka_sasl_username: str = Field("", description="SASL user name.")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password, or '@/path/to/file' (a mounted secret).")

    @field_validator("kafka_client")
    @classmethod
    def _client_installed(cls, v: str) -> str:
        if v == "confluent":
            import importlib.util

            if importlib.util.find_spec("confluent_kafka") is None:
                raise ValueError("confluent needs confluent-kafka: pip install 'streamal[fast]'")
        return v

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("kafka_sasl_password", "kafka_ssl_key_password", mode="before")
    @classmethod
    def _from_file(cls, v: object) -> object:
        return _secret_or_file(v)

    @field_validator("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    @classmethod
    def _readable(cls, v: Path | None) -> Path | None:
        if v is not None:
            try:
                v.open("rb").close()
            except OSError as exc:
                raise ValueError(f"cannot read {v}: {exc.strerror}") from None
        return v

    @model_validator(mode="after")
    def _security_fits_protocol(self) -> KafkaSettings:
        protocol = self.kafka_security_protocol
        tls = protocol in ("SSL", "SASL_SSL")
        sasl = protocol.startswith("SASL_")
        for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile", "kafka_ssl_key_password"):
            if getattr(self, name) is not None and not tls:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} is set but {ENV_PREFIX}KAFKA_SECURITY_PROTOCOL "
                                 f"is {protocol}: set it to SSL or SASL_SSL")
        given = self.kafka_sasl_username or self.kafka_sasl_password.get_secret_value()
        if given and not sasl:
            which = "USERNAME" if self.kafka_sasl_username else "PASSWORD"
            raise ValueError(f"{ENV_PREFIX}KAFKA_SASL_{which} is set but {ENV_PREFIX}KAFKA_SECURITY_PROTOCOL "
                             f"is {protocol}: set it to SASL_PLAINTEXT or SASL_SSL")
        if sasl and not self.kafka_sasl_username:
            raise ValueError(f"{ENV_PREFIX}KAFKA_SASL_USERNAME: needed with "
                             f"{ENV_PREFIX}KAFKA_SECURITY_PROTOCOL={protocol}")
        if sasl and not self.kafka_sasl_password.get_secret_value():
            raise ValueError(f"{ENV_PREFIX}KAFKA_SASL_PASSWORD: needed with "
                             f"{ENV_PREFIX}KAFKA_SECURITY_PROTOCOL={protocol}")
        if self.kafka_ssl_keyfile is not None and self.kafka_ssl_certfile is None:
            raise ValueError(f"{ENV_PREFIX}KAFKA_SSL_KEYFILE is set without {ENV_PREFIX}KAFKA_SSL_CERTFILE")
        return self


_TABLE = dict(settings_table())


def _learning_fields() -> dict[str, Any]:
    """The learner's settings as pydantic fields, from :func:`streamal.core.config.settings_table`."""
    hints = get_type_hints(LearnerConfig)
    out: dict[str, Any] = {}
    for name, f in settings_table():  # the bounds are checked by Settings._learning_in_range, with the learner's words
        out[name] = (hints[f.name], Field(f.default, description=f.metadata["doc"]))
    return out


if TYPE_CHECKING:
    _WithLearning = KafkaSettings
else:
    _WithLearning = create_model("_WithLearning", __base__=KafkaSettings, **_learning_fields())


class Settings(_WithLearning):
    """Everything the service can be told. Defaults suit a single local broker."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Kafka (how to reach it: KafkaSettings)
    events_topic: str = Field("streamal.events", description="Topic the events are read from.")
    review_topic: str = Field("streamal.review", description="Topic review items are sent to.")
    labels_topic: str = Field("streamal.labels", description="Topic the analysts' labels come from.")
    predictions_topic: str = Field("streamal.predictions", description="Topic one prediction per event goes to.")
    deadletter_topic: str = Field("streamal.deadletter", description="Topic invalid events go to, with the reason.")
    publish_predictions: bool = Field(True, description="Publish a prediction for every scored event.")
    create_topics: bool = Field(True, description="Create missing topics at start (else fail).")
    topic_partitions: int = Field(1, ge=1, description="Partitions of topics streamal creates.")
    group_id: str = Field("streamal", description="Consumer group of the events consumer.")
    session_timeout_ms: int = Field(10_000, ge=1000, description="Kafka consumer-group session timeout.")
    group_instance_id: str = Field(
        "", max_length=249, description="Static group membership: a stable name for this replica (the pod's name in "
        "the StatefulSet), so a restart within the session timeout takes its partitions back without a rebalance "
        "of the group. Empty: a dynamic member.")

    # Learning: the fields of streamal.core.config.LearnerConfig (its table: names, defaults, bounds,
    # descriptions), added by _learning_fields() above; only what is not the learner's is declared here.
    seed_labels: Path | None = Field(
        None, description="A labelled history (CSV or JSONL) a fresh model learns before the stream (a warm start).")
    categorical: str = Field(
        "", description="Features that are categories even when numbers (ports, protocols), comma-separated.")

    # Review workflow
    review_tokens: str = Field(
        "", description="Review API bearer tokens: 'annotator:token,...' or '@/path/to/file' (one pair a line).")
    review_answers: int = Field(
        1, ge=1, le=9, description="Answers wanted per review item; the label learned is the agreed one.")
    review_claim_seconds: float = Field(300.0, gt=0, description="How long an analyst's claim on an item lasts.")
    review_expire_seconds: float = Field(
        0.0, ge=0, description="A question unanswered this long is withdrawn (its query refunded); 0: never.")
    review_undo_seconds: float = Field(
        30.0, ge=0, description="How long an answer may be undone; its label is learned after that.")
    review_labels: str = Field("", description="Labels analysts may give, comma-separated (empty: any).")
    review_guidelines: Path | None = Field(
        None, description="A Markdown file of labelling guidelines, shown on the review page.")

    # The model's life
    admin_tokens: str = Field(
        "", description="Admin API bearer tokens (`streamal model ...`): 'name:token,...' or '@/path/to/file'; "
                        "distinct from the review tokens. Empty: no admin API.")
    snapshot_every: int = Field(
        1000, ge=0, description="Labels learned between two snapshots of the model (0: only when asked).")
    snapshot_keep: int = Field(10, ge=1, le=1000, description="Snapshots kept on the state volume, the newest.")

    # Limits on input
    max_event_bytes: int = Field(1_048_576, ge=64, description="Largest event accepted, in bytes.")
    max_features: int = Field(1000, ge=1, description="Most features an event may have.")
    max_output_bytes: int = Field(
        1_000_000, ge=65_536, le=100_000_000,
        description="Largest message streamal sends (keep it under the broker's message.max.bytes).")

    # Service
    http_host: str = Field("0.0.0.0", description="Address the HTTP server listens on.")
    http_port: int = Field(8000, ge=0, le=65535, description="Port of /healthz, /readyz, /metrics.")
    http_max_body_bytes: int = Field(
        65_536, ge=1024, le=10_000_000, description="Largest request body the HTTP API reads (413 beyond it).")
    state_dir: Path = Field(Path("state"), description="Directory of the checkpoints.")
    checkpoint_interval: float = Field(30.0, gt=0, description="Seconds between checkpoints.")
    crash_at: str = Field(
        "", description="For crash tests only: kill the process (SIGKILL) at a named step, STEP or STEP:N "
                        "(handled, sent, flushed, committed, saving). Never set it in production.")
    log_level: str = Field("INFO", description="Logging level (DEBUG also shows the Kafka client's own logs).")
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text, or as JSON for log pipelines.")

    def learner_config(self) -> LearnerConfig:
        """The learner's part of the settings (each field from the setting of the same table row)."""
        values = {f.name: getattr(self, name) for name, f in settings_table()}
        categorical = tuple(sorted({c.strip() for c in self.categorical.split(",") if c.strip()}))
        return LearnerConfig(**values, categorical=categorical)

    @field_validator("seed_labels")
    @classmethod
    def _seed_labels_exist(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"no file {v}")
        return v

    @field_validator("review_guidelines")
    @classmethod
    def _guidelines_readable(cls, v: Path | None) -> Path | None:
        if v is not None:
            try:
                size = v.stat().st_size
                v.open("rb").close()
            except OSError as exc:
                raise ValueError(f"cannot read {v}: {exc.strerror}") from None
            if size > 1_000_000:
                raise ValueError(f"{v} is {size} bytes, over the limit of 1000000")
        return v

    @field_validator("crash_at")
    @classmethod
    def _crash_point_known(cls, v: str) -> str:
        CrashPoints.parse(v)
        return v

    @field_validator(*(name for name, _ in settings_table()))
    @classmethod
    def _learning_in_range(cls, v: Any, info: ValidationInfo) -> Any:
        problem = out_of_range(_TABLE[str(info.field_name)].metadata, v)
        if problem is not None:
            raise ValueError(problem)
        return v

    @field_validator("strategy", mode="before")
    @classmethod
    def _known_strategy(cls, v: object) -> StrategyName:
        return strategy_name(str(v))

    @field_validator("model", mode="before")
    @classmethod
    def _known_model(cls, v: object) -> ModelName:
        return model_name(str(v))

    @field_validator("challenger_model", mode="before")
    @classmethod
    def _known_challenger(cls, v: object) -> str:
        return model_name(str(v)) if str(v).strip() else ""

    @field_validator("review_tokens", "admin_tokens")
    @classmethod
    def _tokens_parse(cls, v: str) -> str:
        parse_tokens(v)
        return v

    @property
    def tokens(self) -> TokenBook:
        """The review API's bearer tokens (as digests) and their annotators."""
        return parse_tokens(self.review_tokens)

    @property
    def admin(self) -> TokenBook:
        """The admin API's bearer tokens (as digests) and whose they are."""
        return parse_tokens(self.admin_tokens)

    @model_validator(mode="after")
    def _admin_tokens_are_not_review_tokens(self) -> Settings:
        shared = self.admin.digests() & self.tokens.digests()
        if shared:
            raise ValueError(f"{ENV_PREFIX}ADMIN_TOKENS: a token is also a review token; give the admins their own")
        return self

    @property
    def allowed_labels(self) -> list[str]:
        """The labels analysts may give (empty: any)."""
        return [x.strip() for x in self.review_labels.split(",") if x.strip()]

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {v!r}")
        return v

    @model_validator(mode="after")
    def _strategy_fits_model(self) -> Settings:
        from streamal.core.models import make_model
        from streamal.core.strategies import make_strategy

        learner = self.learner_config()
        try:
            make_strategy(learner.strategy).check_model(make_model(learner.model))
        except ValueError as exc:
            raise ValueError(f"STREAMAL_STRATEGY: {exc}") from None
        return self

    @model_validator(mode="after")
    def _distinct_topics(self) -> Settings:
        names = [self.events_topic, self.review_topic, self.labels_topic,
                 self.predictions_topic, self.deadletter_topic]
        if len(set(names)) != len(names):
            raise ValueError("STREAMAL_*_TOPIC: the five topic names must differ")
        return self


def default(name: str) -> Any:
    """The default of setting ``name``: the one place defaults are written, for every command to read.

    >>> default("events_topic"), default("budget")
    ('streamal.events', 0.05)
    """
    return Settings.model_fields[name].default


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings from the environment, then ``overrides`` (flags) on top.

    Raises :class:`ConfigError` naming the first bad setting.
    """
    return _load(Settings, overrides)


def load_kafka_settings(overrides: Mapping[str, Any] | None = None) -> KafkaSettings:
    """Only how to reach Kafka (for the tools that talk to it), from the environment and ``overrides``."""
    return _load(KafkaSettings, overrides)


def _load(cls: type[_S], overrides: Mapping[str, Any] | None) -> _S:
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        return cls(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not err["loc"]:  # a check across settings names them itself
            raise ConfigError(msg) from None
        raise ConfigError(f"{ENV_PREFIX}{str(err['loc'][0]).upper()}: {msg}") from None
