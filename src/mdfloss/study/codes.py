"""The study's secret, completion codes and each observer's trial order.

A study folder holds ``secret.key`` (32 random bytes, readable by its owner only), written by
``study create`` or, for older folders, by the first ``study serve``. From it:

* the completion code shown when an observer finishes: ``HMAC-SHA256(secret, observer)``, 40 bits in
  base 32 (``XXXX-XXXX``). Only the server can make one; ``mdfloss study check-code`` finds whose it is;
* each observer's order of trials: the practice trials first, then the real pairs with the catch and
  identical trials shuffled among them by a generator seeded from the secret and the observer. The order
  survives a restart of the server and cannot be guessed from the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.files import atomic_write_bytes

SECRET_FILE = "secret.key"


def study_secret(study_dir: Path, *, create: bool = False) -> bytes:
    """The study's secret; made when missing if ``create`` (the server does), else refused."""
    path = Path(study_dir) / SECRET_FILE
    if not path.is_file():
        if not create:
            raise InvalidInputError(f"STUDY_DIR: '{study_dir}' has no {SECRET_FILE}, so it has handed out no codes; "
                                    "it is written when the study is created or first served")
        atomic_write_bytes(path, secrets.token_hex(32).encode())
        os.chmod(path, 0o600)
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise InvalidInputError(f"STUDY_DIR: '{path}' is damaged (under 32 bytes); delete it only if no observer "
                                "has a code yet")
    return key


def completion_code(secret: bytes, observer: str) -> str:
    """The code an observer gets at the end, e.g. ``K7Q2-M9XA``."""
    digest = hmac.new(secret, b"code:" + observer.encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest[:5]).decode()
    return f"{text[:4]}-{text[4:]}"


def normalise_code(code: str) -> str:
    """Codes as people type them: any case, with or without the dash or spaces."""
    flat = "".join(c for c in code.upper() if c.isalnum())
    return f"{flat[:4]}-{flat[4:]}" if len(flat) == 8 else code.strip()


def trial_order(secret: bytes, observer: str, *, practice: int, pairs: int, catch: int, identical: int) -> list[str]:
    """The kind of each of an observer's trials, in the order they are served."""
    seed = int.from_bytes(hmac.new(secret, b"order:" + observer.encode(), hashlib.sha256).digest()[:8], "big")
    body = ["pair"] * pairs + ["catch"] * catch + ["identical"] * identical
    order = np.random.default_rng(seed).permutation(len(body))
    return ["practice"] * practice + [body[k] for k in order]
