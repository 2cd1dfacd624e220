"""``mdfloss data``: downloads from a local HTTP server (127.0.0.1, started here; nothing leaves the machine)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pooch")

from mdfloss.data.sets import load_manifest, verify  # noqa: E402


def _png(seed: int, size=(40, 32)) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


class _Server:
    """Serves ``files`` (path -> bytes); ``fail`` paths answer 500; ``drop`` paths fail once then work."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.fail: set[str] = set()
        self.drop_once: set[str] = set()
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                outer.requests.append(self.path)
                if self.path in outer.fail or self.path in outer.drop_once:
                    outer.drop_once.discard(self.path)
                    self.send_error(500, "server error")
                    return
                data = outer.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture()
def server():
    s = _Server()
    yield s
    s.httpd.shutdown()


def _files_entry(server: _Server, prefix: str, names: list[str], seed: int = 0, size=(40, 32)) -> dict:
    files = []
    for k, name in enumerate(names):
        data = _png(seed + k, size)
        server.files[f"/{prefix}/{name}"] = data
        files.append({"name": name, "url": f"{server.url}/{prefix}/{name}", "sha256": hashlib.sha256(data).hexdigest(),
                      "size": len(data)})
    return {"source": "test server", "licence": "test images", "files": files}


def _zip_entry(server: _Server, name: str, members: dict[str, bytes], *, truncate: bool = False,
               with_hash: bool = True) -> dict:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for member, data in members.items():
            z.writestr(f"{name}_HR/{member}", data)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    server.files[f"/{name}.zip"] = data[: len(data) // 2] if truncate else data
    return {"archive": {"url": f"{server.url}/{name}.zip", "sha256": digest if with_hash else None,
                        "strip": f"{name}_HR/"},
            "files": [{"name": m, "url": "-", "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                      for m, d in members.items()]}


def _manifest(tmp_path: Path, sets: dict) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"kind": "mdfloss.data-manifest", "version": 1, "sets": sets}))
    return path


def _data(*args: str, env_root: Path | None = None) -> subprocess.CompletedProcess:
    """``mdfloss data ...`` in this process (the CLI's own entry point; a subprocess per call would cost a torch
    import each), with its exit status and what it printed."""
    from contextlib import redirect_stderr, redirect_stdout

    from mdfloss.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get("MDFLOSS_DATA")
    if env_root is not None:
        os.environ["MDFLOSS_DATA"] = str(env_root)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["data", *args])
    finally:
        if env_root is not None:
            if saved is None:
                os.environ.pop("MDFLOSS_DATA", None)
            else:
                os.environ["MDFLOSS_DATA"] = saved
    return subprocess.CompletedProcess(["mdfloss", "data", *args], code, out.getvalue(), err.getvalue())


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".zip"))


def test_download_verify_path_and_list(server, tmp_path):
    man = _manifest(tmp_path, {"Tiny": _files_entry(server, "tiny", ["a.png", "b.png", "c.png"])})
    root = tmp_path / "root"
    proc = _data("download", "Tiny", "--manifest", str(man), "--data-root", str(root))
    assert proc.returncode == 0, proc.stderr
    for name in ("a.png", "b.png", "c.png"):
        assert (root / "Tiny" / name).read_bytes() == server.files[f"/tiny/{name}"]
    assert _data("verify", "Tiny", "--manifest", str(man), "--data-root", str(root)).returncode == 0
    assert _data("path", "Tiny", "--manifest", str(man), "--data-root", str(root)).stdout.strip() == str(root / "Tiny")
    assert "present" in _data("list", "--manifest", str(man), "--data-root", str(root)).stdout
    # A file changed on disk: verify says which, and download fetches only that one again.
    (root / "Tiny" / "b.png").write_bytes(b"changed")
    proc = _data("verify", "Tiny", "--manifest", str(man), "--data-root", str(root))
    assert proc.returncode == 2 and "b.png does not match its sha256" in proc.stdout
    server.requests.clear()
    assert _data("download", "Tiny", "--manifest", str(man), "--data-root", str(root)).returncode == 0
    assert server.requests == ["/tiny/b.png"]
    assert not verify(load_manifest(man)["Tiny"], root)


def test_an_interrupted_download_resumes_with_the_files_it_has(server, tmp_path):
    man = _manifest(tmp_path, {"Tiny": _files_entry(server, "tiny", ["a.png", "b.png", "c.png"])})
    root = tmp_path / "root"
    server.drop_once.add("/tiny/c.png")  # the connection 'fails' at the third file
    first = _data("download", "Tiny", "--manifest", str(man), "--data-root", str(root))
    assert first.returncode == 2 and "a rerun resumes" in first.stderr and len(first.stderr.splitlines()) == 1
    assert not (root / "Tiny").exists()  # the set's folder appears only when complete
    server.requests.clear()
    assert _data("download", "Tiny", "--manifest", str(man), "--data-root", str(root)).returncode == 0
    assert server.requests == ["/tiny/c.png"]  # a and b were kept and not fetched again
    assert _leftovers(root) == ["Tiny/a.png", "Tiny/b.png", "Tiny/c.png"]


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(server, tmp_path):
    entry = _files_entry(server, "tiny", ["a.png"])
    entry["files"][0]["sha256"] = "0" * 64
    root = tmp_path / "root"
    proc = _data("download", "Tiny", "--manifest", str(_manifest(tmp_path, {"Tiny": entry})), "--data-root", str(root))
    assert proc.returncode == 2 and "sha256 does not match" in proc.stderr and "Traceback" not in proc.stderr
    assert _leftovers(root) == [] and not (root / "Tiny").exists()


