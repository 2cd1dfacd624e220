"""One task definition: built-ins and plug-ins through every command, your own folders, paired data, and
scoring restorations you already have."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mdfloss import ImageReadError, InvalidInputError
from mdfloss.tasks import get_task, register_task

from .conftest import DATA, need, set5_as
from .conftest import run_cli as run

BLUR = "mdfloss.examples.distortions:gaussian_blur"



# --- plug-ins that break the contract, each refused in one line naming the plug-in --------------------------------

def grows(x):
    return torch.nn.functional.pad(x, (1, 1, 1, 1))


def to_255(x):
    return x * 255


def to_double(x):
    return x.double()


def explodes(x):
    raise RuntimeError("boom")


@pytest.mark.parametrize("fn, fragment", [(grows, "shape"), (to_255, r"near \[0, 1\]"), (to_double, "dtype"),
                                          (explodes, "raised RuntimeError: boom")])
def test_a_plugin_that_breaks_the_contract_is_refused(fn, fragment):
    name = f"tests.test_tasks:{fn.__name__}"
    with pytest.raises(InvalidInputError, match=fragment) as err:
        get_task(name)(torch.rand(1, 3, 8, 8), torch.Generator())
    assert name in str(err.value) and "\n" not in str(err.value)


def test_unknown_tasks_and_parameters_are_refused():
    with pytest.raises(InvalidInputError, match="unknown task 'deblur'.*module:function"):
        get_task("deblur")
    with pytest.raises(InvalidInputError, match="cannot import module"):
        get_task("no_such_module:fn")
    with pytest.raises(InvalidInputError, match="unknown parameter"):
        get_task("denoise", {"quality": 3})
    with pytest.raises(InvalidInputError, match="sigma: expected a number in \\(0, 255\\]"):
        get_task("denoise", {"sigma": 0})
    with pytest.raises(InvalidInputError, match="do not fit the plug-in"):
        get_task(BLUR, {"radius": 3})


def test_one_unit_for_noise_everywhere():
    # sigma is on the 0-255 scale for the task; Phase 1's recorded spec keeps its 0-1 scale.
    task = get_task("denoise", {"sigma": 51})
    x = torch.full((1, 3, 64, 64), 0.5)
    noise = task(x, torch.Generator().manual_seed(0)) - x
    assert abs(float(noise.std()) - 51 / 255) < 0.01
    assert task.phase1_spec() == ("denoise", {"sigma": 51 / 255})


def test_registered_plugin_has_its_sets_and_keeps_the_size():
    register_task("tests_box_blur", lambda x, k=3: torch.nn.functional.avg_pool2d(x, k, 1, k // 2),
                  val_set="Set5", eval_sets=("Set5",))
    task = get_task("tests_box_blur", {"k": 5})
    assert (task.factor, task.val_set, task.eval_sets) == (1, "Set5", ("Set5",))
    x = torch.rand(1, 3, 16, 16)
    y = task(x, torch.Generator())
    # A 5x5 box average, checked at one interior pixel by hand.
    assert torch.allclose(y[0, :, 8, 8], x[0, :, 6:11, 6:11].mean(dim=(-2, -1)))
    with pytest.raises(InvalidInputError, match="built-in task"):
        register_task("jpeg", lambda x: x)


# --- a plug-in task through train, train-restorer, evaluate and benchmark ------------------------------------------

@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return set5_as(tmp_path_factory.mktemp("data"), "BSDS500_train", "Set14", "BSD100")


def test_plugin_task_through_all_four_commands(tmp_path, root, capsys):
    loss = tmp_path / "blur.safetensors"
    code, out, err = run(capsys, "train", "--task", BLUR, "--param", "sigma=1.5", "--preset", "fast",
                         "--iterations", "1", "--image", need(DATA / "Set5" / "baby.png"), "--out", loss)
    assert code == 0, err
    code, out, err = run(capsys, "train-restorer", "--task", BLUR, "--param", "sigma=1.5", "--loss", "l1",
                         "--preset", "smoke", "--data-root", root, "--out", tmp_path / "r", "--val-set", "Set14")
    assert code == 0, err
    first = err.splitlines()[0]  # the preset, said on the first line, and what smoke means
    assert first.startswith("train-restorer: preset smoke, 6 iterations") and "not a trained network" in first
    model = tmp_path / "r" / "model.pt"
    record = torch.load(model, weights_only=True)
    assert record["task"] == BLUR and record["preset"]["degradation"] == {"sigma": 1.5}
    code, out, err = run(capsys, "evaluate", "--model", model, "--set", need(DATA / "Set5"), "--limit", "1",
                         "--no-perceptual", "--task", BLUR)
    assert code == 0 and "psnr_rgb" in out, err
    code, out, err = run(capsys, "benchmark", "--task", BLUR, "--param", "sigma=1.5", "--preset", "smoke",
                         "--losses", f"l1,l1+0.1*mdf:{loss}@pyramid", "--data-root", root, "--out", tmp_path / "b",
                         "--eval-set", f"Mine={DATA / 'Set5'}")
    assert code == 0, err
    report = json.loads((tmp_path / "b" / "results.json").read_text())
    assert report["task"] == BLUR and list(report["results"]) == ["Mine"]
    assert report["set_paths"] == {"Mine": str((DATA / "Set5").resolve())}  # a folder: by absolute path
    assert report["finetune"]["degradation"] == {"sigma": 1.5}
    md = (tmp_path / "b" / "results.md").read_text()
    assert "## Mine (2 images)" in md
    # a smoke run says so in its first line and its report, and names no winner
    assert err.splitlines()[0].startswith("benchmark: preset smoke, 3 fine-tuning steps") and "names no winner" in err
    assert md.startswith("# Smoke run (a few steps to check that everything runs") and "wins**" not in md
    assert "no winner (a smoke run names none)" in md
    # the degraded input is a row of its own, with each loss's paired difference to it
    assert "| (degraded input, no restoration) |" in md and "Paired difference to the degraded input" in md
    assert set(report["degraded_input"]["Mine"]) >= {"psnr_rgb", "ssim_rgb"}
    assert (tmp_path / "b" / "per_image_Mine__degraded_input.csv").is_file()


@pytest.mark.parametrize("args, fragment", [
    (["--eval-set", "/some/dir"], "give a folder a name, as NAME=/some/dir"),
    (["--eval-set", "=x"], "expected NAME=DIR"),
    (["--eval-set", "A=x", "--eval-set", "A=y"], "given twice"),
    (["--pairs", "nope:nada"], "--pairs: expected DEGRADED_DIR:CLEAN_DIR"),
    (["--param", "sigma"], "--param: expected KEY=VALUE"),
    (["--task", "deblur"], "unknown task 'deblur'"),
])
def test_benchmark_refusals(tmp_path, capsys, args, fragment):
    base = ["benchmark", "--preset", "smoke", "--out", tmp_path / "b"]
    if "--task" not in args:
        base += ["--task", "denoise"]
    code, out, err = run(capsys, *base, *args)
    assert code == 2 and fragment in err and err.count("\n") == 1, err


# --- paired data: real degradations matched by file name -----------------------------------------------------------

def _write(path, arr):
    Image.fromarray(arr).save(path)


@pytest.fixture()
def pairs(tmp_path):
    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    clean.mkdir()
    noisy.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        img = rng.integers(0, 256, (64, 72, 3), dtype=np.uint8)
        _write(clean / f"{name}.png", img)
        _write(noisy / f"{name}.png", np.clip(img.astype(int) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8))
    return noisy, clean


def test_pairs_serve_as_training_and_evaluation_data(tmp_path, pairs, capsys):
    from mdfloss.common.imageio import read_image
    from mdfloss.restoration.data import EvalPairs, TrainPatches, resolve_set, set_record

    noisy, clean = pairs
    source = resolve_set(f"{noisy}:{clean}")
    assert resolve_set(set_record(f"{noisy}:{clean}", source)) == source  # as a report records it, found again
    task = get_task("denoise")
    name, lq, hq = EvalPairs(source, task)[1]
    assert name == "b" and torch.equal(lq, read_image(noisy / "b.png")[0]) and torch.equal(hq, read_image(clean / "b.png")[0])
    # Training patches crop the degraded and the clean image at the same place: their difference is the
    # recorded noise (at most 20 levels), never image content.
    patches = TrainPatches(source, task, patch=32, length=4, seed=0)
    for i in range(4):
        lq, hq = patches[i]
        assert lq.shape == hq.shape == (3, 32, 32) and float((lq - hq).abs().max()) <= 20 / 255 + 1e-6
    code, out, err = run(capsys, "train-restorer", "--task", "denoise", "--loss", "l1", "--preset", "smoke",
                         "--pairs", f"{noisy}:{clean}", "--val-set", f"{noisy}:{clean}", "--out", tmp_path / "r",
                         "--iterations", "2")
    assert code == 0, err
    code, out, err = run(capsys, "evaluate", "--model", tmp_path / "r" / "model.pt", "--set", f"{noisy}:{clean}",
                         "--no-perceptual")
    assert code == 0 and "psnr_rgb" in out, err


def test_unpaired_or_mismatched_pairs_are_refused(pairs):
    from mdfloss.restoration.data import EvalPairs, resolve_set

    noisy, clean = pairs
    (noisy / "c.png").rename(noisy / "z.png")
    with pytest.raises(ImageReadError, match=r"do not match \(only in .*noisy: z; only in .*clean: c\)"):
        EvalPairs(resolve_set(f"{noisy}:{clean}"), get_task("denoise"))
    (noisy / "z.png").rename(noisy / "c.png")
    _write(noisy / "a.png", np.zeros((32, 72, 3), np.uint8))
    with pytest.raises(ImageReadError, match=r"1 degraded images are not their clean image's size \(a.png"):
        EvalPairs(resolve_set(f"{noisy}:{clean}"), get_task("denoise"))


# --- score what you already have ------------------------------------------------------------------------------------

def test_folder_scoring_equals_the_model_route(tmp_path, root, capsys):
    from mdfloss.restoration.data import EvalPairs
    from mdfloss.restoration.evaluate import evaluate, load_restorer
    from mdfloss.restoration.presets import restorer_preset
    from mdfloss.restoration.train import train_restorer

    model_path = train_restorer("jpeg", "l1", tmp_path / "m", restorer_preset("jpeg", "smoke", iterations=1,
                                train_set="BSDS500_train", val_set="Set14"), data_root=root, progress=False,
                                device="cpu")
    ref_dir = need(DATA / "Set5")
    by_model = evaluate(model_path, ref_dir, out_csv=tmp_path / "model.csv", perceptual=False)
    model, record = load_restorer(model_path)
    out_dir = tmp_path / "restored"
    out_dir.mkdir()
    pairs = EvalPairs(ref_dir, get_task("jpeg", record["preset"]["degradation"]))
    with torch.no_grad():
        for i in range(len(pairs)):
            name, lq, _ = pairs[i]
            # Saved as 8-bit PNGs, rounded as the model route rounds (half to even).
            out = torch.round(model(lq[None]).clamp(0, 1)[0] * 255).to(torch.uint8)
            _write(out_dir / f"{name}.png", out.permute(1, 2, 0).numpy())
    code, out, err = run(capsys, "evaluate", "--reference", ref_dir, "--restored", out_dir, "--no-perceptual",
                         "--out", tmp_path / "folders.csv")
    assert code == 0, err
    assert (tmp_path / "folders.csv").read_text() == (tmp_path / "model.csv").read_text()
    assert f"psnr_rgb: {by_model['psnr_rgb']:.4f}" in out


def test_folder_scoring_compares_named_folders_and_refuses_missing_images(tmp_path, capsys):
    ref = need(DATA / "Set5")
    mild, worse = tmp_path / "mild", tmp_path / "worse"
    for folder, step in ((mild, 4), (worse, 32)):  # posterised to 64 and to 8 levels
        folder.mkdir()
        for f in sorted(ref.glob("*.png")):
            img = np.asarray(Image.open(f).convert("RGB"))
            _write(folder / f.name, (img // step * step).astype(np.uint8))
    code, out, err = run(capsys, "evaluate", "--reference", ref, "--restored", f"mild={mild}",
                         "--restored", f"worse={worse}", "--no-perceptual", "--out", tmp_path / "s.csv")
    assert code == 0, err
    assert (tmp_path / "s_mild.csv").is_file() and (tmp_path / "s_worse.csv").is_file()
    md = (tmp_path / "s.md").read_text()
    # the terminal marks bold with a star (no literal Markdown), and says which files it wrote
    assert md.replace("**", "*").strip() == out.strip() and "**" not in out and "Paired difference to mild" in md
    assert "wrote s_mild.csv, s_worse.csv (one CSV per folder) and s.md" in err
    # 8 levels lose several dB of PSNR to 64 levels on every image: the difference is significant (bold).
    worse_row = [line for line in md.splitlines() if line.startswith("| worse |")][-1]
    assert worse_row.split("|")[2].strip().startswith("**-")
    (worse / "baby.png").unlink()
    code, out, err = run(capsys, "evaluate", "--reference", ref, "--restored", f"worse={worse}", "--no-perceptual")
    assert code == 2 and "has no image for baby" in err and err.count("\n") == 1
    code, out, err = run(capsys, "evaluate", "--reference", ref)
    assert code == 2 and "at least one --restored" in err
    code, out, err = run(capsys, "evaluate", "--reference", ref, "--restored", tmp_path / "nowhere", "--no-perceptual")
    assert code == 2 and "is not a folder of images" in err and err.count("\n") == 1
    code, out, err = run(capsys, "evaluate", "--reference", ref / "baby.png", "--restored", mild, "--no-perceptual")
    assert code == 2 and "--reference:" in err and "not a folder of images" in err and err.count("\n") == 1
    _write(mild / "bird.bmp", np.zeros((8, 8, 3), np.uint8))  # a second file named 'bird'
    code, out, err = run(capsys, "evaluate", "--reference", ref, "--restored", mild, "--no-perceptual")
    assert code == 2 and "'bird.bmp'" in err and "'bird.png'" in err and "share the name 'bird'" in err
    code, out, err = run(capsys, "evaluate", "--model", "m.pt")
    assert code == 2 and "--model/--set: give both" in err


# --- one task concept: the same parameters mean the same degradation in Phase 1 and restoration -----------------

def test_sigma_means_the_same_noise_in_every_command():
    from mdfloss.cli.phase1 import _params
    from mdfloss.phase1.distortions import make_distortion

    by_flag, by_param = _params("25", None, ()), _params(None, None, ("sigma=25",))
    assert by_flag == by_param == {"sigma": 25}
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    restorer = get_task("denoise", by_param)(x, torch.Generator().manual_seed(4))  # train-restorer --param sigma=25
    for params in (by_flag, by_param):
        phase1 = make_distortion("denoise", params)(x, torch.Generator().manual_seed(4))
        torch.testing.assert_close(phase1, restorer, rtol=0, atol=0)
    assert float((restorer - x).std()) == pytest.approx(25 / 255, rel=0.1)
    with pytest.raises(InvalidInputError, match="--param sigma: given twice"):
        _params("25", None, ("sigma=30",))


def test_blind_denoising_ranges_are_on_the_0_255_scale_everywhere():
    from mdfloss.phase1.distortions import make_distortion

    x = torch.full((1, 3, 64, 64), 0.5)
    for s in range(3):
        noise = make_distortion("denoise", {"sigma": [5, 50]})(x, torch.Generator().manual_seed(s)) - x
        assert 4 / 255 < float(noise.std()) < 52 / 255
        assert get_task("denoise", {"sigma": [5, 50]}).phase1_spec() == ("denoise", {"sigma": [5 / 255, 50 / 255]})
    with pytest.warns(UserWarning, match="0-255 scale"):
        get_task("denoise", {"sigma": 0.5})


def test_a_loss_file_written_before_keeps_its_recorded_spec_and_fingerprint():
    from mdfloss.loss.weights import load_loss_file
    from mdfloss.phase1.distortions import make_distortion

    old = load_loss_file(Path(__file__).parent / "fixtures" / "fast_denoise.safetensors")
    assert old.metadata["distortion"] == {"name": "denoise", "params": {"sigma": 25 / 255}}  # 0-1, as recorded
    # A run given sigma=25 now records (and fingerprints) exactly what the run that wrote this file did.
    assert make_distortion("denoise", {"sigma": 25}).spec == old.metadata["distortion"]


def test_replacing_a_registered_task_serves_the_new_one():
    from mdfloss.tasks import register_task

    register_task("swap_test", lambda x: x * 0.5)
    x = torch.ones(1, 3, 4, 4)
    assert float(get_task("swap_test")(x, torch.Generator()).mean()) == 0.5
    with pytest.raises(InvalidInputError, match="registered already; choose another name, or pass replace=True"):
        register_task("swap_test", lambda x: x * 0.25)
    register_task("swap_test", lambda x: x * 0.25, replace=True)
    assert float(get_task("swap_test")(x, torch.Generator()).mean()) == 0.25


def test_a_plugin_in_a_file_next_to_the_data_needs_no_pythonpath(tmp_path):
    from mdfloss.phase1.distortions import make_distortion

    (tmp_path / "mytasks.py").write_text("def colour_shift(x, amount=0.1):\n    return (x + amount).clamp(0, 1)\n")
    spec = f"{tmp_path / 'mytasks.py'}:colour_shift"
    x = torch.full((1, 3, 8, 8), 0.5)
    assert float(get_task(spec, {"amount": 0.2})(x, torch.Generator()).mean()) == pytest.approx(0.7)
    assert float(make_distortion(spec, {"amount": 0.1})(x, torch.Generator()).mean()) == pytest.approx(0.6)
    with pytest.raises(InvalidInputError, match="is not a file; give path/to/file.py:function"):
        get_task(f"{tmp_path / 'nothere.py'}:f")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(InvalidInputError, match="raised RuntimeError when loaded: boom"):
        get_task(f"{tmp_path / 'broken.py'}:f")
    with pytest.raises(InvalidInputError, match="no callable named 'nope'"):
        get_task(f"{tmp_path / 'mytasks.py'}:nope")
    with pytest.raises(InvalidInputError, match="a plug-in in a file is given as path/to/file.py:function"):
        get_task("mytasks:colour_shift")
