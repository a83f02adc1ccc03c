from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.runtime.settings import ServiceSettings

DEV_KEY = "frontline-dev-feedback-key-change-me"


class FeedbackSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FEEDBACK_", extra="ignore", populate_by_name=True)

    http_port: int = 8006
    # Signs the survey links. Rotating it invalidates every link already sent.
    hmac_key: SecretStr = Field(SecretStr(DEV_KEY), min_length=16)
    # How long a survey link stays valid, counted from the resolution.
    token_ttl_seconds: float = Field(2 * 24 * 3600.0, gt=0)
    # No answer within this long after the resolution: the ticket is completed without a rating.
    auto_complete_seconds: float = Field(2 * 24 * 3600.0, gt=0)
    # Where clients reach the answer pages, e.g. https://feedback.desk.example (no trailing slash).
    public_base_url: str = "http://127.0.0.1:8006"
    default_language: Literal["ru", "en"] = Field(
        "ru", description="Language of the answer pages when the client's is not known")
    # True: a link click shows a confirmation form and only its POST records the answer
    # (for mail systems whose link scanners open every link).
    confirm_answers: bool = False
    max_comment_chars: int = Field(2000, gt=0, le=5000, description="Longest comment a client may leave with an answer")
    timer_interval_seconds: float = Field(0.2, gt=0, description="How often due auto-completion timers are checked")
    sweep_interval_seconds: float = Field(1.0, gt=0, description="How often left-behind outboxes are published")
    directory_cache_seconds: float = Field(5.0, ge=0, description="How stale the directories feedback reads may be")
