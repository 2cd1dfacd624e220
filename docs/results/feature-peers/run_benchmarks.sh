#!/bin/bash
# The paper's comparison, 3 tasks x 3 seeds, cpu protocol: each task's best MDF mix against the same mix with random
# critics (the control for Phase 1), and against random-weight VGG19 and LPIPS, MS-SWD and the focal frequency loss.
# One rule sets every mix's weight: l2 + λ·TERM with λ a third of TERM's equal-pull value |∇L2| / |∇TERM|, measured
# by benchmarks/mdf_term_scale.py at the task's L1 pretraining (the fraction the best MDF mixes were chosen with),
# rounded to 2 significant digits. No loss is tuned further.
#
# Run from the repository root with the project's environment active and MDFLOSS_DATA set to the data root:
#   bash docs/results/feature-peers/run_benchmarks.sh pretrain      # the L1 pretraining of each task (2 threads)
#   bash docs/results/feature-peers/run_benchmarks.sh scale         # λ of every term, gradients/T.json
#   bash docs/results/feature-peers/run_benchmarks.sh jobs | xargs -d '\n' -P 2 --process-slot-var=SLOT -I{} bash -c {}
#   bash docs/results/feature-peers/run_benchmarks.sh report        # per task: the benchmark report + the comparison
# Each job is one `--only` run pinned to one core with one thread; the jobs are ordered seed-major, so a cut-short
# run still has every loss of every task at its first seeds.
#
# All 54 jobs ran for the committed results (over two sessions; a job takes 5-10 minutes on one core).
set -euo pipefail
: "${MDFLOSS_DATA:?set MDFLOSS_DATA to the data root}"
HERE=docs/results/feature-peers
TASKS="sisr jpeg denoise"
declare -A MDF=(  # each task's best MDF term (docs/results/which-loss-wins.md), its mix fraction being the rule's
  [sisr]="mdf:sisr@pyramid@finest=1"
  [jpeg]="mdf:docs/results/screens/jpeg-critics/jpeg_k1_fast.safetensors@pyramid@finest=1"
  [denoise]="mdf:denoise@pyramid@finest=1")
PEERS="vgg:random=0 lpips:random=0 msswd ffl"

terms() {  # the terms whose λ is measured, in fp32 (bf16 changes the step's cost, not the gradient's scale)
  echo "l2,${MDF[$1]},${MDF[$1]}@random=0,${PEERS// /,}"
}

mixes() {  # the mixes of task $1 (the trained MDF mix first), λ from gradients/$1.json; feature terms in bf16 as the MDF mix is
  python - "$HERE/gradients/$1.json" "${MDF[$1]}" <<'PY'
import json, sys
from math import floor, log10
terms = json.load(open(sys.argv[1]))["terms"]
mdf = sys.argv[2]
for term in (mdf, mdf + "@random=0", "vgg:random=0", "lpips:random=0", "msswd", "ffl"):
    lam = terms[term]["lambda_equal_pull_vs_l2"] / 3
    lam = round(lam, -int(floor(log10(lam))) + 1)
    bf16 = "@bf16" if term.startswith(("mdf", "vgg", "lpips")) else ""
    print(f"l2+{lam:g}*{term}{bf16}")
PY
}

case "${1:-}" in
  pretrain)
    for t in $TASKS; do mdfloss benchmark --task $t --preset cpu --out runs/peers_cpu_$t --only pretrain; done ;;
  scale)
    mkdir -p $HERE/gradients
    for t in $TASKS; do
      python benchmarks/mdf_term_scale.py --task $t --model runs/peers_cpu_$t/pretrain_l1/model.pt \
        --terms "$(terms $t)" > $HERE/gradients/$t.json
    done ;;
  jobs)
    for s in 0 1 2; do for t in $TASKS; do for spec in $(mixes $t); do
      echo "taskset -c \$((SLOT % 2)) env OMP_NUM_THREADS=1 mdfloss benchmark --task $t --preset cpu --out runs/peers_cpu_$t --only '$spec' --seed $s > runs/peers_cpu_$t.$s.\$(echo '$spec' | md5sum | cut -c1-8).log 2>&1"
    done; done; done ;;
  report)
    # Per task: the benchmark's own report of the mixes run here (3 seeds); the comparison, with L1, L2 and
    # MS-SSIM from the committed feature-specificity runs (the same protocol and a pretraining that reproduces to
    # float rounding, see README.md), at seeds 0-2 and at seed 0; each loss's step cost against L1, side by side
    # in one process (skipped with STEP_COST=0).
    NAMES="L1,L2,MS-SSIM,MDF,MDF random,VGG19 random,LPIPS random,MS-SWD,FFL"
    for t in $TASKS; do
      set -- $(mixes $t)
      mdfloss benchmark --task $t --preset cpu --seeds 3 --out runs/peers_cpu_$t --losses "$1,$2,$3,$4,$5,$6" --report-only
      mkdir -p $HERE/$t
      cp runs/peers_cpu_$t/results.* runs/peers_cpu_$t/*.png runs/peers_cpu_$t/per_image_*.csv $HERE/$t/
      for seeds in 0,1,2 0; do
        out=$HERE/$t; [ $seeds = 0 ] && out=$HERE/$t/seed0
        python benchmarks/compare_feature_peers.py --task $t --runs runs/peers_cpu_$t \
          --runs docs/results/feature-specificity/$t --mdf "$1" --random "$2" --peers "$3,$4,$5,$6" --names "$NAMES" \
          --seeds $seeds --out $out
      done
      [ "${STEP_COST:-1}" = 0 ] || OMP_NUM_THREADS=1 python benchmarks/bench_restoration_losses.py --task $t \
        --threads 1 --repeats 10 --losses "l1,l2,msssim,$(mixes $t | tr '\n' ',' | sed 's/,$//')" > $HERE/$t/step_cost.md
    done
    python benchmarks/compare_feature_peers.py summary $HERE/{sisr,jpeg,denoise}/comparison.json > $HERE/summary_seeds012.md
    python benchmarks/compare_feature_peers.py summary $HERE/{sisr,jpeg,denoise}/seed0/comparison.json \
      > $HERE/summary_seed0.md
    ;;
  mixes)
    for t in $TASKS; do echo "$t: $(mixes $t | tr '\n' ' ')"; done ;;
  *)
    echo "usage: $0 pretrain|scale|jobs|mixes|report" >&2; exit 2 ;;
esac
