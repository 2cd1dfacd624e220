"""A table of refusals through the command line: exit 2, one short line on stderr, no traceback,
and no output file left behind."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mdfloss.cli import main

from .conftest import REFERENCE


def _png(path: Path, size=(64, 64), mode="RGB") -> Path:
    arr = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("refusals")
    good = _png(d / "good.png")
    raw = good.read_bytes()
    (d / "truncated.png").write_bytes(raw[: len(raw) // 2])
    buf = io.BytesIO()
    Image.open(good).save(buf, format="JPEG")
    (d / "truncated.jpg").write_bytes(buf.getvalue()[:300])
    (d / "corrupt.png").write_bytes(raw[:40] + b"\x00" * 200 + raw[240:])
    (d / "empty.png").write_bytes(b"")
    (d / "text.png").write_text("this is not a PNG")
    (d / "folder.png").mkdir()
    (d / "noimages").mkdir()
    (d / "noimages" / "readme.txt").write_text("x")
    _png(d / "tiny.png", (20, 16))
    _png(d / "speck.png", (10, 8))
    _png(d / "other_size.png", (48, 64))
    _png(d / "big.png", (200, 200))
    from mdfloss.loss.assets import pretrained_path

    (d / "truncated.safetensors").write_bytes(pretrained_path("published-jpeg").read_bytes()[:5000])
    import torch
    from safetensors.torch import save_file

    from mdfloss.restoration.models import build_model
    from mdfloss.restoration.presets import restorer_preset

    for task in ("denoise", "jpeg"):  # small, valid restorer files, as train-restorer writes them
        preset = restorer_preset(task, "smoke")
        torch.save({"model": build_model(preset.model).state_dict(), "task": task, "loss": "l1",
                    "preset": preset.to_dict(), "seed": 0}, d / f"{task}_model.pt")
    # An unfinished restorer run: checkpoints and settings of 'l1', no model.pt.
    from mdfloss.common.checkpoint import save_checkpoint
    from mdfloss.common.runs import prepare_workdir

    run = d / "unfinished"
    prepare_workdir(run, {"task": "denoise", "loss": "l1"}, resume=False, force=False, has_checkpoints=False)
    (run / "checkpoints").mkdir()
    save_checkpoint(run / "checkpoints", 2, {"iteration": 2})

    save_file({"x": torch.zeros(2)}, d / "nometa.safetensors")

    torch.save({"x": torch.zeros(1)}, d / "pickled.safetensors")
    (d / "exists.safetensors").write_bytes(b"keep me")
    return {p.name: p for p in d.iterdir()} | {"dir": d}


# (name, argv with {placeholders}, expected fragment of the message, output that must not appear)
CASES = [
    ("compare missing file", ["compare", "{dir}/nope.png", "{good.png}"], "does not exist", None),
    ("compare zero-byte file", ["compare", "{empty.png}", "{good.png}"], "empty (0 bytes)", None),
    ("compare text named .png", ["compare", "{text.png}", "{good.png}"], "not a readable image", None),
    ("compare truncated png", ["compare", "{truncated.png}", "{good.png}"], "corrupt or truncated", None),
    ("compare truncated jpeg", ["compare", "{truncated.jpg}", "{good.png}"], "corrupt or truncated", None),
    ("compare corrupt png", ["compare", "{corrupt.png}", "{good.png}"], "IMAGE_A", None),
    ("compare directory", ["compare", "{folder.png}", "{good.png}"], "is a directory", None),
    ("compare size mismatch", ["compare", "{good.png}", "{other_size.png}"], "must have the same size", None),
    ("compare below receptive field", ["compare", "{speck.png}", "{speck.png}", "--mode", "reference"], "receptive field", None),
    ("compare too small for pyramid", ["compare", "{speck.png}", "{speck.png}", "--mode", "pyramid"], "too small for pyramid", None),
    ("compare unknown loss name", ["compare", "{good.png}", "{good.png}", "--loss", "nosuch"], "does not exist", None),
    ("compare truncated loss file", ["compare", "{good.png}", "{good.png}", "--loss", "{truncated.safetensors}"], "truncated", None),
    ("compare loss without metadata", ["compare", "{good.png}", "{good.png}", "--loss", "{nometa.safetensors}"], "no mdfloss metadata", None),
    ("compare pickled loss file", ["compare", "{good.png}", "{good.png}", "--loss", "{pickled.safetensors}"], "never loads", None),
    ("compare bad mode", ["compare", "{good.png}", "{good.png}", "--mode", "fast"], "Invalid value for '--mode'", None),
    ("info truncated", ["info", "{truncated.safetensors}"], "truncated", None),
    ("info pickle", ["info", "{pickled.safetensors}"], "never loads", None),
    ("info directory", ["info", "{dir}"], "is not a file", None),
    ("convert missing", ["convert-reference", "{dir}/nope.pth", "{dir}/c1.safetensors"], "does not exist", "c1.safetensors"),
    ("convert a safetensors file", ["convert-reference", "{truncated.safetensors}", "{dir}/c2.safetensors"], "corrupt or truncated", "c2.safetensors"),
    ("convert onto existing", ["convert-reference", str(REFERENCE / "Ds_JPEG.pth"), "{exists.safetensors}"], "already exists; pass --force", None),
    ("train unknown task", ["train", "--task", "deblur", "--out", "{dir}/t1.safetensors"], "unknown task 'deblur'", "t1.safetensors"),
    ("train unknown preset", ["train", "--task", "jpeg", "--preset", "huge", "--out", "{dir}/t2.safetensors"], "Invalid value for '--preset'", "t2.safetensors"),
    ("train bad quality", ["train", "--task", "jpeg", "--quality", "0", "--out", "{dir}/t3.safetensors"], "quality", "t3.safetensors"),
    ("train bad sigma", ["train", "--task", "denoise", "--sigma", "abc", "--out", "{dir}/t4.safetensors"], "--sigma", "t4.safetensors"),
    ("train image too small", ["train", "--task", "jpeg", "--image", "{tiny.png}", "--out", "{dir}/t5.safetensors"], "coarsest size", "t5.safetensors"),
    ("train unreadable image", ["train", "--task", "jpeg", "--image", "{text.png}", "--out", "{dir}/t6.safetensors"], "not a readable image", "t6.safetensors"),
    ("train output in missing folder", ["train", "--task", "jpeg", "--out", "{dir}/no/such/t7.safetensors"], "does not exist; create it first", None),
    ("train output is a folder", ["train", "--task", "jpeg", "--out", "{folder.png}"], "is a directory", None),
    ("train existing output", ["train", "--task", "jpeg", "--out", "{exists.safetensors}"], "already exists; pass --force", None),
    ("train cuda without a GPU", ["train", "--task", "jpeg", "--device", "cuda", "--out", "{dir}/t8.safetensors"], "no CUDA device", "t8.safetensors"),
    ("train bad plug-in", ["train", "--task", "nosuchpkg.mod:fn", "--out", "{dir}/t9.safetensors"], "cannot import module", "t9.safetensors"),
    ("train bad --param", ["train", "--task", "mdfloss.examples.distortions:gaussian_blur", "--param", "sigma", "--out", "{dir}/t10.safetensors"], "KEY=VALUE", "t10.safetensors"),
    ("train image over pixel limit", ["train", "--task", "jpeg", "--image", "{big.png}", "--out", "{dir}/t11.safetensors"], "more than the limit", "t11.safetensors"),
    ("restorer unknown loss", ["train-restorer", "--task", "sisr", "--loss", "l7", "--out", "{dir}/r1"], "unknown loss 'l7'", "r1/model.pt"),
    ("restorer vgg without weights", ["train-restorer", "--task", "sisr", "--loss", "vgg", "--out", "{dir}/r2"], "needs a local weights file", "r2/model.pt"),
    ("restorer lpips without weights", ["train-restorer", "--task", "jpeg", "--loss", "l1+lpips:{dir}/no.pth", "--out", "{dir}/r5"], "needs a local weights file", "r5/model.pt"),
    ("benchmark unknown JOD display", ["benchmark", "--task", "jpeg", "--jod-display", "crt", "--out", "{dir}/b2"], "not a ColorVideoVDP display", "b2/results.md"),
    ("evaluate unknown JOD display", ["evaluate", "--model", "{text.png}", "--set", "Set5", "--jod-display", "crt"], "not a ColorVideoVDP display", None),
    ("restorer unknown task", ["train-restorer", "--task", "deblur", "--loss", "l1", "--out", "{dir}/r3"], "unknown task 'deblur'", "r3"),
    ("evaluate missing model", ["evaluate", "--model", "{dir}/nope.pt", "--set", "Set5"], "does not exist", None),
    ("evaluate a file that is not a model", ["evaluate", "--model", "{text.png}", "--set", "Set5"], "not a readable model file", None),
    ("evaluate unknown set", ["evaluate", "--model", "{denoise_model.pt}", "--set", "Nope"], "'Nope' is neither a folder, nor DEGRADED_DIR:CLEAN_DIR, nor a named set", None),
    ("evaluate model of another task", ["evaluate", "--model", "{jpeg_model.pt}", "--set", "Set5", "--task", "denoise"], "trained for 'jpeg', not 'denoise'", None),
    ("benchmark zero seeds", ["benchmark", "--task", "jpeg", "--seeds", "0", "--out", "{dir}/b3"], "--seeds: expected a positive number", "b3"),
    ("benchmark zero iterations", ["benchmark", "--task", "jpeg", "--iterations", "0", "--out", "{dir}/b4"], "--iterations: expected a positive number", "b4"),
    ("benchmark zero lambda", ["benchmark", "--task", "jpeg", "--losses", "l1,l2+0*mdf", "--out", "{dir}/b5"], "must be a positive finite number", "b5"),
    ("benchmark infinite lambda", ["benchmark", "--task", "jpeg", "--losses", "l2+1e999*mdf", "--out", "{dir}/b6"], "must be a positive finite number", "b6"),
    ("benchmark negative lambda", ["benchmark", "--task", "jpeg", "--losses", "l2+-0.1*mdf", "--out", "{dir}/b7"], "cannot parse term", "b7"),
    ("benchmark unknown mdf option", ["benchmark", "--task", "jpeg", "--losses", "mdf@fastest", "--out", "{dir}/b8"], "unknown option 'fastest'", "b8"),
    ("restorer init missing", ["train-restorer", "--task", "denoise", "--loss", "l1", "--init", "{dir}/nope.pt", "--out", "{dir}/r6"], "does not exist or is not a file; give the path of a model", "r6"),
    ("restorer init corrupt", ["train-restorer", "--task", "denoise", "--loss", "l1", "--init", "{text.png}", "--out", "{dir}/r7"], "not a readable model file", "r7"),
    ("restorer init of another task", ["train-restorer", "--task", "denoise", "--loss", "l1", "--init", "{jpeg_model.pt}", "--out", "{dir}/r8"], "trained for task 'jpeg', not 'denoise'", "r8"),
    ("restorer resume with another loss", ["train-restorer", "--task", "denoise", "--loss", "l2", "--resume", "--out", "{unfinished}"], 'started with loss="l1", not "l2"', "unfinished/model.pt"),
    ("train second image missing", ["train", "--task", "jpeg", "--image", "{good.png}", "--image", "{dir}/nope.png", "--out", "{dir}/t17.safetensors"], "does not exist", "t17.safetensors"),
    ("train second image unreadable", ["train", "--task", "jpeg", "--image", "{good.png}", "--image", "{text.png}", "--out", "{dir}/t18.safetensors"], "not a readable image", "t18.safetensors"),
    ("train image folder without images", ["train", "--task", "jpeg", "--image", "{noimages}", "--out", "{dir}/t19.safetensors"], "holds no images", "t19.safetensors"),
    ("train restorer missing", ["train", "--task", "denoise", "--restorer", "{dir}/nope.pt", "--out", "{dir}/t12.safetensors"], "does not exist or is not a file", "t12.safetensors"),
    ("train restorer corrupt", ["train", "--task", "denoise", "--restorer", "{text.png}", "--out", "{dir}/t13.safetensors"], "not a readable model file", "t13.safetensors"),
    ("train restorer of another task", ["train", "--task", "denoise", "--restorer", "{jpeg_model.pt}", "--out", "{dir}/t14.safetensors"], "trained for task 'jpeg', not 'denoise'", "t14.safetensors"),
    ("train restorer with --sigma", ["train", "--task", "denoise", "--sigma", "15", "--restorer", "{denoise_model.pt}", "--out", "{dir}/t15.safetensors"], "the degradation is the restorer's own", "t15.safetensors"),
    ("train restorer for a plug-in task", ["train", "--task", "mdfloss.examples.distortions:gaussian_blur", "--restorer", "{denoise_model.pt}", "--out", "{dir}/t16.safetensors"], "needs --task sisr, denoise or jpeg", "t16.safetensors"),
    ("restorer folder with checkpoints", ["train-restorer", "--task", "denoise", "--loss", "l1", "--out", "{unfinished}"], "holds checkpoints of an earlier run", "unfinished/model.pt"),
    ("benchmark bad loss spec", ["benchmark", "--task", "jpeg", "--losses", "l1,l9", "--out", "{dir}/b1"], "unknown loss 'l9'", "b1/results.md"),
    ("restorer folder without images", ["train-restorer", "--task", "denoise", "--loss", "l1", "--train-set", "{noimages}", "--out", "{dir}/r4"], "holds no images", "r4/model.pt"),
    ("study scale missing answers", ["study", "scale", "{dir}/nope.csv", "--out", "{dir}/s1"], "is not a file", "s1"),
    ("study scale not a pwcmp table", ["study", "scale", "{text.png}", "--out", "{dir}/s2"], "lacks the column(s)", "s2"),
    ("study scale binary file", ["study", "scale", "{good.png}", "--out", "{dir}/s2"], "not a UTF-8 text", "s2"),
    ("study serve not a study", ["study", "serve", "{noimages}"], "has no study.json", None),
    ("study serve empty token", ["study", "serve", "{noimages}", "--token", ""], "empty token", None),
    ("study create without reference", ["study", "create", "--out", "{dir}/s3"], "--reference", "s3"),
    ("study create benchmark without set", ["study", "create", "--out", "{dir}/s4", "--from-benchmark", "{dir}"], "--set", "s4"),
    ("study create from a non-benchmark", ["study", "create", "--out", "{dir}/s5", "--from-benchmark", "{dir}", "--set", "Set5"], "no results.json", "s5"),
    ("study export not a study", ["study", "export", "{noimages}", "--out", "{dir}/a.csv"], "has no study.json", "a.csv"),
    ("study simulate one condition", ["study", "simulate", "--conditions", "1"], "conditions: expected", None),
    ("restorer unknown named set", ["train-restorer", "--task", "denoise", "--loss", "l1", "--data-root", "{dir}", "--out", "{dir}/r5"], "fetch it with: mdfloss data download BSDS500_train", "r5/model.pt"),
]


@pytest.mark.parametrize("name,argv,fragment,absent", CASES, ids=[c[0] for c in CASES])
def test_refusal(files, name, argv, fragment, absent, monkeypatch, capsys):
    # In-process (the CLI's own entry point, so an unexpected exception fails the test as a traceback would);
    # tests/test_cli.py runs `python -m mdfloss` in a real process.
    args = [re.sub(r"\{([^}]+)\}", lambda m: str(files[m.group(1)]), a) for a in argv]
    monkeypatch.setenv("MDFLOSS_MAX_PIXELS", "20000")
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    err = err.strip()
    assert "Traceback" not in err and fragment in err, err
    assert len(err.splitlines()) == 1, err
    if absent:
        assert not (files["dir"] / absent).exists()
    assert (files["dir"] / "exists.safetensors").read_bytes() == b"keep me"


def test_every_case_names_what_went_wrong():
    # An empty fragment would match any message; names must be unique to be selectable.
    assert all(fragment.strip() for _, _, fragment, _ in CASES)
    assert len({name for name, *_ in CASES}) == len(CASES)
