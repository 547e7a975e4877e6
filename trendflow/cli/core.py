"""Core commands: schemas, index, inspect, purge."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from trendflow import schemas
from trendflow.artifacts import ArtifactError, ArtifactStore, RunKey
from trendflow.cli.common import add_store_args, open_index, open_store
from trendflow.config import RetentionConfig, load_section
from trendflow.ids import validate_platform_id, validate_video_id
from trendflow.retention import purge


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schemas", help="generate or check the JSON schemas of artifacts (schemas/)")
    p.add_argument("action", choices=["generate", "check"],
                   help="generate: write schemas/*.schema.json from the code; check: fail on drift (CI)")
    p.add_argument("--dir", default="schemas", help="schema folder (default: ./schemas)")
    p.set_defaults(func=cmd_schemas)

    p = sub.add_parser(
        "index", help="artifact index (pointers in <store>/_index/): rebuild it from the manifests, or show it",
        description="rebuild: point every (video, config key) at its latest ok run whose files are all there, "
                    "remove pointers to runs that are gone; deletes no artifact unless eviction is on "
                    "(index.capacity set), and then says which runs it deleted. stats: entries per key prefix "
                    "(config_hash/sampling_policy_version/dataprocessor_version), capacity, and with eviction "
                    "on the entries that would be deleted first.")
    p.add_argument("action", choices=["rebuild", "stats"])
    p.add_argument("--next", type=int, default=10, metavar="N",
                   help="stats with eviction on: list the N entries that would go first (default 10)")
    add_store_args(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("inspect", help="print a video's artifact (meta + arrays) or its run manifest")
    add_store_args(p)
    p.add_argument("--video", required=True, help="video_id")
    p.add_argument("--platform", default="youtube", help="platform_id (default: youtube)")
    p.add_argument("--component", help="component name (e.g. cut_detection); omit to print the manifest")
    p.add_argument("--run", help="run_id (default: the newest run of the video)")
    p.add_argument("--json", action="store_true", help="full JSON (arrays as lists) instead of a summary")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("purge", help="delete raw text artifacts past retention (SPEC §11)")
    add_store_args(p)
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    p.set_defaults(func=cmd_purge)


def cmd_schemas(args) -> int:
    if args.action == "generate":
        for path in schemas.generate(args.dir):
            print(path)
        return 0
    problems = schemas.check(args.dir)
    for p in problems:
        print(p, file=sys.stderr)
    print("schemas: OK" if not problems else f"schemas: {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_index(args) -> int:
    store = open_store(args)
    index = open_index(args, store)
    if args.action == "stats":
        print(json.dumps(index.stats(args.next), indent=2))
        return 0
    r = index.rebuild()
    for key, run_id in r.written:
        print(f"pointed {key.platform_id}/{key.video_id} [{key.prefix}] at run {run_id}")
    for key in r.removed:
        print(f"removed pointer {key.platform_id}/{key.video_id} [{key.prefix}]: its run is gone")
    for run_dir, why in sorted(r.skipped.items()):
        print(f"not indexed {run_dir}: {why}")
    for e in r.evicted:
        print(f"evicted {e.key.platform_id}/{e.key.video_id} [{e.key.prefix}]: deleted "
              f"{e.deleted or 'only the pointer (unreadable)'}")
    deleted = f"{len(r.evicted)} run(s) evicted (capacity {index.capacity})" if index.eviction else \
        "nothing deleted (eviction off)"
    print(f"index rebuilt from {r.manifests} manifest(s): {len(r.written)} pointer(s) written, {r.unchanged} "
          f"unchanged, {len(r.removed)} stale removed, {len(r.skipped)} run(s) not indexable; {deleted}; "
          f"{len(index)} entr(ies) in {store.storage.url('_index')}")
    return 0


def newest_run(store: ArtifactStore, platform_id: str, video_id: str) -> str:
    runs = store.run_ids(platform_id, video_id)
    if not runs:
        raise ArtifactError(f"no runs for {platform_id}/{video_id} in {store.storage.root_url}")
    manifests = {r: store.manifest(RunKey(platform_id, video_id, r)) for r in runs}
    return max(runs, key=lambda r: manifests[r].get("updated_at") or "")


def cmd_inspect(args) -> int:
    store = open_store(args)
    platform_id, video_id = validate_platform_id(args.platform), validate_video_id(args.video)
    run_id = args.run or newest_run(store, platform_id, video_id)
    key = store.key_for(platform_id, video_id, run_id)
    if not args.component:
        print(json.dumps(store.manifest(key), indent=2))
        return 0
    art = store.read(key, args.component)
    if args.json:
        print(json.dumps({"meta": art.meta, "arrays": {k: v.tolist() for k, v in art.arrays.items()}},
                         default=_json_default))
        return 0
    m = art.meta
    print(f"{m['producer']} v{m['producer_version']} (schema {m['schema_version']})  status={m['status']}"
          + (f" ({m['empty_reason']})" if m["empty_reason"] else ""))
    print(f"video {m['platform_id']}/{m['video_id']}  run {m['run_id']}  created {m['created_at']}")
    if m.get("model_name"):
        print(f"model {m['model_name']} {m['model_version']}  weights={m.get('weights')}")
    for name, a in art.arrays.items():
        print(f"  {name:28s} {str(a.dtype):8s} {str(a.shape):16s} {_preview(a)}")
    return 0


def cmd_purge(args) -> int:
    store = open_store(args)
    cfg = load_section(args.config, "retention", RetentionConfig)
    done = purge(store, cfg, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for p in done:
        print(f"{verb} {p.run_dir}/{p.component} (written {p.written_at})")
    print(f"purge: {verb} {len(done)} raw-text artifact(s)")
    return 0


def _preview(a: np.ndarray) -> str:
    if a.size == 0:
        return "(empty)"
    if a.dtype.kind in "fiu":
        x = a.astype(float)
        finite = x[np.isfinite(x)]
        nan = int(np.isnan(x).sum())
        stats = f"min={finite.min():.4g} max={finite.max():.4g}" if finite.size else "all NaN"
        return stats + (f" nan={nan}" if nan else "")
    flat = a.reshape(-1)
    return repr(flat[:3].tolist()) + ("..." if flat.size > 3 else "")


def _json_default(o):
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return str(o)
