#!/usr/bin/env bash
# SKES variants on fold 0, judged by validation Spearman of the selected checkpoint (never test):
# the ablations of issue 27 and the options to choose. Two runs at a time, one thread each (2 cores),
# each in its own run folder; a finished variant (its JSON exists) is skipped, so rerunning resumes.
#   bash bench/skes_screen.sh [VARIANT ...]      (default: all; results/selection/fb15k_skes_screen_<variant>.json)
set -euo pipefail
cd "$(dirname "$0")/.."
NET=--model.init_args.network.init_args
BASE="$NET.propagation true $NET.layers 2"
declare -A VARIANTS=(
  [l2]="$BASE"
  [l1]="$NET.propagation true $NET.layers 1"
  [l3]="$NET.propagation true $NET.layers 3"
  [no_propagation]="$NET.propagation false $NET.layers 2"
  [separate_projections]="$BASE $NET.shared_projection false"
  [mean_fusion]="$BASE $NET.fusion mean"
  [no_transport]="$BASE $NET.distance none"
  [sinkhorn]="$BASE $NET.distance sinkhorn"
  [pairwise]="$BASE --model.init_args.ltr_loss pairwise"
  [l2_lr0.01]="$BASE --model.init_args.lr 0.01"
  [l2_semantic]="$BASE $NET.views [centrality,similarity,semantic,paths] --data.init_args.semantic_features [semantic]"
)
ORDER=(l2 l1 l3 no_propagation separate_projections mean_fusion no_transport sinkhorn pairwise l2_lr0.01 l2_semantic)
run() {
  local name=$1 out=results/selection/fb15k_skes_screen_$1.json
  [[ -f $out ]] && { echo "$name: done ($out)"; return; }
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 python train.py cv --config configs/fb15k/skes.yaml --folds 0 ${VARIANTS[$name]} \
    --checkpoint.root "runs/selection/skes/$name" \
    --out "$out" >"runs/selection/skes_$name.log" 2>&1 && echo "$name: $(python -c "import json; print(json.load(open('$out'))['best_val/spearman']['mean'])")"
}
export -f run
mkdir -p runs/selection
names=("${@:-${ORDER[@]}}")
for name in "${names[@]}"; do [[ -v VARIANTS[$name] ]] || { echo "unknown variant $name; one of: ${ORDER[*]}" >&2; exit 2; }; done
for name in "${names[@]}"; do printf '%s\0' "$name"; done | \
  VARIANTS_DECL="$(declare -p VARIANTS)" xargs -0 -P 2 -I{} bash -c 'eval "$VARIANTS_DECL"; run "$@"' _ {}
