#!/usr/bin/env bash
# make demo: the whole TrendFlow path on a small built-in synthetic corpus, on this machine.
#   synth corpus -> validate -> temporal features/targets -> Ray extraction -> training data
#   -> baseline, v0, v0_content, v1, v2 -> evaluation -> comparison report -> one request to the Serve app
# Outputs go to demo_out/ (override with DEMO_OUT); corpus size with DEMO_VIDEOS (default 320: enough test videos to rank the models; 120 for a quicker run).
set -euo pipefail
cd "$(dirname "$0")/.."
TF=.venv/bin/trendflow
OUT=${DEMO_OUT:-demo_out}
N=${DEMO_VIDEOS:-320}
STORE=$OUT/store
start=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - start ))s] $*"; }

step "1/7 synthetic corpus: $N videos -> $OUT/dataset"
# Reused only when it was made with the same number of videos (.complete holds that number).
if [ "$(cat "$OUT/dataset/.complete" 2>/dev/null)" != "$N" ]; then
  rm -rf "$OUT/dataset"
  $TF synth --out "$OUT/dataset" --videos "$N" --seed 0
  echo "$N" > "$OUT/dataset/.complete"
fi

step "2/7 validate the dataset"
$TF validate-dataset "$OUT/dataset" || echo "(problems above are the corpus's planted duplicates/corrections)"

step "3/7 temporal features and multi-horizon targets"
$TF temporal --dataset "$OUT/dataset" --out "$OUT/temporal.parquet"

step "4/7 Ray extraction (cuts, CLIP, quality, pacing, audio, CLAP, loudness, tempo): one line per finished video"
$TF extract --dataset "$OUT/dataset" --store "$STORE" --config configs/demo.yaml
# The first video id, without a pipe into head: under pipefail, ls would die of SIGPIPE (exit 141).
videos=("$OUT"/dataset/videos/*); first=$(basename "${videos[0]}"); first=${first%.*}
$TF inspect --store "$STORE" --video "$first" --component core_clip
$TF inspect --store "$STORE" --video "$first" --component loudness

step "5/7 training data"
$TF build-dataset --dataset "$OUT/dataset" --store "$STORE" --temporal "$OUT/temporal.parquet" --out "$OUT/train_data" --config configs/demo.yaml

step "6/7 train baselines, v0, v0_content, v1, v2 (Ray Train), evaluate on the test split, compare"
$TF compare --data "$OUT/train_data" --out "$OUT/models" --config configs/demo.yaml
echo
sed -n '1,60p' "$OUT/models/report/report.md"

step "7/7 the prediction service (Ray Serve): start it, one real prediction for a test video, shut it down"
DEMO_OUT="$OUT" bash scripts/demo_serve.sh

echo
echo "demo finished in $(( $(date +%s) - start ))s. Outputs:"
echo "  dataset         $OUT/dataset"
echo "  temporal table  $OUT/temporal.parquet"
echo "  artifacts       $STORE  (trendflow inspect --store $STORE --video $first --component core_clip)"
echo "  aggregates      $STORE/_tables/aggregates/<run_id>/*.parquet (trendflow.tables.read_aggregates)"
echo "  training data   $OUT/train_data"
echo "  models          $OUT/models/<model>/ (model card, checkpoints, metrics.json)"
echo "  report          $OUT/models/report/report.md (+ PNG plots)"
echo "  service         make serve  (the API and the author page on these outputs)"
