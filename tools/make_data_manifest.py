"""Write src/mdfloss/data/manifest.json from snapshots of the pinned repositories.

Each file's sha256 is taken from the repository itself: the bytes of the file at the pinned commit
(``git show COMMIT:PATH``), in a local snapshot of the public repository. Run with the snapshots' git
folders (e.g. from the search tool's fetch, or ``git clone --bare``):

    python tools/make_data_manifest.py --repo cszn/DnCNN=/path/DnCNN.git --repo cszn/FFDNet=... \\
        --repo JingyunLiang/SwinIR=... --repo BIDS/BSDS500=... --repo jbhuang0604/SelfExSR=...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

IMAGE = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# name: (repository, commit, folder, licence note)
SETS = {
    "Set5": ("JingyunLiang/SwinIR", "6545850fbf8df298df73d81f3e8cba638787c8bd", "testsets/Set5/HR",
             "Bevilacqua et al., BMVC 2012; no licence stated. SwinIR code is Apache-2.0."),
    "Set14": ("cszn/DnCNN", "e93b27812d3ff523a3a79d19e5e50d233d7a8d0a", "testsets/Set14",
              "Zeyde et al., 2010; no licence stated."),
    "BSD100": ("BIDS/BSDS500", "a04b7c6c3a9f0ace74bf205c72a43d32e1c72722", "BSDS500/data/images/val",
               "Berkeley Segmentation Dataset (BSDS500 val = BSDS300 test); research use, cite Arbelaez et al., "
               "TPAMI 2011."),
    "BSDS500_train": ("BIDS/BSDS500", "a04b7c6c3a9f0ace74bf205c72a43d32e1c72722", "BSDS500/data/images/train",
                      "Berkeley Segmentation Dataset; research use, cite Arbelaez et al., TPAMI 2011."),
    "CBSD68": ("cszn/FFDNet", "e787f46df2f374ff3591186706229cb9a0591fea", "testsets/CBSD68",
               "The 68 colour BSDS images; terms as BSDS500."),
    "McMaster": ("cszn/FFDNet", "e787f46df2f374ff3591186706229cb9a0591fea", "testsets/McMaster",
                 "Zhang, Wu, Buades, Li, JEI 2011; no licence stated."),
    "Kodak24": ("cszn/FFDNet", "e787f46df2f374ff3591186706229cb9a0591fea", "testsets/Kodak24",
                "Kodak PhotoCD images, released by Kodak for unrestricted use."),
    "LIVE1": ("cszn/DnCNN", "e93b27812d3ff523a3a79d19e5e50d233d7a8d0a", "testsets/LIVE1",
              "LIVE IQA database release 2 reference images; copyright UT Austin, research use with citation."),
    "Classic5": ("cszn/DnCNN", "e93b27812d3ff523a3a79d19e5e50d233d7a8d0a", "testsets/classic5",
                 "baboon, barbara, boats, lena, peppers; no licence stated."),
    "Urban100": ("jbhuang0604/SelfExSR", "8f6dd8c1d20cb7e8792a7177b4f6fd677633f598", "data/Urban100/image_SRF_2",
                 "Huang, Singh, Ahuja, CVPR 2015 (SelfExSR); the HR images of its x2 folder (sides cropped to even "
                 "numbers), *_HR.png only; no licence stated."),
    "Set12": ("cszn/DnCNN", "e93b27812d3ff523a3a79d19e5e50d233d7a8d0a", "testsets/Set12",
              "DnCNN's grayscale denoising set; no licence stated."),
}
# No public repository snapshot holds these: listed with their official URLs, hashes unverified.
def _div2k(split: str) -> dict:
    return {"archive": {"url": f"http://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_{split}_HR.zip", "sha256": None,
                        "strip": f"DIV2K_{split}_HR/"},
            "licence": "DIV2K (Agustsson & Timofte, CVPRW 2017): academic research use only.",
            "note": "official URL; its sha256 could not be obtained here (no network), so it is not checked"}


UNVERIFIED = {"DIV2K_train": _div2k("train"), "DIV2K_valid": _div2k("valid")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", action="append", required=True, help="OWNER/NAME=GIT_DIR")
    ap.add_argument("--out", type=Path, default=Path("src/mdfloss/data/manifest.json"))
    args = ap.parse_args()
    repos = dict(r.split("=", 1) for r in args.repo)
    sets = {}
    for name, (repo, commit, folder, licence) in SETS.items():
        listing = subprocess.run(["git", "-C", repos[repo], "ls-tree", "--name-only", commit, folder + "/"],
                                 capture_output=True, text=True, check=True).stdout.split()
        files = []
        keep = (lambda p: p.endswith("_HR.png")) if name == "Urban100" else (lambda p: True)
        for path in sorted(p for p in listing if p.lower().endswith(IMAGE) and keep(p)):
            data = subprocess.run(["git", "-C", repos[repo], "show", f"{commit}:{path}"], capture_output=True,
                                  check=True).stdout
            files.append({"name": Path(path).name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                          "url": f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"})
        sets[name] = {"source": f"github.com/{repo} at {commit}, {folder}/", "licence": licence,
                      "hash_from": "sha256 of each file's bytes at that commit, read from a snapshot of the repository",
                      "files": files}
    sets.update(UNVERIFIED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"kind": "mdfloss.data-manifest", "version": 1, "sets": sets}, indent=1) + "\n")
    print(f"wrote {args.out}: " + ", ".join(f"{k} ({len(v.get('files', []))} files)" for k, v in sets.items()))


if __name__ == "__main__":
    main()
