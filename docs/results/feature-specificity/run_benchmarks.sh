#!/bin/bash
# The 3-seed cpu benchmarks of the feature-specificity critics (mdfloss train --feature-specificity 1, fast preset)
# against L1, L2, MS-SSIM and the best earlier MDF mix of each task, all fine-tuned from one L1 pretraining per task.
# λ of the new mixes: a third of the equal-pull value measured by benchmarks/mdf_term_scale.py at that pretraining,
# as in the screens (../screens/feature-specificity/).
# Run from the repository root with the project's environment active and MDFLOSS_DATA set to the data root.
# Each (loss, seed) is one `--only` run, so the work can be spread over processes or machines (here: two processes,
# each pinned to one core with OMP_NUM_THREADS=1); --report-only then writes the report.
set -e
: "${MDFLOSS_DATA:?set MDFLOSS_DATA to the data root}"
declare -A BEST=(
  [sisr]="l2+0.0025*mdf:sisr@pyramid@finest=1@bf16"
  [jpeg]="l2+0.0016*mdf:docs/results/screens/jpeg-critics/jpeg_k1_fast.safetensors@pyramid@finest=1@bf16"
  [denoise]="l2+0.002*mdf:denoise@pyramid@finest=1@bf16")
declare -A FS=(
  [sisr]="l2+0.0012*mdf:docs/results/specificity/sisr_fs1_fast.safetensors@pyramid@finest=1@bf16"
  [jpeg]="l2+0.00031*mdf:docs/results/specificity/jpeg_fs1_fast.safetensors@pyramid@finest=1@bf16"
  [denoise]="l2+0.00034*mdf:docs/results/specificity/denoise_fs1_fast.safetensors@pyramid@finest=1@bf16")
for t in sisr jpeg denoise; do
  OUT=runs/fs_cpu_$t
  LOSSES="l1,l2,msssim,${BEST[$t]},${FS[$t]}"
  mdfloss benchmark --task $t --preset cpu --out $OUT --only pretrain   # or copy an earlier runs/cpu_$t/pretrain_l1
  for spec in ${LOSSES//,/ }; do
    for s in 0 1 2; do
      OMP_NUM_THREADS=1 mdfloss benchmark --task $t --preset cpu --out $OUT --only "$spec" --seed $s
    done
  done
  mdfloss benchmark --task $t --preset cpu --seeds 3 --out $OUT --losses "$LOSSES" --report-only
  # results.json names the sets (not this machine's data paths), so it is committed as written
  mkdir -p docs/results/feature-specificity/$t
  cp $OUT/results.* $OUT/*.png $OUT/per_image_*.csv docs/results/feature-specificity/$t/
done
