"""The Kafka layer's and the pipelines' tests once more on other brokers: production's settings under test.

The suite runs on the embedded Tansu (memory engine), which refuses idempotent and transactional producers, so the
production path (``KAFKA_IDEMPOTENCE=true``, the default for a real Kafka; ``KAFKA_TRANSACTIONS=true``) would never
run. The modules in :data:`KAFKA_LAYER` run a second time against a broker that implements it (noida-db), sharing
the session's database; a module may add brokers of its own. The same modules are marked ``kafka_layer``, so
``pytest -m kafka_layer`` runs just them against a real cluster (docs/operations.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from tools import brokers
from tools.ports import free_port

DEFAULT = "embedded"  # the session's own infrastructure (tests/conftest.py: infra)
IDEMPOTENT = "noida"

# module (relative to the repository) or module::test -> the brokers it runs on besides the default
KAFKA_LAYER: dict[str, tuple[str, ...]] = {
    "tests/integration/test_consumer_partitions.py": (IDEMPOTENT,),
    "tests/integration/test_caught_up.py": (IDEMPOTENT, "tansu-s3"),
    "tests/integration/test_ledger_pipeline.py": (IDEMPOTENT,),
    "tests/integration/intake/test_intake_webhooks.py": (IDEMPOTENT,),
    # (its other test writes a 2 MB record, which a broker with Kafka's size limit refuses: Tansu's test only)
    "tests/security/test_poison_records.py::test_a_consumer_whose_loop_breaks_restarts_and_says_so_in_health":
        (IDEMPOTENT,),
}
# modules that need a broker's transactions: only those brokers, never the default
TRANSACTIONAL: dict[str, tuple[str, ...]] = {
    "tests/integration/test_transactions.py": (IDEMPOTENT,),
}


def embedded_infra() -> bool:
    """Only the embedded infrastructure has other brokers to try; a real cluster or containers are production's."""
    return not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URI")) and \
        os.environ.get("FRONTLINE_TEST_INFRA") != "containers"


def listed(module: str, test: str) -> str | None:
    """The key under which a test is listed (its module's or its own), if it is."""
    return next((k for k in (f"{module}::{test}", module) if k in KAFKA_LAYER or k in TRANSACTIONAL), None)


def kinds_for(module: str, test: str) -> list[str]:
    """The brokers a test runs on (``module`` relative to the repository root)."""
    key = listed(module, test)
    if key is None or not embedded_infra():
        return [DEFAULT]
    return list(TRANSACTIONAL[key]) if key in TRANSACTIONAL else [DEFAULT, *KAFKA_LAYER[key]]


class ExtraBrokers:
    """Starts each extra broker the first time a test asks for it; all stop at the end of the session."""

    def __init__(self) -> None:
        self.running: dict[str, brokers.Broker] = {}

    def env(self, kind: str) -> dict[str, str]:
        if kind not in self.running:
            self.running[kind] = brokers.start(kind, None, "127.0.0.1", free_port())
        broker = self.running[kind]
        # group timings as `make up` has them: noida, like Kafka, refuses a session timeout under 6 s
        return {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_IDEMPOTENCE": str(broker.idempotence).lower(),
                "KAFKA_TRANSACTIONS": str(broker.idempotence).lower(),
                "KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}

    def stop(self) -> None:
        for broker in self.running.values():
            broker.stop()
        self.running.clear()


def extra_brokers() -> Iterator[ExtraBrokers]:
    extra = ExtraBrokers()
    try:
        yield extra
    finally:
        extra.stop()
