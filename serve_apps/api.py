"""Request and response models of the HTTP API (what /docs shows). The handlers live in serve_apps/app.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trendflow.dataset.models import UtcDatetime, VideoMetadata, VideoSnapshot


class Snapshot1(VideoSnapshot):
    """The snapshot-1 counters of the dataset contract, with the time they were collected (required here:
    the video's age at snapshot 1 is a feature). `video_id` may be left out (the request's is used)."""
    video_id: str = Field("", description="Defaults to the request's video_id.")
    collected_at: UtcDatetime = Field(description="When these counters were read (ISO-8601; UTC if no zone).")


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform_id: str = Field("youtube", description="Platform of the video; (platform_id, video_id) is its key.")
    video_id: str = Field(description="The platform's video id (no path separators, no '..', ≤ 128 chars).")
    video: Optional[str] = Field(
        None, description="Path or URL of the video file (inside the service's allowed roots). Needed only when "
                          "neither the store nor the serving cache has the video's artifacts.")
    metadata: VideoMetadata = Field(description="Static metadata (the dataset contract's model; video_id may be "
                                                "left out).")
    snapshot: Snapshot1 = Field(description="Snapshot-1 counters with `collected_at`.")
    model: Optional[str] = Field(None, description="v2 | v1 | v0 (or a registered model name); default: the best "
                                                   "available, falling back v2 → v1 → v0.")
    locale: Optional[Literal["ru", "en"]] = Field(None, description="Language of the summary (default: the "
                                                                    "service's serve.default_locale).")
    detail: Literal["short", "full"] = Field("short", description="`full` adds per-feature/per-shot tables.")

    @model_validator(mode="before")
    @classmethod
    def _ids_from_request(cls, data: Any) -> Any:
        # The ids are said once, at the top; the nested contract models need them too.
        if isinstance(data, dict) and isinstance(data.get("video_id"), str):
            for part in ("metadata", "snapshot"):
                if isinstance(data.get(part), dict):
                    data[part] = {"video_id": data["video_id"], **data[part]}
            if isinstance(data.get("metadata"), dict) and "platform_id" in data:
                data["metadata"] = {"platform_id": data["platform_id"], **data["metadata"]}
        return data


class HeadForecast(BaseModel):
    delta: Optional[float] = Field(description="Predicted growth expm1(ŷ) over the horizon.")
    total: Optional[float] = Field(description="Snapshot-1 count + delta (null without a snapshot-1 count).")
    low: Optional[float] = Field(description="Lower end of the conformal interval.")
    high: Optional[float] = Field(description="Upper end (null when unbounded).")


class FallbackEntry(BaseModel):
    model: str
    reason: str


class FeaturesInfo(BaseModel):
    cached: bool = Field(description="True when the artifacts existed (store or cache); false when extracted now.")
    source: Literal["store", "cache", "extracted"]
    run_id: str
    config_hash: str
    sampling_policy_version: str
    problems: list[str] = Field(default_factory=list, description="Inputs that were missing (masked).")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage of a new extraction.")


class PredictResponse(BaseModel):
    model: str = Field(description="The model that answered.")
    fallback: Optional[list[FallbackEntry]] = Field(description="Models skipped or failed before it, with why; "
                                                                "null when the first choice answered.")
    forecast: dict[str, dict[str, HeadForecast]] = Field(description="forecast.<target>.<horizon days>.")
    interval_level: Optional[float]
    age_bucket: str
    features: FeaturesInfo
    model_versions: dict[str, Any]
    summary: Optional[dict[str, Any]] = Field(
        description="The grounded summary: strong / weak / three actions / why, its text and (detail=full) "
                    "tables; null only when it could not be made (the service logs why).")


class ClipImages(BaseModel):
    model_config = ConfigDict(extra="forbid")

    images_base64: Optional[list[str]] = Field(None, description="PNG or JPEG files, base64-encoded.")
    images_rgb: Optional[list[list[list[list[int]]]]] = Field(
        None, description="Raw RGB arrays, each (height, width, 3) of 0..255 integers.")

    @model_validator(mode="after")
    def _one_kind(self):
        if bool(self.images_base64) == bool(self.images_rgb):
            raise ValueError("give exactly one of images_base64 or images_rgb, non-empty")
        return self


# Rates audio files use. Any other rate is refused: resampling between coprime rates (e.g. 28949 → 48000 Hz)
# builds a huge filter (schemathesis found one such request that timed out, and one that failed).
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)


class ClapAudio(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: list[Annotated[float, Field(ge=-1.0, le=1.0)]] = Field(
        min_length=1, description="Mono audio samples in [-1, 1].")
    sample_rate: int = Field(description=f"Sample rate of `samples` in Hz, one of {list(SAMPLE_RATES)}.")

    @field_validator("sample_rate")
    @classmethod
    def _common_rate(cls, v: int) -> int:
        if v not in SAMPLE_RATES:
            raise ValueError(f"{v} Hz is not one of {list(SAMPLE_RATES)}")
        return v


class EmbedResponse(BaseModel):
    model: str
    model_version: str
    dim: int
    embeddings: list[list[float]]
    window_start_sec: Optional[list[float]] = None
