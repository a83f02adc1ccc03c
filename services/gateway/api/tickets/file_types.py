"""The gateway's file rules are the desk's shared ones (``shared/runtime/file_types.py``), re-exported here."""

from shared.runtime.file_types import (
    INLINE_SAFE,
    Kind,
    disposition,
    download_headers,
    media_type,
    safe_filename,
    served_type,
    sniff,
)

__all__ = ["INLINE_SAFE", "Kind", "disposition", "download_headers", "media_type", "safe_filename", "served_type",
           "sniff"]
