from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings


class SlaSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore", populate_by_name=True)

    http_port: int = 8004
    # "Deadlines fire within 1 second": a tick every 100 ms leaves room for the query and the publish.
    tick_interval_seconds: float = Field(0.1, gt=0, le=0.2)
    timer_batch: int = Field(500, gt=0, description="Due timers fired per tick at most")
    directory_cache_seconds: float = Field(5.0, ge=0, description="How stale SLA directories may be")
    deadline_reminder_offsets_seconds: list[float] = Field(
        default_factory=lambda: [24 * 3600.0, 3600.0], description="Reminders this long before a client deadline")
    default_warning_share: float | None = Field(0.8, gt=0, lt=1,
        description="Warn when this share of a target is used, for policies that set none")
    kept_clocks: int = Field(
        10_000, ge=0, description="Clocks this instance wrote kept in memory while it holds their partitions, so "
        "the next event of a ticket reads neither its clock nor its timers (services/sla/memory.py; 0: none)")
    batch_window_seconds: float = Field(
        0.2, ge=0, description="Events are gathered this long into one batch whose clock writes and timer syncs go "
        "to the database together across tickets, its offsets committed after (services/sla/batch.py); 0: one "
        "event at a time")
    batch_max: int = Field(500, gt=0, description="Events in one batch at most")
    commit_interval_seconds: float = Field(0.5, gt=0, description="Faust offset commit interval")
    sweep_interval_seconds: float = Field(1.0, gt=0, description="How often left-behind outboxes are published")
    pending_gauge_seconds: float = Field(
        300.0, ge=0, description="How often the pending-timers gauge is recounted (0: never). Counting reads "
        "every pending timer, which stalls firing on the embedded database (docs/embedded-database.md); "
        "on MongoDB it is an index count scan")
    stream_buffer_maxsize: int = Field(
        100_000, gt=0, description="Records faust may buffer per stream before pausing a partition's fetch (a "
        "backlog stays in memory up to this; see services/sla/stream.py for why it is large)")
    consumer_group: str = Field("frontline-sla", description="Kafka consumer group of the SLA processor")
    group_instance_id: str | None = Field(
        None, description="Static group membership (Kafka KIP-345): a worker restarted with the same id takes its "
        "partitions back without waiting for its old session to expire. One per replica (e.g. the pod name), never "
        "two running at once; a replica gone for good keeps its partitions until its session expires. Empty: dynamic")
    leave_stale_member: bool = Field(
        True, description="On start, take this worker's previous member (killed without leaving the group) out of the "
        "group before joining, so the join does not wait for that member's session to expire (shared/runtime/"
        "group_leave.py). Dynamic membership only")

    @field_validator("group_instance_id")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None
