"""Magnitude and gradient norm of each loss term at an L1-pretrained network's outputs.

A mix ``l2+λ*mdf`` gives both terms equal pull on the prediction when
λ = |∇L2| / |∇MDF|; this script measures that ratio on training patches (the fine-tuning
setup: batches of 8 patches of 64 px), so the λ sweep can be centred on it.

It also reports where each term's gradient points: its cosine to L2's gradient (1: the term only adds L2's pull;
near 0: it pushes the output sideways rather than towards the target) and the share of its energy that changes
colour rather than brightness (off the grey axis R = G = B; L2's share is the residual's own).

    python benchmarks/mdf_term_scale.py --task sisr --model runs/pretrain_sisr/pretrain_l1/model.pt
"""

from __future__ import annotations

import argparse
import json

import torch

from mdfloss.restoration.losses.spec import expand_loss
from mdfloss.restoration.data import TrainPatches, resolve_set
from mdfloss.restoration.degradations import Degradation
from mdfloss.restoration.evaluate import load_restorer
from mdfloss.restoration.losses.spec import build_loss


def chroma_share(grad: torch.Tensor) -> float:
    """Fraction of the squared norm of an RGB gradient (N, 3, H, W) off the grey axis (R = G = B): the part that
    changes colour rather than brightness. An orthogonal split, so grey and colour parts add up to the whole;
    noise that is independent per channel puts 2/3 there."""
    grey = grad.sum(dim=1).pow(2).sum() / 3  # squared length of the projection on (1, 1, 1) / sqrt(3)
    return float(1 - grey / grad.pow(2).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", required=True)
    ap.add_argument("--model", required=True, help="model.pt of the L1 pretraining")
    ap.add_argument("--terms", default="l1,l2,mdf,mdf@pyramid,mdf@pyramid@finest=2,mdf@pyramid@finest=1")
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, record = load_restorer(args.model)
    deg = Degradation(args.task, **record["preset"]["degradation"])
    data = TrainPatches(resolve_set("BSDS500_train"), deg, args.patch, args.batches * args.batch, seed=123)
    terms = {t: build_loss(expand_loss(t, args.task)) for t in args.terms.split(",")}
    sums = {t: [0.0, 0.0, 0.0, 0.0] for t in terms}
    for b in range(args.batches):
        items = [data[b * args.batch + i] for i in range(args.batch)]
        lq, hq = torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])
        with torch.no_grad():
            pred0 = model(lq)
        l2_grad = (pred0 - hq).flatten()  # the direction of L2's gradient
        for name, term in terms.items():
            pred = pred0.clone().requires_grad_(True)
            value = term(pred, hq)
            (grad,) = torch.autograd.grad(value, pred)
            sums[name][0] += float(value) / args.batches
            sums[name][1] += float(grad.norm()) / args.batches
            sums[name][2] += float(torch.nn.functional.cosine_similarity(grad.flatten(), l2_grad, dim=0)) / args.batches
            sums[name][3] += chroma_share(grad) / args.batches
    g_l2 = sums["l2"][1] if "l2" in sums else float("nan")
    rows = {name: {"value": v, "grad_norm": g, "lambda_equal_pull_vs_l2": g_l2 / g if g else None,
                   "grad_cos_vs_l2": cos, "grad_chroma_share": chroma}
            for name, (v, g, cos, chroma) in sums.items()}
    print(json.dumps({"task": args.task, "model": args.model, "terms": rows, "torch": torch.__version__}, indent=2))


if __name__ == "__main__":
    main()
