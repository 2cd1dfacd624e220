"""Proof that the test suite bites: break one feature at a time in a temporary copy of the
project and check that the tests covering it fail.

Each mutation is a one-line edit of the source. The copy is imported ahead of the installed
package (PYTHONPATH), with ``../shared`` linked beside it as in a checkout. A mutation is
*killed* when its tests fail, and *survives* when they still pass; the script exits 1 if
any survives.

    python benchmarks/mutation_check.py            # all mutations
    python benchmarks/mutation_check.py --only y-coefficients
    python benchmarks/mutation_check.py --round since-1129 --tests tests/test_tasks.py   # what kills each
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import FIRST_ROUND, MUTATIONS, SINCE_1129  # noqa: E402  (the list lives beside this script)


def _copy(tmp: Path) -> Path:
    root = tmp / "repo"
    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "tests", root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("docs", "benchmarks", "examples"):  # tests run the docs' examples and import benchmark helpers
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "mkdocs.yml"):
        shutil.copy(REPO / name, root / name)
    shared = (REPO.parent / "shared").resolve()
    if shared.exists():
        (tmp / "shared").symlink_to(shared)  # tests read ../shared beside the checkout
    return root


def _run(root: Path, tests: tuple[str, ...]) -> tuple[int, float, str]:
    # one process, no xdist: the named tests are few, and a worker pool costs more to start than they take
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider", *tests],
                          cwd=root, env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines() or [""]
    failed = [ln.split(" ")[1] for ln in lines if ln.startswith("FAILED ")]
    tail = failed[0].split("::")[-1] if failed else lines[-1]  # the first test that failed, else pytest's summary
    return proc.returncode, time.perf_counter() - t0, tail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="run the mutations whose name contains this text")
    ap.add_argument("--round", choices=["first", "since-1129", "all"], default="all",
                    help="which list: the first round's, the code added since 2026-11-29, or both")
    ap.add_argument("--tests", default=None,
                    help="comma-separated test paths to run instead of each mutation's own (to find what kills it)")
    args = ap.parse_args()
    pool = {"first": FIRST_ROUND, "since-1129": SINCE_1129, "all": MUTATIONS}[args.round]
    chosen = [m for m in pool if args.only is None or args.only in m.name]
    survived = []
    print("| mutation | kind | tests | result | seconds |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = _copy(Path(tmp))  # one copy; each mutation is undone before the next
        every = tuple(dict.fromkeys(t for m in chosen for t in (args.tests.split(",") if args.tests else m.tests)))
        rc, seconds, tail = _run(root, every)  # the unmutated code passes all the named tests, in one run
        if rc != 0:
            raise SystemExit(f"the tests fail before mutating ({tail}); fix them first")
        print(f"| (none: the unmutated code) | | {len(every)} test ids | passed | {seconds:.0f} |", flush=True)
        for m in chosen:
            tests = tuple(args.tests.split(",")) if args.tests else m.tests
            path = root / "src" / "mdfloss" / m.file
            text = path.read_text()
            if text.count(m.old) != 1:
                raise SystemExit(f"{m.name}: the text to mutate is not found once in {m.file}; update the mutation")
            path.write_text(text.replace(m.old, m.new))
            try:
                rc, seconds, tail = _run(root, tests)
            finally:
                path.write_text(text)
            killed = rc != 0
            if not killed:
                survived.append(m.name)
            print(f"| {m.name} | {m.kind} | {', '.join(t.split('::')[-1] for t in tests)} | "
                  f"{'killed by ' + tail if killed else 'SURVIVED'} | {seconds:.0f} |", flush=True)
    print(f"\n{len(chosen) - len(survived)} of {len(chosen)} mutations killed"
          + (f"; survived: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
