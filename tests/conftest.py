"""One session-scoped infrastructure for the whole suite; every test gets its own namespace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.testing import infra_env, isolated_env


@pytest.fixture(scope="session")
def infra() -> Iterator[dict[str, str]]:
    with infra_env() as env:
        yield env


@pytest.fixture
def env(infra: dict[str, str]) -> dict[str, str]:
    """Connection settings plus a per-test topic prefix and database."""
    return {**infra, **isolated_env()}
