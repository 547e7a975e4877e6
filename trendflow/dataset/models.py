"""Pydantic models of the dataset contract (SPEC §2): video metadata, snapshot counters, comments.

Unknown extra fields are kept (`model_extra`), never rejected: the crawler may add fields and
they must survive a round trip. Only the ids, `publishedAt` and a channel key (`channel_id` or
`channelTitle`) are required (SPEC §2): other sources, such as public counter tables, lack the
rest. Optional fields may be absent or null; they become NaN plus a `*_present` mask later
(trendflow.temporal), never zeros. Counters accept what the YouTube API
returns (integers or decimal strings such as "1234") and reject negatives, non-numbers and bools.
Datetimes must carry a zone or are taken as UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

# Fields that hold counters in a snapshot file (validated as non-negative integers).
SNAPSHOT_COUNTERS = ("viewCount", "likeCount", "commentCount", "subscriberCount", "videoCount",
                     "viewCount_channel")


def _no_bool(value: Any) -> Any:
    # pydantic's lax mode turns True into 1; a boolean counter is a crawler bug, not a count.
    if isinstance(value, bool):
        raise ValueError("a counter must be a number, not a boolean")
    return value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# Fields SPEC §2 expects from a YouTube crawl that other sources lack: optional, but a missing one is
# worth a warning (`validate-dataset`), since its feature becomes NaN + mask for that video.
EXPECTED_OPTIONAL_FIELDS = ("title", "madeForKids", "duration_seconds")

Counter = Annotated[int, BeforeValidator(_no_bool), Field(ge=0)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class _Open(BaseModel):
    """Base: extra fields are kept as they are."""
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class VideoMetadata(_Open):
    """metadata/<video_id>.json: static facts about a video (they do not change between snapshots)."""

    video_id: str = Field(description="Platform video id; validated before it is used in a path.")
    platform_id: str = Field("youtube", description="Platform; (platform_id, video_id) is the unique key.")
    title: Optional[str] = None
    description: Optional[str] = None
    tags: Optional[list[str]] = None
    language: Optional[str] = None
    madeForKids: Optional[bool] = None
    thumbnails: Optional[dict[str, Any]] = None
    publishedAt: UtcDatetime = Field(description="Publication time (trusted; used for the time split).")
    channelTitle: Optional[str] = Field(None, description="Channel name; the approximate channel key when "
                                                          "channel_id is absent (one of the two is required).")
    channel_id: Optional[str] = Field(None, description="Stable channel id (enrichment); else channelTitle "
                                                        "is the approximate channel key.")
    country: Optional[str] = None
    webpage_url: Optional[str] = None
    age_limit: Optional[int] = Field(None, ge=0)
    subtitles: Optional[dict[str, Any]] = None
    automatic_captions: Optional[dict[str, Any]] = None
    chapters: Optional[list[Any]] = None
    formats: Optional[list[Any]] = None
    thumbnails_ytdlp: Optional[Any] = None
    duration_seconds: Optional[float] = Field(None, gt=0,
                                              description="Video duration (4..1200 s in the training data).")
    category: Optional[str] = None

    @model_validator(mode="after")
    def _channel_key(self):
        # The channel key groups the split (no channel in two splits): without one a video cannot be placed.
        if not (self.channel_id or "").strip() and not (self.channelTitle or "").strip():
            raise PydanticCustomError("missing", "a channel key is required: channel_id or channelTitle",
                                      {"field": "channelTitle"})
        return self


class Comment(_Open):
    """One of the ≤100 "most relevant" comments stored with a snapshot."""

    text: Optional[str] = None
    author: Optional[str] = None
    likeCount: Optional[Counter] = None
    replyCount: Optional[Counter] = None
    publishedAt: Optional[UtcDatetime] = None


class VideoSnapshot(_Open):
    """snapshots/<k>/<video_id>.json: counters of one video at snapshot k."""

    video_id: str
    collected_at: Optional[UtcDatetime] = Field(
        None, description="Per-video collection time; overrides the snapshot folder's time.")
    viewCount: Counter
    likeCount: Optional[Counter] = None
    commentCount: Optional[Counter] = None
    subscriberCount: Optional[Counter] = None
    videoCount: Optional[Counter] = None
    viewCount_channel: Optional[Counter] = None
    comments: Optional[list[Comment]] = None


class SnapshotFolderInfo(_Open):
    """snapshots/<k>/snapshot.json: which snapshot this folder holds and when it was collected."""

    snapshot_index: int = Field(ge=1)
    collected_at: Optional[UtcDatetime] = Field(
        None, description="Collection time of the folder; videos without their own collected_at use it.")
