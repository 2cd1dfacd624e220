"""Speed and memory of the MDF loss against the original formulation and VGG19.

Each case: forward of the target, forward of the prediction, backward to the
prediction. All MDF cases use the converted published SISR weights (8 critics).
Run:  python benchmarks/bench_loss.py [--sizes 256 512] [--repeats 3] [--threads 2]

Memory "kept for backward" is the total size of the distinct tensors that
autograd saves between forward and backward (measured with saved-tensor hooks),
plus the target's features that the loss keeps alive.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from mdfloss import MDFLoss
from mdfloss.loss.assets import pretrained_path
from mdfloss.phase1.nets import Critic
from mdfloss.restoration.losses.vgg import vgg19_features
from mdfloss.loss.weights import load_loss_file


class OriginalMDF(nn.Module):
    """The published formulation as gfxdisp/mdf runs it: Conv -> BN -> LeakyReLU modules, eval mode."""

    def __init__(self, num_scales: int = 8) -> None:
        super().__init__()
        weights = load_loss_file(pretrained_path("published-sisr"))
        self.critics = nn.ModuleList()
        for state in weights.critics[:num_scales]:
            c = Critic(int(state["head.conv.weight"].shape[0]))
            c.load_state_dict({k: v for k, v in state.items()}, strict=False)
            self.critics.append(c.eval().requires_grad_(False))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = torch.zeros(x.shape[0])
        for c in self.critics:
            for a, b in zip(c.features(x), c.features(y)):
                loss = loss + ((a - b) ** 2).mean(dim=(1, 2, 3))
        return loss.mean()


class VGGLoss(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = vgg19_features().eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((self.net(x) - self.net(y)) ** 2).mean()


def _saved_bytes(fn) -> tuple[torch.Tensor, int]:
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        s = t.untyped_storage()
        seen[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(seen.values())


def run_case(loss_fn, size: int, repeats: int, autocast: bool, gen: torch.Generator):
    target = torch.rand(1, 3, size, size, generator=gen)
    pred = (target + 0.05 * torch.randn(1, 3, size, size, generator=gen)).clamp(0, 1)
    times, value, mem = [], None, 0
    for i in range(repeats + 1):  # first run warms up
        p = pred.clone().requires_grad_(True)
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            v, mem = _saved_bytes(lambda: loss_fn(p, target))
        v.backward()
        dt = time.perf_counter() - t0
        if i:
            times.append(dt)
        value = v.detach().item()
    return statistics.median(times), value, mem


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cases = [
        ("a", "original formulation (Conv/BN/LReLU modules)", OriginalMDF(), False),
        ("b", "mdfloss reference, float32", MDFLoss.pretrained("published-sisr", mode="reference"), False),
        ("c", "mdfloss reference, bf16 autocast", MDFLoss.pretrained("published-sisr", mode="reference"), True),
        ("d", "mdfloss pyramid, float32", MDFLoss.pretrained("published-sisr", mode="pyramid"), False),
        ("e", "VGG19 conv to relu5_4, float32", VGGLoss(), False),
    ]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}")
    print("| size | case | what | time (s) | speed-up vs (a) | kept for backward (MB) | vs (a) | loss | rel. diff vs (a) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        base = None
        for key, what, fn, ac in cases:
            gen = torch.Generator().manual_seed(0)
            t, v, mem = run_case(fn, size, args.repeats, ac, gen)
            if base is None:
                base = (t, v, mem)
            rel = abs(v - base[1]) / abs(base[1]) if key in "abc" else float("nan")
            print(f"| {size}² | ({key}) | {what} | {t:.3f} | {base[0] / t:.2f}× | {mem / 2**20:.0f} | "
                  f"{mem / base[2]:.2f} | {v:.6g} | {'%.2e' % rel if key in 'abc' else '—'} |", flush=True)


if __name__ == "__main__":
    main()
