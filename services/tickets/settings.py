from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class TicketsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETS_", extra="ignore", populate_by_name=True)

    http_port: int = 8002
    reopen_window_seconds: float = Field(
        300.0, description="How long after resolution a ticket may be reopened (intake's window must match)")
    group_commit_ms: float = Field(
        10.0, ge=0, le=50, description="How long the first ticket write waits for other partitions' writes to go out "
                                      "with it in one command (0: those ready in the same turn of the event loop)")
    directory_cache_seconds: float = Field(
        1.0, ge=0, description="How stale the custom-fields directory a resolution is checked against may be")
    # Every other producer's command-signing key, as JSON {"gateway": "...", "intake": "...", ...}
    # (shared/runtime/command_auth.py). Development derives the missing ones; production requires them all.
    command_keys: dict[str, SecretStr] = {}
