"""Loss files: round trip, and refusal of everything that is not a valid loss file."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import pytest
import torch

from mdfloss import (
    LossWeights,
    MDFLoss,
    UnsafePickleError,
    WeightFileError,
    convert_reference,
    load_loss_file,
    save_loss_file,
)
from mdfloss.loss.assets import pretrained_path
from mdfloss.loss.weights import FORMAT_VERSION

from .conftest import REFERENCE, need


@pytest.fixture(scope="module")
def weights() -> LossWeights:
    return load_loss_file(pretrained_path("published-jpeg"))


def _rewrite_meta(src: LossWeights, path, **changes):
    meta = dict(src.metadata, **changes)
    save_loss_file(path, LossWeights(src.critics, meta))


def test_round_trip(weights, tmp_path):
    path = tmp_path / "copy.safetensors"
    save_loss_file(path, weights)
    back = load_loss_file(path)
    plain = lambda meta: {k: v for k, v in meta.items() if k != "tensors_sha256"}  # noqa: E731
    assert plain(back.metadata) == plain(weights.metadata) and len(back.metadata["tensors_sha256"]) == 64
    assert len(weights.critics) == len(back.critics) > 0
    for a, b in zip(weights.critics, back.critics):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.rand(1, 3, 40, 40)
    y = torch.rand(1, 3, 40, 40)
    assert MDFLoss.from_file(path)(x, y).item() == MDFLoss(weights)(x, y).item()
    assert not list(tmp_path.glob(".*.tmp")), "atomic write left a temp file"


def test_missing_file(tmp_path):
    with pytest.raises(WeightFileError, match=r"does not exist"):
        load_loss_file(tmp_path / "nope.safetensors")


def test_directory(tmp_path):
    with pytest.raises(WeightFileError, match=r"is not a file"):
        load_loss_file(tmp_path)


def test_zero_bytes(tmp_path):
    p = tmp_path / "empty.safetensors"
    p.write_bytes(b"")
    with pytest.raises(WeightFileError, match=r"empty or truncated"):
        load_loss_file(p)


def test_truncated(tmp_path):
    good = pretrained_path("published-jpeg").read_bytes()
    for cut in (4, 100, len(good) // 2, len(good) - 1):
        p = tmp_path / f"cut{cut}.safetensors"
        p.write_bytes(good[:cut])
        with pytest.raises(WeightFileError, match=r"truncated|corrupt"):
            load_loss_file(p)


def test_corrupt_header(tmp_path):
    good = bytearray(pretrained_path("published-jpeg").read_bytes())
    good[10:30] = b"\xff" * 20
    p = tmp_path / "garbled.safetensors"
    p.write_bytes(bytes(good))
    with pytest.raises(WeightFileError, match=r"corrupt"):
        load_loss_file(p)


def test_pickle_refused_without_loading(tmp_path):
    p = tmp_path / "loss.pth"
    torch.save({"a": torch.zeros(1)}, p)
    with pytest.raises(WeightFileError, match=r"pickle/torch archive.*convert-reference"):
        load_loss_file(p)
    with pytest.raises(WeightFileError, match=r"pickle"):
        load_loss_file(need(REFERENCE / "Ds_JPEG.pth"))


def test_future_version(weights, tmp_path):
    p = tmp_path / "future.safetensors"
    _rewrite_meta(weights, p)
    raw = p.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    meta = json.loads(header["__metadata__"]["mdfloss"])
    meta["format_version"] = FORMAT_VERSION + 1
    header["__metadata__"]["mdfloss"] = json.dumps(meta)
    new = json.dumps(header).encode()
    new += b" " * ((8 - len(new) % 8) % 8)
    p.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n :])
    with pytest.raises(WeightFileError, match=rf"format_version {FORMAT_VERSION + 1} is newer.*upgrade mdfloss"):
        load_loss_file(p)


def test_missing_metadata(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "bare.safetensors"
    save_file({"x": torch.zeros(2)}, p)
    with pytest.raises(WeightFileError, match=r"no mdfloss metadata"):
        load_loss_file(p)


def test_wrong_metadata(weights, tmp_path):
    with pytest.raises(WeightFileError, match=r"input_range must be"):
        _rewrite_meta(weights, tmp_path / "bad.safetensors", input_range=[1, 0])
    with pytest.raises(WeightFileError, match=r"scale_factors"):
        _rewrite_meta(weights, tmp_path / "bad.safetensors", scale_factors=[1.0])
    assert not (tmp_path / "bad.safetensors").exists(), "a refused save must not leave a file"


# ---- the published-pickle converter ------------------------------------------------------------

def _legacy_archive(payload: bytes) -> bytes:
    """A legacy torch.save layout around an arbitrary main pickle."""
    head = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
    head += pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {}}, protocol=2)
    return head + payload + pickle.dumps([], protocol=2)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("wrap", [True, False], ids=["legacy-archive", "bare-pickle"])
def test_converter_never_runs_pickled_code(tmp_path, wrap):
    marker = tmp_path / "pwned"
    payload = pickle.dumps([_Evil(marker)], protocol=2)
    src = tmp_path / "evil.pth"
    src.write_bytes(_legacy_archive(payload) if wrap else payload)
    with pytest.raises(WeightFileError):
        convert_reference(src, tmp_path / "out.safetensors")
    # Sanity: plain pickle WOULD run it (proves the payload is live), but we never call that.
    assert not marker.exists()
    assert not (tmp_path / "out.safetensors").exists()


def test_converter_names_the_refused_global(tmp_path):
    payload = pickle.dumps([_Evil(tmp_path / "x")], protocol=2)
    src = tmp_path / "evil.pth"
    src.write_bytes(_legacy_archive(payload))
    with pytest.raises(UnsafePickleError, match=r"asks for '(posix|os|nt)\.system'.*nothing was executed"):
        convert_reference(src, tmp_path / "o.safetensors")


def test_converter_refuses_truncated_and_foreign(tmp_path):
    good = need(REFERENCE / "Ds_JPEG.pth").read_bytes()
    p = tmp_path / "t.pth"
    p.write_bytes(good[: len(good) - 1000])
    with pytest.raises(WeightFileError, match=r"truncated"):
        convert_reference(p, tmp_path / "o.safetensors")
    p.write_bytes(struct.pack("<q", 5) + b"hello")
    with pytest.raises(WeightFileError):
        convert_reference(p, tmp_path / "o.safetensors")
    torch.save([torch.zeros(1)], p)  # a modern zip archive is not the published format
    with pytest.raises(WeightFileError):
        convert_reference(p, tmp_path / "o.safetensors")


def test_a_header_length_starting_with_0x80_is_not_taken_for_a_pickle(weights, tmp_path):
    # A pickle starts with 0x80 too; a safetensors file whose header is 0x4180 = 16,768 bytes long starts with
    # 80 41 00 ... and was once refused as a pickle (a Phase-1 run wrote one).
    p = tmp_path / "w.safetensors"
    save_loss_file(p, weights)
    raw = p.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    pad = (0x4180 - n) % 256 if n % 256 != 0x80 else 0
    header = raw[8 : 8 + n].rstrip(b" ") + b" " * (n - len(raw[8 : 8 + n].rstrip(b" ")) + pad)
    assert len(header) % 256 == 0x80
    p.write_bytes(len(header).to_bytes(8, "little") + header + raw[8 + n :])
    assert p.read_bytes()[:1] == b"\x80"
    back = load_loss_file(p)
    assert all(torch.equal(a[k], b[k]) for a, b in zip(weights.critics, back.critics) for k in a)


def test_a_loss_file_whose_data_was_damaged_is_refused(tmp_path):
    from mdfloss.loss.assets import pretrained_path
    from mdfloss.loss.weights import load_loss_file, save_loss_file

    path = tmp_path / "ok.safetensors"
    save_loss_file(path, load_loss_file(pretrained_path("jpeg")))
    assert len(load_loss_file(path).metadata["tensors_sha256"]) == 64
    raw = bytearray(path.read_bytes())
    header = 8 + int.from_bytes(raw[:8], "little")
    middle = header + (len(raw) - header) // 2
    raw[middle:middle + 256] = bytes(256)  # a zeroed-out region inside the tensors
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(raw))
    with pytest.raises(WeightFileError, match="do not match the checksum written with them") as err:
        load_loss_file(bad)
    assert "\n" not in str(err.value)


def test_a_file_written_before_checksums_still_loads():
    from mdfloss.loss.weights import load_loss_file

    old = load_loss_file(Path(__file__).parent / "fixtures" / "fast_jpeg.safetensors")
    assert "tensors_sha256" not in old.metadata and len(old.critics) > 0
