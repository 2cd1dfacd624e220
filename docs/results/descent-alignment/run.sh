#!/bin/bash
# SISR critics trained with the descent-alignment term beside the feature-specificity term, uncapped and capped,
# then measured and screened as the feature-specificity critics were (../screens/feature-specificity/).
# Run from the repository root with the project's environment active and MDFLOSS_DATA set to the data root, after
# the cpu benchmark's pretraining is in runs/cpu_sisr/pretrain_l1 (mdfloss benchmark --task sisr --preset cpu
# --only pretrain --out runs/cpu_sisr). Each Phase-1 run was one process pinned to one core, one thread.
set -e
: "${MDFLOSS_DATA:?set MDFLOSS_DATA to the data root}"
export OMP_NUM_THREADS=1
mkdir -p runs/critics runs/spec
train() {  # NAME then extra options
  local n=$1; shift
  mdfloss train --task sisr --preset fast --feature-specificity 1 --descent-alignment 1 "$@" \
    --out runs/critics/sisr_${n}_fast.safetensors --workdir runs/critics/sisr_${n}_fast.work
}
train fs1da1
train fs1cap7da1 --specificity-cap 7.4    # e^2
train fs1cap20da1 --specificity-cap 20    # e^3
for n in fs1da1 fs1cap7da1 fs1cap20da1; do
  L=runs/critics/sisr_${n}_fast.safetensors
  python benchmarks/mdf_term_scale.py --task sisr --model runs/cpu_sisr/pretrain_l1/model.pt \
    --terms "l2,mdf:$L@pyramid@finest=1" > runs/grad_$n.json
  python benchmarks/critic_specificity.py --task sisr --control tests/fixtures/fast_jpeg.safetensors --losses $L \
    --restorer runs/cpu_sisr/pretrain_l1/model.pt --data $MDFLOSS_DATA/BSD100 --images 10 --variants raw \
    --out runs/spec/$n.md
done
python benchmarks/mdf_term_scale.py --task sisr --model runs/cpu_sisr/pretrain_l1/model.pt \
  --terms "l2,mdf:docs/results/screens/sisr-critics/sisr_plain_fast.safetensors@pyramid@finest=1" > runs/grad_plain.json
python benchmarks/critic_terms_on_training_image.py docs/results/screens/sisr-critics/sisr_plain_fast.safetensors \
  docs/results/specificity/sisr_fs1_fast.safetensors runs/critics/sisr_fs1da1_fast.safetensors \
  runs/critics/sisr_fs1cap20da1_fast.safetensors runs/critics/sisr_fs1cap7da1_fast.safetensors
# Screens: λ = a third of the equal-pull value in runs/grad_NAME.json, rounded to 2 digits.
for out in screen_fs1da1 screen_capped; do
  mkdir -p runs/$out && cp -r runs/cpu_sisr/pretrain_l1 runs/$out/
done
mdfloss benchmark --task sisr --preset screen --out runs/screen_fs1da1 \
  --losses "l2,l2+1.3e-05*mdf:runs/critics/sisr_fs1da1_fast.safetensors@pyramid@finest=1@bf16"
mdfloss benchmark --task sisr --preset screen --out runs/screen_capped \
  --losses "l2,l2+0.0015*mdf:runs/critics/sisr_fs1cap7da1_fast.safetensors@pyramid@finest=1@bf16,l2+0.0009*mdf:runs/critics/sisr_fs1cap20da1_fast.safetensors@pyramid@finest=1@bf16"
