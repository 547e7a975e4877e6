#!/usr/bin/env bash
# The end of `make demo`: start the prediction service on the demo outputs, send one real prediction for a
# test-split video, print its forecast table and summary, shut the service down.
#   scripts/demo_serve.sh            (after scripts/demo.sh; DEMO_OUT as there, default demo_out)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=${DEMO_OUT:-demo_out}
PORT=${DEMO_SERVE_PORT:-$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BATCH_CFG=${DEMO_CONFIG:-configs/demo.yaml}  # the config the demo store was extracted with
CFG=$(mktemp -d)/serve.yaml
# the batch sections + where the service listens
{ cat "$BATCH_CFG"; printf '\nserve:\n  port: %s\n  allowed_roots: [%s]\n' "$PORT" "$OUT/dataset/videos"; } > "$CFG"

.venv/bin/trendflow serve --models "$OUT/models" --store "$OUT/store" --cache "$OUT/serve_cache" \
    --dataset "$OUT/dataset" --config "$CFG" > "$OUT/serve.log" 2>&1 &
SERVER=$!
# SIGTERM, which `trendflow serve` handles like Ctrl-C (Serve and Ray shut down): a script's background
# job ignores SIGINT (measured: the service kept running 60 s after kill -INT, stopped within 8 s of TERM).
stop() { kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true; }
trap stop EXIT

echo "waiting for the service on port $PORT (log: $OUT/serve.log) ..."
for _ in $(seq 1 240); do
  if curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then echo "the service exited:"; tail -20 "$OUT/serve.log"; exit 1; fi
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/healthz"; echo

$PY - "$OUT" "$PORT" <<'PYEOF'
import json, sys, urllib.request
from pathlib import Path
import pyarrow.dataset as pads

out, port = Path(sys.argv[1]), sys.argv[2]
test = pads.dataset(str(out / "train_data" / "test")).to_table(columns=["video_id", "content_run_id"]).to_pylist()
vid = next((r["video_id"] for r in test if r["content_run_id"]), test[0]["video_id"])  # one with artifacts
ds = out / "dataset"
snap = json.loads((ds / "snapshots" / "1" / f"{vid}.json").read_text())
snap.setdefault("collected_at", json.loads((ds / "snapshots" / "1" / "snapshot.json").read_text())["collected_at"])
body = {"video_id": vid, "metadata": json.loads((ds / "metadata" / f"{vid}.json").read_text()), "snapshot": snap,
        "locale": "en", "detail": "short"}
req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/predict", json.dumps(body).encode(),
                             {"content-type": "application/json"})
doc = json.load(urllib.request.urlopen(req, timeout=600))
print(f"\nPOST /v1/predict video {vid}: model {doc['model']} (fallback {doc['fallback']}), age bucket "
      f"{doc['age_bucket']}, features from the {doc['features']['source']} (run {doc['features']['run_id']})")
print(f"{'target':8s} {'days':>4s} {'growth':>10s} {'total':>12s} {'low':>12s} {'high':>12s}   "
      f"({doc['interval_level']:.0%} interval)")
fmt = lambda v: "-" if v is None else f"{v:,.0f}"
for target, by_h in doc["forecast"].items():
    for h, f in by_h.items():
        print(f"{target:8s} {h:>4s} {fmt(f['delta']):>10s} {fmt(f['total']):>12s} {fmt(f['low']):>12s} "
              f"{fmt(f['high']):>12s}")
summary = doc["summary"]
print("\nsummary:\n" + summary["text"] if summary else "\nno summary (see the service log)")
PYEOF
echo "shutting the service down"
