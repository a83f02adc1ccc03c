from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings

Strategy = Literal["random", "least_loaded", "skills_first"]


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore", populate_by_name=True)

    http_port: int = 8003
    # Nobody claimed an offer within this time: routing assigns an available agent itself.
    claim_timeout_seconds: float = 40.0
    # Per-urgency overrides of the claim timeout (urgency directory value → seconds), e.g. {"urgent": 20}.
    claim_timeout_by_urgency: dict[str, float] = Field(default_factory=dict)
    strategy: Strategy = Field(
        "random", description="How routing picks one agent when it assigns: random, least_loaded or skills_first")
    # The client's own choice → line is business configuration: each line's client_choices (docs/lines.md).
    default_line: str = "first"
    # Nobody at all (line, night shift, leads) available: route again after this long.
    retry_seconds: float = 60.0
    # Directory reads are cached this long (seconds of process time); 0 reads per decision.
    directory_cache_seconds: float = 1.0
    coalesce_ms: float = Field(
        10.0, ge=0, le=50, description="How long a record that comes alone waits for other partitions' records to "
                                       "be decided and written with them (one read and one write per collection)")
    timer_interval_seconds: float = Field(0.1, description="How often due auto-assignment and retry timers are checked")
