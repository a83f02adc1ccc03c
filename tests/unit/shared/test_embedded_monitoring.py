"""The one-machine setup's database URI: the services' clients monitor the embedded database by polling it once per
heartbeat (an idle desk's database CPU), and keep the options it needs (tools/infra.py)."""

from __future__ import annotations

from pymongo import AsyncMongoClient

from tools.infra import EmbeddedInfra


def test_the_embedded_database_is_monitored_by_polling() -> None:
    uri = EmbeddedInfra(mongo_port=27099).env["MONGODB_URI"]
    client: AsyncMongoClient = AsyncMongoClient(uri, connect=False)
    assert client.options.server_monitoring_mode == "poll"
    assert client.options.retry_writes is False
    assert client.options.direct_connection is True
