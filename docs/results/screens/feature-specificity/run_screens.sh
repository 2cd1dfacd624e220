#!/bin/bash
# Screens (200 fine-tuning steps, 20 images) of l2 against l2 + λ·MDF with the feature-specificity critics;
# λ = a third of the equal-pull value of benchmarks/mdf_term_scale.py, as the earlier critic screens.
# Run from the repository root with the project's environment active and MDFLOSS_DATA set to the data root,
# after the three *_fs1_fast losses are in runs/critics/ and the cpu benchmarks' pretraining in runs/cpu_T/.
set -e
: "${MDFLOSS_DATA:?set MDFLOSS_DATA to the data root}"
for t in sisr jpeg denoise; do
  P=""  # the tasks' defaults (JPEG q10, noise sigma 25), as the cpu benchmarks and their pretraining
  python benchmarks/mdf_term_scale.py --task $t --model runs/cpu_$t/pretrain_l1/model.pt --terms "l2,mdf:runs/critics/${t}_fs1_fast.safetensors@pyramid@finest=1" > runs/fs_scale_$t.json 2> runs/fs_scale_$t.err
  LAM=$(python -c "import json;d=json.load(open('runs/fs_scale_$t.json'));v=[x for k,x in d['terms'].items() if k!='l2'][0]['lambda_equal_pull_vs_l2']/3;print(f'{v:.2g}')")
  mkdir -p runs/screen_${t}_fs1 && cp -r runs/cpu_$t/pretrain_l1 runs/screen_${t}_fs1/ 2>/dev/null
  mdfloss benchmark --task $t $P --preset screen --out runs/screen_${t}_fs1 --losses "l2,l2+${LAM}*mdf:runs/critics/${t}_fs1_fast.safetensors@pyramid@finest=1@bf16" > runs/screen_${t}_fs1.log 2>&1
done
