"""Bounded fuzzing of the image loader, the loss-file loader and the pickle converter:
whatever the bytes, nothing may raise anything but the project's own error types."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mdfloss import MDFError, convert_reference, load_loss_file
from mdfloss.loss.assets import pretrained_path
from mdfloss.common.imageio import read_image

from .conftest import REFERENCE

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    out = {}
    for fmt, mode in (("PNG", "RGB"), ("JPEG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("JPEG", "CMYK")):
        buf = io.BytesIO()
        Image.fromarray(arr).convert(mode).save(buf, format=fmt)
        out[f"{fmt}-{mode}"] = buf.getvalue()
    return out


IMAGE_SEEDS = _seeds()
LOSS_BYTES = pretrained_path("published-jpeg").read_bytes()  # the whole file: mutations land anywhere


PICKLE_BYTES = (REFERENCE / "Ds_JPEG.pth").read_bytes() if (REFERENCE / "Ds_JPEG.pth").exists() else b""


@st.composite
def mutated(draw, seed: bytes):
    """Up to 8 edits (byte flips, truncation, insertion, deletion) anywhere in the whole file."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[i : i + draw(st.integers(1, 64))]
    return bytes(data)


def _check(fn, path):
    try:
        fn(path)
    except MDFError:
        pass  # a clean refusal


@FUZZ
@given(data=st.one_of(*[mutated(s) for s in IMAGE_SEEDS.values()], st.binary(max_size=512)))
def test_fuzz_image_loader(tmp_path, data):
    p = tmp_path / "fuzz.png"
    p.write_bytes(data)
    _check(lambda q: read_image(q, max_pixels=1_000_000), p)


@FUZZ
@given(data=st.one_of(mutated(LOSS_BYTES), st.binary(max_size=512)))
def test_fuzz_loss_file_loader(tmp_path, data):
    p = tmp_path / "fuzz.safetensors"
    p.write_bytes(data)
    _check(load_loss_file, p)


@pytest.mark.skipif(not (REFERENCE / "Ds_JPEG.pth").exists(), reason="../shared/reference missing")
@FUZZ
@given(data=st.data())
def test_fuzz_pickle_converter(tmp_path, data):
    seed = PICKLE_BYTES or (REFERENCE / "Ds_JPEG.pth").read_bytes()  # the whole archive
    p = tmp_path / "fuzz.pth"
    p.write_bytes(data.draw(mutated(seed)))
    _check(lambda q: convert_reference(q, tmp_path / "out.safetensors"), p)


def test_a_huge_memo_index_is_refused_without_allocating_it(tmp_path):
    # A byte flip the pickle fuzzer once hit: LONG_BINPUT with index 0x10000000. The C unpickler sizes its memo
    # array by that index (4 GB here, 32 GB for 0xFFFFFFFF); the loader must refuse it with little memory.
    import struct
    import subprocess
    import sys

    bad = tmp_path / "memo.pth"
    bad.write_bytes(b"\x80\x02N" + b"r" + struct.pack("<I", 0x10000000) + b".")
    code = ("import resource, sys\n"
            "from mdfloss import MDFError, convert_reference\n"
            "try:\n    convert_reference(sys.argv[1], sys.argv[2])\nexcept MDFError:\n    pass\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(bad), str(tmp_path / "o.safetensors")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) < 2_000_000  # kB: torch itself needs a few hundred MB, the memo 4 GB