def test_a_server_error_is_one_line_and_nothing_is_kept(server, tmp_path):
    server.fail.add("/tiny/a.png")
    root = tmp_path / "root"
    man = _manifest(tmp_path, {"Tiny": _files_entry(server, "tiny", ["a.png"])})
    proc = _data("download", "Tiny", "--manifest", str(man), "--data-root", str(root))
    assert proc.returncode == 2 and "500" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert _leftovers(root) == []


def test_an_archive_is_verified_unpacked_and_its_members_checked(server, tmp_path):
    members = {"0001.png": _png(10), "0002.png": _png(11)}
    man = _manifest(tmp_path, {"Zipped": _zip_entry(server, "Zipped", members)})
    root = tmp_path / "root"
    assert _data("download", "Zipped", "--manifest", str(man), "--data-root", str(root)).returncode == 0
    assert (root / "Zipped" / "0002.png").read_bytes() == members["0002.png"]
    assert _data("verify", "Zipped", "--manifest", str(man), "--data-root", str(root)).returncode == 0


@pytest.mark.parametrize("with_hash,fragment", [(True, "sha256 does not match"), (False, "not a readable zip")])
def test_a_truncated_archive_is_refused_and_nothing_is_kept(server, tmp_path, with_hash, fragment):
    man = _manifest(tmp_path, {"Zipped": _zip_entry(server, "Zipped", {"0001.png": _png(3)}, truncate=True,
                                                    with_hash=with_hash)})
    root = tmp_path / "root"
    proc = _data("download", "Zipped", "--manifest", str(man), "--data-root", str(root))
    assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr
    assert not (root / "Zipped").exists() and not list(root.rglob("*.zip")) and _leftovers(root) == []


def test_refusals(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    manual = _manifest(tmp_path, {"ByHand": {"manual": "https://example.org/sets", "note": "fetch it by hand"}})
    for args, fragment in ((["download", "Nope"], "unknown data set 'Nope'"), (["list", "--manifest", str(bad)], "not a data manifest"),
                           (["download", "ByHand", "--manifest", str(manual), "--data-root", str(tmp_path)],
                            "cannot be downloaded automatically"),
                           (["path", "Kodak24", "--data-root", str(tmp_path)], "mdfloss data download Kodak24")):
        proc = _data(*args)
        assert proc.returncode == 2 and fragment in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_the_built_in_manifest_pins_every_file(tmp_path):
    sets = load_manifest()
    for name in ("Set5", "Set14", "BSD100", "BSDS500_train", "CBSD68", "McMaster", "Kodak24", "LIVE1", "Classic5",
                 "Urban100"):
        files = sets[name].files
        assert files and all(f["url"].startswith("https://raw.githubusercontent.com/") for f in files)
        assert all(len(f["url"].split("/")[5]) == 40 for f in files)  # a full commit hash, not a branch
    assert len(sets["BSD100"].files) == 100 and len(sets["BSDS500_train"].files) == 200
    assert len(sets["Urban100"].files) == 100
    assert sets["DIV2K_train"].entry["archive"]["sha256"] is None  # unverified, and says so


def test_without_shared_data_evaluate_and_a_smoke_benchmark_run_on_downloaded_sets(server, tmp_path):
    # The sets a denoising smoke benchmark needs, served by the local server under their real names.
    names = [f"{k}.png" for k in range(3)]
    sets = {n: _files_entry(server, n.lower(), names, seed=20 * i, size=(96, 80)) for i, n in
            enumerate(("BSDS500_train", "CBSD68", "McMaster"))}
    man = _manifest(tmp_path, sets)
    root = tmp_path / "cache"
    missing = subprocess.run([sys.executable, "-m", "mdfloss", "benchmark", "--task", "denoise", "--out",
                              str(tmp_path / "b0")], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, MDFLOSS_DATA=str(root)))
    assert missing.returncode == 2 and "mdfloss data download" in missing.stderr
    assert _data("download", *sets, "--manifest", str(man), env_root=root).returncode == 0
    env = dict(os.environ, MDFLOSS_DATA=str(root), OMP_NUM_THREADS="1")
    bench = subprocess.run([sys.executable, "-m", "mdfloss", "benchmark", "--task", "denoise", "--preset", "smoke",
                            "--losses", "l1,l2", "--out", str(tmp_path / "b")], capture_output=True, text=True,
                           env=env, timeout=600)
    assert bench.returncode == 0, bench.stderr
    assert "## CBSD68 (2 images)" in (tmp_path / "b" / "results.md").read_text()
    ev = subprocess.run([sys.executable, "-m", "mdfloss", "evaluate", "--model", str(tmp_path / "b" / "loss_l1" /
                         "model.pt"), "--set", "McMaster"], capture_output=True, text=True, env=env, timeout=300)
    assert ev.returncode == 0 and "psnr_rgb" in ev.stdout, ev.stderr
