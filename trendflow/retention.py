"""Retention of raw text (SPEC §11): raw comment and OCR text are not kept unless enabled, and
then only for `retention_days` (capped by `hard_cap_days`). Derived features are kept.

`purge(store, cfg)` deletes every raw-text artifact that is past its retention (all of them when
retention for that kind is off) and rebuilds the affected manifests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from trendflow.artifacts import ArtifactStore
from trendflow.components import get_spec
from trendflow.config import RetentionConfig


@dataclass(frozen=True)
class Purged:
    run_dir: str
    component: str
    written_at: str


def allowed_age(cfg: RetentionConfig, kind: str) -> timedelta | None:
    """How long raw text of `kind` may be kept; None means not at all."""
    enabled = {"comments": cfg.retain_raw_comments, "ocr": cfg.retain_raw_ocr_text}.get(kind, False)
    if not enabled:
        return None
    return timedelta(days=min(cfg.retention_days or 0, cfg.hard_cap_days))


def purge(store: ArtifactStore, cfg: RetentionConfig, now: datetime | None = None,
          dry_run: bool = False) -> list[Purged]:
    now = now or datetime.now(timezone.utc)
    purged: list[Purged] = []
    for key in store.runs():
        touched = False
        for name, entry in store.manifest(key)["components"].items():
            try:
                kind = get_spec(name).raw_text_kind
            except KeyError:
                continue
            if kind is None:
                continue
            limit = allowed_age(cfg, kind)
            written = datetime.fromisoformat(entry["written_at"].replace("Z", "+00:00"))
            if limit is None or now - written > limit:
                purged.append(Purged(key.run_dir, name, entry["written_at"]))
                if not dry_run:
                    store.storage.remove(f"{key.run_dir}/{name}")
                    touched = True
        if touched:
            store.rebuild_manifest(key)
    return purged
