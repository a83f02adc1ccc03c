"""One session-scoped infrastructure for the whole suite; every test gets its own namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.brokers import DEFAULT, ExtraBrokers, extra_brokers, kinds_for, listed
from tests.support.testing import infra_env, isolated_env, make_settings


@pytest.fixture(scope="session")
def infra() -> Iterator[dict[str, str]]:
    with infra_env() as env:
        yield env


@pytest.fixture(scope="session")
def other_brokers() -> Iterator[ExtraBrokers]:
    yield from extra_brokers()


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> str:
    """The broker a test runs on: the session's, or another for the Kafka layer's second run (support/brokers.py)."""
    return str(getattr(request, "param", DEFAULT))


@pytest.fixture
def env(infra: dict[str, str], broker: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Connection settings plus a per-test topic prefix and database."""
    other = {} if broker == DEFAULT else request.getfixturevalue("other_brokers").env(broker)
    return {**infra, **other, **isolated_env()}


@pytest_asyncio.fixture(loop_scope="session")
async def db(infra: dict[str, str]) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database of the test's own on the session's server, dropped after it."""
    settings = make_settings(CommonSettings, {**infra, **isolated_env()})
    client = mongo_client(settings)
    yield database(client, settings)
    await client.drop_database(settings.mongodb_db)
    await client.close()


def _module(config: pytest.Config, path: object) -> str:
    return str(path).removeprefix(str(config.rootpath) + "/")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kafka_layer: the Kafka layer's and pipelines' tests (also run on noida-db)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker" in metafunc.fixturenames:
        kinds = kinds_for(_module(metafunc.config, metafunc.definition.path), metafunc.definition.originalname)
        if kinds != [DEFAULT]:
            metafunc.parametrize("broker", kinds, indirect=True)


# Packages whose modules share one package-scoped desk: their tests stay together on one xdist worker.
SHARED_DESK_PACKAGES = ("tests/browser/",)


def _worker_group(module: str) -> str:
    return next((package for package in SHARED_DESK_PACKAGES if module.startswith(package)), module)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``make test``'s workers, a module (or a shared-desk package) runs whole on one worker, so each desk
    starts once. (xdist's own ``loadgroup`` renames test ids, which pytest 9 no longer allows.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByDesk(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _worker_group(nodeid.split("::", 1)[0])

    return ByDesk(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_worker_group(_module(config, item.path))))
        if listed(_module(config, item.path), getattr(item, "originalname", item.name)):
            item.add_marker(pytest.mark.kafka_layer)
