"""Identities used in paths and index keys: platform_id, video_id, run_id, config_hash.

Every id is validated *before* it is used to build a path: an unsafe id raises
`UnsafeIdError` with the reason, never reaches the filesystem.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

MAX_ID_LENGTH = 128
# Letters, digits and a few separators; this covers YouTube ids (A-Za-z0-9_-) and run ids.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
# Video ids may also start with '-' or '_' (real YouTube ids do). Platform and run ids may not:
# store-level folders such as `_tables/` can then never collide with a platform.
_SAFE_VIDEO_ID = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")


class UnsafeIdError(ValueError):
    """An id that cannot be used as a path component."""


def validate_id(value: Any, kind: str = "video_id", pattern: re.Pattern = _SAFE_ID) -> str:
    """Return `value` if it is a safe single path component, else raise UnsafeIdError."""
    if not isinstance(value, str):
        raise UnsafeIdError(f"{kind} must be a string, got {type(value).__name__}")
    if not value:
        raise UnsafeIdError(f"{kind} is empty")
    if len(value) > MAX_ID_LENGTH:
        raise UnsafeIdError(f"{kind} is {len(value)} characters long (max {MAX_ID_LENGTH})")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise UnsafeIdError(f"{kind} {value!r} contains control characters")
    if "/" in value or "\\" in value:
        raise UnsafeIdError(f"{kind} {value!r} contains a path separator")
    if ".." in value:
        raise UnsafeIdError(f"{kind} {value!r} contains '..'")
    if not pattern.match(value):
        first = "a letter, digit, '-' or '_'" if pattern is _SAFE_VIDEO_ID else "a letter or digit"
        raise UnsafeIdError(f"{kind} {value!r} has characters outside [A-Za-z0-9_.-] or does not start with {first}")
    return value


def validate_video_id(value: Any) -> str:
    return validate_id(value, "video_id", _SAFE_VIDEO_ID)


def validate_platform_id(value: Any) -> str:
    return validate_id(value, "platform_id")


def validate_run_id(value: Any) -> str:
    return validate_id(value, "run_id")


def new_run_id(prefix: str = "run") -> str:
    """A sortable, unique run id for batch/offline runs (production callers pass their own)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}-{stamp}-{uuid.uuid4().hex[:8]}"


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same config always gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_hash(obj: Any, length: int = 16) -> str:
    """Stable hash of an effective config (a dict or a pydantic model)."""
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump(mode="json")
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]
