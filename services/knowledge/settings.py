from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.runtime.file_types import OFFICE_TYPES
from shared.runtime.settings import ServiceSettings

FILE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
              *OFFICE_TYPES.values())


class KnowledgeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KNOWLEDGE_", extra="ignore", populate_by_name=True)

    http_port: int = 8010
    max_candidates: int = Field(
        5000, ge=1, description="Most articles a search or suggestion scores (the word-overlap scorer reads them all; "
                                "the search service replaces it for larger bases)")
    min_suggestion_score: float = Field(
        0.2, ge=0, description="Suggestions below this relevance are not offered (0: any shared word)")
    file_max_bytes: int = Field(10_000_000, gt=0, description="Largest image or attachment an article may have")
    file_types: list[str] = Field(
        default_factory=lambda: list(FILE_TYPES),
        description="Kinds of article file accepted (JSON list), each proved by the bytes, never by the name: "
                    "image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain, docx/xlsx/pptx")
