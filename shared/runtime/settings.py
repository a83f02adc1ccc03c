"""Settings shared by every service.

Connection settings use fixed, unprefixed names (``KAFKA_BOOTSTRAP_SERVERS``,
``MONGODB_URI``) so one ConfigMap serves every pod; each service subclasses
:class:`ServiceSettings` with its own ``env_prefix`` for the rest.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development signing key of the gateway's tokens: `frontline token`, a fresh `make up` and the console's development
# sign-in share it. Production sets GATEWAY_JWT_SECRET (or only trusts OIDC tokens through GATEWAY_JWKS_URL).
DEV_JWT_SECRET = "frontline-development-signing-key-change-me-in-production"


def env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTLINE_", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=env("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
        description="Kafka brokers, host:port[,host:port]")
    # Off for the embedded Tansu broker, which answers idempotent producers with UnknownError.
    kafka_idempotence: bool = Field(True, validation_alias=env("KAFKA_IDEMPOTENCE", "kafka_idempotence"))
    # Consume -> publish services (routing) publish and commit their offsets in one Kafka transaction, so a crash
    # between the two leaves nothing visible to read_committed readers. Needs a broker with transactions (Kafka,
    # noida-db; not Tansu); off, idempotent handlers still make redelivery harmless.
    kafka_transactions: bool = Field(False, validation_alias=env("KAFKA_TRANSACTIONS", "kafka_transactions"))
    kafka_security_protocol: str = Field(
        "PLAINTEXT", validation_alias=env("KAFKA_SECURITY_PROTOCOL", "kafka_security_protocol"),
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_mechanism: str | None = Field(None, validation_alias=env("KAFKA_SASL_MECHANISM"),
        description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with a SASL protocol)")
    kafka_sasl_username: str | None = Field(None, validation_alias=env("KAFKA_SASL_USERNAME"),
        description="SASL user name")
    kafka_sasl_password: str | None = Field(None, validation_alias=env("KAFKA_SASL_PASSWORD"),
        description="SASL password")
    # Group membership timing. The consumer's first join waits about half the session timeout on
    # Tansu, so the test fixtures shorten it; production keeps Kafka's usual values.
    kafka_session_timeout_ms: int = Field(
        10_000, validation_alias=env("KAFKA_SESSION_TIMEOUT_MS", "kafka_session_timeout_ms"))
    kafka_heartbeat_interval_ms: int = Field(
        3_000, validation_alias=env("KAFKA_HEARTBEAT_INTERVAL_MS", "kafka_heartbeat_interval_ms"),
        description="Consumer heartbeat interval (a third of the session timeout or less)")
    # How long the broker may hold a fetch when there is nothing new. Kafka answers as soon as a record
    # arrives, so its default (500) costs no latency there; the embedded Tansu broker holds every fetch
    # for up to this long (about 100 ms per hop at 500 on the 2-core machine), so the one-machine setup
    # wants it short (10). See docs/performance.md (routing latency).
    kafka_fetch_max_wait_ms: int = Field(
        500, validation_alias=env("KAFKA_FETCH_MAX_WAIT_MS", "kafka_fetch_max_wait_ms"))
    # The wait a consumer grows to within about two seconds of nothing arriving (shared/runtime/fetch_wait.py): an
    # idle desk then asks the broker once per this wait per consumer. On Tansu the first record after a quiet spell
    # may wait up to this long (measured p50 230-310 ms at 1000); Kafka answers it at once. At or below the wait
    # above: off.
    kafka_fetch_idle_wait_ms: int = Field(
        1000, ge=0, validation_alias=env("KAFKA_FETCH_IDLE_WAIT_MS", "kafka_fetch_idle_wait_ms"))
    # The wait it grows to after 30 s of nothing (an idle desk: a third of the fetches at 3000). On Tansu the first
    # record after such a spell may wait up to this long (measured p50 260 ms, p99 1,360 ms at 3000); Kafka answers
    # at once. At or below the idle wait: off.
    kafka_fetch_long_idle_wait_ms: int = Field(
        3000, ge=0, validation_alias=env("KAFKA_FETCH_LONG_IDLE_WAIT_MS", "kafka_fetch_long_idle_wait_ms"))
    mongodb_uri: str = Field("mongodb://127.0.0.1:27017", validation_alias=env("MONGODB_URI", "mongodb_uri"),
        description="MongoDB connection string")
    mongodb_db: str = Field("frontline", validation_alias=env("MONGODB_DB", "mongodb_db"),
        description="Database every service's collections live in")
    # Namespaces every topic name; lets tests and tenants share one cluster.
    topic_prefix: str = Field("", validation_alias=env("FRONTLINE_TOPIC_PREFIX", "topic_prefix"))
    # Our outbound Message-IDs are <ticket.{ticket_id}.{id}@{mail_domain}>: intake threads replies by them
    # and never opens a ticket for mail that carries one of our own ids.
    mail_domain: str = Field("frontline.local", validation_alias=env("FRONTLINE_MAIL_DOMAIN", "mail_domain"))
    log_level: str = Field("INFO", validation_alias=env("FRONTLINE_LOG_LEVEL", "log_level"),
        description="DEBUG, INFO, WARNING or ERROR")
    log_json: bool = Field(True, validation_alias=env("FRONTLINE_LOG_JSON", "log_json"),
        description="One JSON object per log line (false: plain text for reading in a terminal)")
    # OpenTelemetry spans across Kafka hops: off | otlp | console | memory (shared/runtime/tracing.py).
    tracing: Literal["off", "otlp", "console", "memory"] = Field(
        "off", validation_alias=env("FRONTLINE_TRACING", "tracing"))
    handler_retries: int = Field(3, validation_alias=env("FRONTLINE_HANDLER_RETRIES", "handler_retries"),
        description="Attempts at one record before it goes to the dead-letter topic")
    max_message_bytes: int = Field(
        1_000_000, validation_alias=env("FRONTLINE_MAX_MESSAGE_BYTES", "max_message_bytes"),
        description="Largest record produced or accepted; a bigger one is dead-lettered as a truncated copy")
    # "development" is the one-machine default (`make up`, tests): development keys are allowed there, and only
    # on a loopback bind. The container image and the manifests set "production", where every key and provider
    # must be configured explicitly or the service refuses to start (docs/security.md).
    environment: Literal["development", "production"] = Field(
        "development", validation_alias=env("FRONTLINE_ENVIRONMENT", "environment"))
    # The explicit "I know": development keys on a non-loopback bind (shared/runtime/secrets.py); no effect in
    # production.
    allow_dev_keys_on_network: bool = Field(
        False, validation_alias=env("FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK", "allow_dev_keys_on_network"))
    # Bearer token every internal HTTP API (notify's, the services' admin endpoints) demands of its callers.
    # Unset in development: those APIs then answer loopback callers only. Required in production.
    service_token: SecretStr | None = Field(None, validation_alias=env("FRONTLINE_SERVICE_TOKEN", "service_token"))
    # This service's own key for signing what it sends on tickets.commands (shared/runtime/command_auth.py); each
    # producer has its own. Development derives one per service; production requires it.
    command_key: SecretStr | None = Field(None, validation_alias=env("FRONTLINE_COMMAND_KEY", "command_key"))

    @property
    def production(self) -> bool:
        return self.environment == "production"


class ServiceSettings(CommonSettings):
    """Base for per-service settings; subclasses set ``env_prefix`` (e.g. ``TICKETS_``)."""

    # Loopback by default: the one-machine setup is never reachable from the network. The container image and
    # the manifests bind 0.0.0.0 explicitly.
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, description="Port of the service's HTTP API and health probes")
    # /metrics is served on a port of its own, which the Ingress never exposes; 0 means http_port + 1000.
    metrics_port: int = 0

    @property
    def metrics_bind_port(self) -> int:
        return self.metrics_port or self.http_port + 1000
