"""A tiny builder of hand-made datasets in the SPEC §2 layout, shared by the dataset and temporal tests.

    ds = HandDataset(tmp_path)                      # snapshot folders 1..4, 7 days apart from T1
    ds.video("vidA", snaps={1: {"viewCount": 10}, 2: {"viewCount": 15}})
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

T1 = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)
PUBLISHED = T1 - timedelta(days=40)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def day(k: int, hours: float = 0.0) -> datetime:
    """The time of snapshot k when everything is exactly weekly, plus `hours`."""
    return T1 + timedelta(days=7 * (k - 1), hours=hours)


def metadata(video_id: str, **over: Any) -> dict[str, Any]:
    m = {"video_id": video_id, "title": f"title of {video_id}", "madeForKids": False,
         "publishedAt": iso(PUBLISHED), "channelTitle": "Chan A", "duration_seconds": 12.5}
    m.update(over)
    return {k: v for k, v in m.items() if v is not _DROP}


_DROP = object()
DROP = _DROP  # metadata(..., field=DROP) removes a required field


class HandDataset:
    def __init__(self, root: Path, n_snapshots: int = 4, folder_times: dict[int, datetime | None] | None = None):
        self.root = Path(root)
        for sub in ("metadata", "videos"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        times = {k: day(k) for k in range(1, n_snapshots + 1)}
        times.update(folder_times or {})
        for k, t in times.items():
            self.folder(k, t)

    def folder(self, k: int, collected_at: datetime | None) -> None:
        d = self.root / "snapshots" / str(k)
        d.mkdir(parents=True, exist_ok=True)
        info: dict[str, Any] = {"snapshot_index": k}
        if collected_at is not None:
            info["collected_at"] = iso(collected_at)
        (d / "snapshot.json").write_text(json.dumps(info))

    def write(self, rel: str, content: str | bytes | dict) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            content = json.dumps(content)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return p

    def video(self, video_id: str, snaps: dict[int, dict[str, Any]] | None = None, *, video_file: bool = True,
              **meta_over: Any) -> None:
        """Metadata + snapshot files (+ a non-empty placeholder video file; the loader only lists videos)."""
        self.write(f"metadata/{video_id}.json", metadata(video_id, **meta_over))
        for k, counters in (snaps if snaps is not None else {1: {"viewCount": 100, "likeCount": 5}}).items():
            body = {"video_id": video_id, **counters}
            if isinstance(body.get("collected_at"), datetime):
                body["collected_at"] = iso(body["collected_at"])
            self.write(f"snapshots/{k}/{video_id}.json", body)
        if video_file:
            self.write(f"videos/{video_id}.mp4", b"\x00\x00\x00\x18ftypmp42")


def test_builder_writes_a_dataset_the_reader_accepts(tmp_path):
    from trendflow.dataset import DatasetReader

    ds = HandDataset(tmp_path)
    ds.video("vid1", {1: {"viewCount": 10}, 3: {"viewCount": 30, "collected_at": day(3, 5)}})
    reader = DatasetReader(str(tmp_path))
    records = list(reader)
    assert reader.problems == [] and len(records) == 1
    rec = records[0]
    assert rec.problems == [] and rec.usable and rec.video_file == "videos/vid1.mp4"
    assert rec.snapshot_times == {1: day(1), 3: day(3, 5)}
    assert rec.snapshots[3].viewCount == 30
