#!/usr/bin/env bash
# The core install alone (no extras) in its own venv, with the CPU torch 2.13.0 wheel (the lowest torch the core
# allows): the loss, a short Phase-1 run on a tiny image, a restoration smoke run with an MDF term, and evaluate's
# one-line refusal when the metrics extra is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q torch==2.13.0
"$py" -m pip install -q .
# The metrics extra takes ranges: added to an environment that holds torch 2.13.0, with that torch named, pip keeps
# it and picks the torchvision that matches it (exact pins made this impossible). Resolved only (--dry-run).
"$py" -m pip install -q --dry-run --report "$work/metrics.json" ".[metrics]" "torch==2.13.0"
"$py" - "$work/metrics.json" <<'PY'
import json, sys
plan = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.load(open(sys.argv[1]))["install"]}
if "torch" in plan:
    sys.exit(f"core: pip install '.[metrics]' would replace torch 2.13.0 with {plan['torch']}")
print("core: the metrics extra keeps torch 2.13.0, with torchvision", plan.get("torchvision"))
PY
cd "$work"
"$py" - <<'PY'
import numpy as np, torch
from PIL import Image
import mdfloss
from mdfloss import MDFLoss
rng = np.random.default_rng(0)
import os
os.makedirs("imgs")
for i in range(3):
    Image.fromarray(rng.integers(0, 256, (72, 64, 3), dtype=np.uint8)).save(f"imgs/{i}.png")
x = torch.rand(1, 3, 96, 96, requires_grad=True)
MDFLoss.pretrained("jpeg", mode="pyramid")(x, torch.rand(1, 3, 96, 96)).backward()
# The files the wheel must carry besides the code (a non-editable install: pip built the wheel from the source).
from importlib import resources
from mdfloss.integrations import dropin_source
from mdfloss.loss.assets import available_losses
assert resources.files("mdfloss").joinpath("py.typed").is_file()
assert resources.files("mdfloss.study").joinpath("web/index.html").is_file()
assert resources.files("mdfloss.data").joinpath("manifest.json").is_file()
assert "LOSS_REGISTRY.register" in dropin_source("neosr") and "LOSS_REGISTRY.register" in dropin_source("trainner-redux")
assert set(available_losses()) >= {"sisr", "denoise", "jpeg", "published-sisr", "published-jpeg"}
print("core: the wheel carries py.typed, the study page, the data manifest, the drop-ins and the shipped losses")
assert x.grad is not None and torch.__version__.startswith("2.13")
print("core: loss ok with torch", torch.__version__)
PY
mdf="$work/venv/bin/mdfloss"
"$mdf" train --task jpeg --preset fast --iterations 2 --image imgs/0.png --out jpeg.safetensors
"$mdf" train-restorer --task denoise --loss "l1+0.001*mdf:jpeg.safetensors@pyramid" --preset smoke \
    --train-set imgs --val-set imgs --device cpu --out restorer
set +e
"$mdf" evaluate --model restorer/model.pt --set imgs 2> err.txt
rc=$?
set -e
if [ "$rc" -ne 2 ] || ! grep -q "pip install 'mdfloss\[metrics\]'" err.txt; then
    echo "core: evaluate without the metrics extra should stop with one line naming it (exit $rc):"; cat err.txt
    exit 1
fi
"$mdf" evaluate --model restorer/model.pt --set imgs --no-perceptual
"$mdf" restore --model restorer/model.pt --input imgs --out restored --tile 32
test -f restored/0.png
# A study folder needs only the core; serving and scaling it need the study extra, named in one line.
mkdir a b
cp imgs/*.png a/ && cp imgs/*.png b/
"$mdf" study create --out st --reference imgs --method a=a --method b=b
"$mdf" data list > /dev/null  # the manifest needs only the core
set +e
"$mdf" data download Set5 --data-root dl 2> err.txt
rc=$?
set -e
if [ "$rc" -ne 2 ] || ! grep -q "pip install 'mdfloss\[data\]'" err.txt || [ -e dl/Set5 ]; then
    echo "core: 'data download' without the data extra should stop with one line naming it (exit $rc):"; cat err.txt
    exit 1
fi
for cmd in "serve st" "scale st --out jod"; do
    set +e
    "$mdf" study $cmd 2> err.txt
    rc=$?
    set -e
    if [ "$rc" -ne 2 ] || ! grep -q "pip install 'mdfloss\[study\]'" err.txt || [ "$(wc -l < err.txt)" -ne 1 ]; then
        echo "core: 'study $cmd' without the study extra should stop with one line naming it (exit $rc):"; cat err.txt
        exit 1
    fi
done
echo "core install: loss, train, train-restorer, evaluate --no-perceptual and study create passed; evaluate, data download and study named the missing extras"
