"""Proof that the test suite bites: break one feature at a time in a temporary copy of the
project and check that the tests covering it fail.

Each mutation is a one-line edit of the source. The copy is imported ahead of the installed
package (PYTHONPATH), with ``../shared`` linked beside it as in a checkout. A mutation is
*killed* when its tests fail, and *survives* when they still pass; the script exits 1 if
any survives.

    python benchmarks/mutation_check.py            # all mutations
    python benchmarks/mutation_check.py --only y-coefficients
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # under src/mdfloss
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation("ignore --init", "restoration/train.py", "        load_init(model, init, task)\n", "        pass\n",
             ("tests/test_restoration.py::test_fine_tune_loads_the_init_weights",)),
    Mutation("restorer restarts instead of resuming", "restoration/train.py", "    if resume:\n        payload",
             "    if False:\n        payload", ("tests/test_restoration.py::test_train_resume_equals_uninterrupted",)),
    Mutation("phase 1 restarts instead of resuming", "phase1/trainer.py", "        if resume:\n            _restore(",
             "        if False:\n            _restore(", ("tests/test_phase1.py::test_resumed_run_equals_uninterrupted",)),
    Mutation("y-coefficients swapped", "restoration/metrics.py", "[65.481, 128.553, 24.966]",
             "[24.966, 128.553, 65.481]", ("tests/test_metrics_reference.py",)),
    Mutation("t quantile always 1.96", "restoration/stats.py", "    return float(t.ppf(0.5 + level / 2, df))",
             "    return 1.96", ("tests/test_stats.py",)),
    Mutation("MDF drops its last tap", "loss/mdf.py",
             "        for n, i in enumerate(self._tap_index):",
             "        for n, i in enumerate(self._tap_index[:-1]):",
             ("tests/test_parity.py",)),
    Mutation("loss spec drops its last term", "restoration/losses/spec.py",
             "        for w, term in zip(self.weights, self.terms):",
             "        for w, term in list(zip(self.weights, self.terms))[:-1]:",
             ("tests/test_restoration.py::test_loss_specs",)),
    Mutation("pairs rows by order, not by image name", "restoration/stats.py",
             "    d = [[float(sa[k]) - float(sb[k]) for k in names] for sa, sb in zip(a, b)]",
             "    d = [[float(x) - float(y) for x, y in zip(sa.values(), sb.values())] for sa, sb in zip(a, b)]",
             ("tests/test_stats.py::test_pairs_are_matched_by_image_name_not_order",)),
    # One of each kind of bug that slipped through before (docs/reliability.md): a setting that is ignored, a
    # validation never exercised, a schedule checked only against itself, durability assumed, a boundary
    # compared with its own output; and the specificity options.
    Mutation("JPEG quality ignored", "tasks/primitives.py", 'format="JPEG", quality=q)', 'format="JPEG", quality=75)',
             ("tests/test_settings_act.py::test_jpeg_quality_is_the_codecs_quality",)),
    Mutation("weight shapes not checked", "loss/weights.py", "            if tuple(t.shape) != shape:",
             "            if False:", ("tests/test_settings_act.py::test_a_tensor_of_the_wrong_shape_is_refused",)),
    Mutation("learning rate never decays", "common/runs.py", "    return base * factor ** sum(",
             "    return base + 0 * sum(", ("tests/test_settings_act.py::test_restorer_learning_rate_schedule_by_hand",)),
    Mutation("answers stored with synchronous=NORMAL", "study/store.py", 'db.execute("PRAGMA synchronous=FULL")',
             'db.execute("PRAGMA synchronous=NORMAL")',
             ("tests/test_settings_act.py::test_answer_store_is_durable_on_a_live_connection",)),
    Mutation("pyramid skips a scale at exactly one receptive field", "loss/mdf.py",
             "if min(size) >= RECEPTIVE_FIELD:", "if min(size) > RECEPTIVE_FIELD:",
             ("tests/test_settings_act.py::test_pyramid_uses_a_scale_at_exactly_one_receptive_field",)),
    Mutation("degraded negatives ignored", "phase1/steps.py", "    negative = degraded_real(run.k,",
             "    negative = None and degraded_real(run.k,",
             ("tests/test_phase1_negatives.py::test_a_run_with_negatives_logs_their_gap_and_trains_other_critics",)),
    Mutation("calibration weights ignored", "loss/mdf.py", "            if weighted and self._sqrt_w is not None:",
             "            if False:",
             ("tests/test_calibration.py::test_calibration_weights_enter_the_loss_as_channel_weights",)),
]


def _copy(tmp: Path) -> Path:
    root = tmp / "repo"
    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "tests", root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shared = (REPO.parent / "shared").resolve()
    if shared.exists():
        (tmp / "shared").symlink_to(shared)  # tests read ../shared beside the checkout
    return root


def _run(root: Path, tests: tuple[str, ...]) -> tuple[int, float, str]:
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                          cwd=root, env=env, capture_output=True, text=True)
    tail = (proc.stdout.strip().splitlines() or [""])[-1]
    return proc.returncode, time.perf_counter() - t0, tail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="run the mutations whose name contains this text")
    args = ap.parse_args()
    chosen = [m for m in MUTATIONS if args.only is None or args.only in m.name]
    survived = []
    print("| mutation | tests | result | seconds |\n|---|---|---|---|")
    for m in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            root = _copy(Path(tmp))
            clean_rc, _, clean_tail = _run(root, m.tests)
            if clean_rc != 0:
                raise SystemExit(f"{m.name}: the tests fail before mutating ({clean_tail}); fix them first")
            path = root / "src" / "mdfloss" / m.file
            text = path.read_text()
            if text.count(m.old) != 1:
                raise SystemExit(f"{m.name}: the text to mutate is not found once in {m.file}; update the mutation")
            path.write_text(text.replace(m.old, m.new))
            rc, seconds, tail = _run(root, m.tests)
        killed = rc != 0
        if not killed:
            survived.append(m.name)
        print(f"| {m.name} | {', '.join(t.split('::')[-1] for t in m.tests)} | "
              f"{'killed: ' + tail if killed else 'SURVIVED'} | {seconds:.0f} |", flush=True)
    print(f"\n{len(chosen) - len(survived)} of {len(chosen)} mutations killed"
          + (f"; survived: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
