"""The comparison the paper claims: a task-trained MDF mix against the same mix with random critics and against
feature and weight-free losses, from the per-image CSVs of `mdfloss benchmark` runs.

Reads ``per_image_<set>_<run>.csv`` of every loss and seed from the folders given (the first that has a run's CSV
is used, so runs of the standard losses committed earlier can stand beside new ones when they share the
pretraining), and writes, per set and metric, paired differences over images and seeds with 95 % intervals
(mdfloss.restoration.stats):

* trained MDF − random MDF (what Phase 1 adds to its own architecture);
* MDF − each feature or weight-free loss, and MDF − the best of them on that metric;
* every loss − the best standard loss (L1, L2, MS-SSIM) on that metric.

    python benchmarks/compare_feature_peers.py --task sisr --runs runs/peers_cpu_sisr \\
        --runs docs/results/feature-specificity/sisr --standard l1,l2,msssim --mdf "l2+0.0025*mdf:..." \\
        --random "l2+0.0025*mdf:...@random=0" --peers "l2+...*vgg:random=0@bf16,..." --out docs/results/feature-peers/sisr
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mdfloss.common.files import atomic_write_bytes, safe_name
from mdfloss.restoration.benchmark import read_per_image, run_name
from mdfloss.restoration.metric_table import higher_is_better
from mdfloss.restoration.stats import Interval, mean_over, seed_interval, seeded_difference

METRICS = ("jod", "flip", "psnr_rgb", "ssim_rgb", "haarpsi")
SETS = {"sisr": ["Set5", "Set14", "BSD100"], "jpeg": ["LIVE1", "Classic5"], "denoise": ["CBSD68", "McMaster"]}


def load_runs(folders: list[Path], set_name: str, losses: list[str], seeds: list[int]) -> dict:
    """``{loss: {metric: [per-seed {image: value}]}}`` for one set; a loss with a seed missing everywhere is left
    out (and named in the result's ``missing``)."""
    out: dict = {}
    for loss in losses:
        per_seed = []
        for s in seeds:
            name = f"per_image_{safe_name(set_name)}_{run_name(loss, s, seeds[0])}.csv"
            found = next((f / name for f in folders if (f / name).is_file()), None)
            if found is None:
                break
            per_seed.append(read_per_image(found))
        if len(per_seed) == len(seeds):
            out[loss] = {m: [{img: row[m] for img, row in rows.items()} for rows in per_seed] for m in METRICS}
    return out


def _signed(d: Interval, metric: str) -> Interval:
    """A difference signed so that positive favours the first loss (FLIP is lower-is-better)."""
    sign = 1.0 if higher_is_better(metric) else -1.0
    return Interval(sign * d.mean, d.half, d.df)


def compare_set(runs: dict, standard: list[str], mdf: str, random: str, peers: list[str]) -> dict:
    """The comparison of one set; every difference is signed so that positive favours the first-named loss."""
    rows: dict = {"means": {}, "trained_vs_random": {}, "mdf_vs_peer": {}, "mdf_vs_best_peer": {},
                  "vs_best_standard": {}}
    present_peers = [p for p in peers if p in runs]
    for metric in METRICS:
        hib = higher_is_better(metric)
        for loss, by_metric in runs.items():
            seeds = by_metric[metric]
            iv = seed_interval([sum(r.values()) / len(r) for r in seeds])
            rows["means"].setdefault(loss, {})[metric] = [iv.mean, iv.half]
        std = [s for s in standard if s in runs]
        best_std = sorted(std, key=lambda k: mean_over(runs[k][metric]), reverse=hib)[0] if std else None
        if mdf in runs and random in runs:
            d = _signed(seeded_difference(runs[mdf][metric], runs[random][metric]), metric)
            rows["trained_vs_random"][metric] = [d.mean, d.half]
        if mdf in runs:
            for peer in present_peers:
                d = _signed(seeded_difference(runs[mdf][metric], runs[peer][metric]), metric)
                rows["mdf_vs_peer"].setdefault(peer, {})[metric] = [d.mean, d.half]
            if present_peers:
                best = sorted(present_peers, key=lambda k: mean_over(runs[k][metric]), reverse=hib)[0]
                d = _signed(seeded_difference(runs[mdf][metric], runs[best][metric]), metric)
                rows["mdf_vs_best_peer"][metric] = {"peer": best, "diff": [d.mean, d.half]}
        if best_std:
            for loss in runs:
                if loss != best_std:
                    d = _signed(seeded_difference(runs[loss][metric], runs[best_std][metric]), metric)
                    rows["vs_best_standard"].setdefault(loss, {})[metric] = [d.mean, d.half, best_std]
    return rows


def _fmt(pair) -> str:
    mean, half = pair[0], pair[1]
    text = f"{mean:+.4f} ± {half:.4f}"
    return f"**{text}**" if half == half and abs(mean) > half else text


def write_markdown(task: str, result: dict, names: dict[str, str]) -> str:
    """The report: per set, the means, trained − random, MDF − each peer and every loss − the best standard."""
    short = lambda loss: names.get(loss, loss)  # noqa: E731
    lines = [f"# {task}: MDF against random critics, feature and weight-free losses", "",
             "Differences are paired over images and seeds (95 % intervals, **bold** where it excludes 0), signed so "
             "that **positive favours the first-named loss** on every metric (FLIP, lower-is-better, is negated).",
             "", "Losses: " + "; ".join(f"{v} = `{k}`" for k, v in names.items()), ""]
    for set_name, rows in result["sets"].items():
        lines += [f"## {set_name}", "", "| loss | " + " | ".join(METRICS) + " |",
                  "|---|" + "---|" * len(METRICS)]
        for loss, m in rows["means"].items():
            lines.append(f"| {short(loss)} | " + " | ".join(f"{m[k][0]:.4f} ± {m[k][1]:.4f}" for k in METRICS) + " |")
        lines += ["", "| comparison | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
        if rows["trained_vs_random"]:
            lines.append("| trained MDF − random MDF | "
                         + " | ".join(_fmt(rows["trained_vs_random"][k]) for k in METRICS) + " |")
        for peer, m in rows["mdf_vs_peer"].items():
            lines.append(f"| MDF − {short(peer)} | " + " | ".join(_fmt(m[k]) for k in METRICS) + " |")
        if rows["mdf_vs_best_peer"]:
            lines.append("| MDF − best peer | " + " | ".join(
                f"{_fmt(rows['mdf_vs_best_peer'][k]['diff'])} ({short(rows['mdf_vs_best_peer'][k]['peer'])})"
                for k in METRICS) + " |")
        for loss, m in rows["vs_best_standard"].items():
            lines.append(f"| {short(loss)} − best standard | " + " | ".join(
                f"{_fmt(m[k])} ({short(m[k][2])})" if k in m else "(itself)" for k in METRICS) + " |")
        lines.append("")
    if result["missing"]:
        lines += ["Not in this report (a seed not finished): " + ", ".join(f"`{m}`" for m in result["missing"]), ""]
    return "\n".join(lines)


def summary(paths: list[Path]) -> str:
    """One table over tasks and sets from ``comparison.json`` files: trained − random MDF and MDF − the best
    feature or weight-free loss on JOD and FLIP (positive favours MDF), and MDF − the best standard loss."""
    lines = ["| task | set | seeds | trained − random MDF, JOD | … FLIP | MDF − best peer, JOD | … FLIP "
             "| MDF − best standard, JOD | … FLIP |", "|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        result = json.loads(Path(path).read_text())
        mdf = result["mdf"]
        for set_name, rows in result["sets"].items():
            cells = [_fmt(rows["trained_vs_random"][m]) if m in rows["trained_vs_random"] else "—"
                     for m in ("jod", "flip")]
            best = rows["mdf_vs_best_peer"]  # empty when no peer has every seed
            cells += [f"{_fmt(best[m]['diff'])} ({_short_peer(best[m]['peer'])})" if m in best else "— (no peer with "
                      "these seeds)" for m in ("jod", "flip")]
            std = rows["vs_best_standard"].get(mdf, {})
            cells += [f"{_fmt(std[m])} ({std[m][2]})" if m in std else "(itself)" for m in ("jod", "flip")]
            lines.append(f"| {result['task']} | {set_name} | {len(result['seeds'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _short_peer(spec: str) -> str:
    term = spec.split("*", 1)[-1]
    return {"vgg": "VGG19 random", "lpips": "LPIPS random", "msswd": "MS-SWD", "ffl": "FFL"}.get(
        term.split(":")[0].split("@")[0], term)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", required=True, choices=list(SETS))
    ap.add_argument("--runs", action="append", required=True, type=Path, help="a folder of per-image CSVs")
    ap.add_argument("--standard", default="l1,l2,msssim")
    ap.add_argument("--mdf", required=True, help="the trained MDF mix")
    ap.add_argument("--random", required=True, help="the same mix with random critics")
    ap.add_argument("--peers", required=True, help="comma-separated mixes with feature and weight-free losses")
    ap.add_argument("--names", default="", help="comma-separated short names: standard..., MDF, random, peers...")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", required=True, type=Path)
    if argv is None:
        import sys

        argv = sys.argv[1:]
    if argv and argv[0] == "summary":  # compare_feature_peers.py summary A/comparison.json B/comparison.json ...
        print(summary([Path(p) for p in argv[1:]]))
        return
    args = ap.parse_args(argv)
    standard, peers = args.standard.split(","), args.peers.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    losses = standard + [args.mdf, args.random] + peers
    names = dict(zip(losses, args.names.split(","))) if args.names else {loss: loss for loss in losses}
    result: dict = {"task": args.task, "seeds": seeds, "losses": losses, "mdf": args.mdf, "random": args.random,
                    "sets": {}, "missing": []}
    for set_name in SETS[args.task]:
        runs = load_runs(args.runs, set_name, losses, seeds)
        result["missing"] += [loss for loss in losses if loss not in runs and loss not in result["missing"]]
        result["sets"][set_name] = compare_set(runs, standard, args.mdf, args.random, peers)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "comparison.json", json.dumps(result, indent=1).encode())
    atomic_write_bytes(args.out / "comparison.md", write_markdown(args.task, result, names).encode())
    print(write_markdown(args.task, result, names))


if __name__ == "__main__":
    main()
