#!/usr/bin/env bash
# The query-budget evidence from nothing, one step after another (each step resumes or is cheap
# to repeat): the bank, unseen probe seeds, the validation panel, bench_budget.py per group,
# bench_cue_truth.py, and the summary tables of all groups together.
#   bash bench/budget_evidence.sh demo|full [OUT_DIR]
# demo: 4 probes x 3 seeds on 2,000 images, 6 panel members on 2,000 images (~2 h on 2 CPU cores);
# full: 8 probes x 3 seeds on 5,000 images, 8 weak panel members and 2 strong ones (50,000
# images) (~2.5 h on an AVX-512 2-core machine, over 5 h on an AVX2-only one).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:?usage: budget_evidence.sh demo|full [OUT_DIR]}"
OUT="$(realpath -m "${2:-workspaces/budget-$SCALE}")"
DATA="${DATA:-../shared/datasets/cifar10-jpeg.zip}"
PY="${PY:-.venv/bin/python}"
mkdir -p "$OUT/logs"
step() { local name=$1; shift; echo "=== $name $(date +%T)"; "$@" > "$OUT/logs/$name.log" 2>&1; echo "    done $(date +%T)"; }
UNSEEN=control,grayscale,blur,patch_shuffle
case "$SCALE" in
  demo) UNSEEN_SIZE=(--train-size 2000 --epochs 7); WEAK=partial_grayscale,half_lowpass,grayscale,lowpass,patch_shuffle,none
        PANEL_SIZE=(--train-size 2000 --epochs 8); STRONG= ;;
  full) UNSEEN_SIZE=(--train-size 5000 --epochs 20)
        WEAK=partial_grayscale,partial_lowpass,half_lowpass,grayscale,channel_shift,lowpass,patch_shuffle,none
        PANEL_SIZE=(); STRONG=strong_none,strong_partial_grayscale ;;
  *) echo "error: scale must be demo or full, got '$SCALE'" >&2; exit 2 ;;
esac
COMMON=(--bank "$OUT/bank" --planner-seeds 3 --random-reps 5 --baseline-share 0.2 --data "$DATA")
step bank   $PY -m evalkit run "bench/configs/budget_bank_$SCALE.toml" -w "$OUT/bank" --data "$DATA" --quiet
step unseen $PY -m evalkit probes train -w "$OUT/unseen" --probes $UNSEEN --seeds 4 "${UNSEEN_SIZE[@]}" --data "$DATA"
step panel  $PY bench/bench_fingerprint_panel.py --train-only --panel-dir "$OUT/panel" --members "$WEAK" "${PANEL_SIZE[@]}" --data "$DATA"
# --panel-dir/--unseen point at an empty folder where a group must not pick up the other kind
# (panel kinds and probe names overlap: grayscale, patch_shuffle)
step budget_u $PY bench/bench_budget.py "${COMMON[@]}" --panel-dir "$OUT/none" --unseen "$OUT/unseen" --out "$OUT/budget" --tag u --members $UNSEEN
step budget_w $PY bench/bench_budget.py "${COMMON[@]}" --panel-dir "$OUT/panel" --unseen "$OUT/none" --out "$OUT/budget" --tag w --members "$WEAK"
if [ -n "$STRONG" ]; then
  step strong   $PY bench/bench_fingerprint_panel.py --train-only --panel-dir "$OUT/panel" --members "$STRONG" --data "$DATA"
  step budget_s $PY bench/bench_budget.py "${COMMON[@]}" --panel-dir "$OUT/panel" --unseen "$OUT/none" --out "$OUT/budget" --tag s --members "$STRONG"
fi
step cue_truth $PY bench/bench_cue_truth.py --bank "$OUT/bank" --panel-dir "$OUT/panel" --unseen "$OUT/unseen" --data "$DATA" --out "$OUT/cue_truth.json"
$PY bench/bench_budget.py --summarize --out "$OUT/budget"
