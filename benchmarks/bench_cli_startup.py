"""Start-up time of the command line: ``mdfloss --help`` and ``mdfloss data list`` in fresh processes.

Neither imports torch (``tests/test_light_imports.py`` checks that); this measures what a user waits for.
Median of ``--repeats`` runs of each, printed with the CPU capability.

    python benchmarks/bench_cli_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

COMMANDS = {"mdfloss --help": ["--help"], "mdfloss data list": ["data", "list"],
            "python -c 'import torch'": None}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    cpu = torch.backends.cpu.get_cpu_capability()
    for label, cli_args in COMMANDS.items():
        cmd = [sys.executable, "-c", "import torch"] if cli_args is None else [sys.executable, "-m", "mdfloss", *cli_args]
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        print(f"{label:<28} {statistics.median(times):6.2f} s (median of {args.repeats}; CPU capability {cpu})")


if __name__ == "__main__":
    main()
