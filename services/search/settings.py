from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class SearchSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SEARCH_", extra="ignore", populate_by_name=True)

    http_port: int = 8009
    engine: Literal["tantivy", "opensearch"] = Field(
        "tantivy", description="tantivy: an embedded index on disk (one machine); opensearch: an OpenSearch cluster")
    index_dir: str = Field("var/search", description="tantivy: where the index lives (kept across restarts)")
    writer_heap_bytes: int = Field(50_000_000, ge=15_000_000, description="tantivy: the index writer's memory")
    opensearch_url: str = Field("http://127.0.0.1:9200", description="opensearch: the cluster's URL")
    opensearch_index: str = Field("frontline-tickets", description="opensearch: the index name")
    opensearch_article_index: str = Field("frontline-articles", description="opensearch: the knowledge articles' index")
    opensearch_username: str | None = Field(None, description="opensearch: basic-auth user")
    opensearch_password: SecretStr | None = Field(None, description="opensearch: basic-auth password")
    opensearch_ca_file: str | None = Field(
        None, description="opensearch: the CA certificate (PEM) an https cluster's certificate is checked against; "
                          "unset: the system's CAs")
    index_interval_seconds: float = Field(
        0.2, gt=0, description="How often changed tickets are written to the index (a ticket is searchable after "
                               "at most about this long plus one commit)")
    index_batch: int = Field(500, ge=1, le=10_000, description="Tickets written to the index per round")
    article_history_timeout_seconds: float = Field(
        300.0, gt=0, description="How long reading knowledge.articles from its beginning may take (a rebuild of the "
                                 "article index, or its filling when it is empty on start)")
    directory_poll_seconds: float = Field(
        30.0, gt=0, description="How often the contacts directory is checked for changed entries (their tickets are "
                               "indexed again with the new names, e-mails and phones)")
