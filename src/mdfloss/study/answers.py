"""Answers of a pairwise-comparison study, in pwcmp's table format.

One row per answer: ``observer, session_id, scene, condition_A, condition_B, is_A_selected`` (pwcmp's
columns; others, such as pwcmp's ``criterion`` or our ``time`` and ``ms``, are kept but not needed).

Our own ``kind`` column tells the answers that are scaled (``pair``) from the screening trials
(``catch``: the reference against a strongly degraded copy; ``identical``: one image on both sides;
``practice``: the first trials, shown as practice). A CSV without it holds pairs only. In answers served by
``mdfloss study serve``, condition A is the image shown on the left.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.files import atomic_write_bytes

PWCMP_COLUMNS = ("observer", "session_id", "scene", "condition_A", "condition_B", "is_A_selected")
EXPORT_COLUMNS = PWCMP_COLUMNS + ("time", "response_ms", "kind")
KINDS = ("pair", "practice", "catch", "identical")
#: The two sides of a catch trial; method names start with a letter or digit, so these never collide.
CATCH_REFERENCE, CATCH_DEGRADED = "_reference", "_degraded"


@dataclass(frozen=True)
class Answer:
    observer: str
    session: str
    scene: str
    condition_a: str
    condition_b: str
    a_selected: bool
    time: str = ""
    response_ms: float | None = None
    kind: str = "pair"

    @property
    def winner(self) -> str:
        return self.condition_a if self.a_selected else self.condition_b

    @property
    def loser(self) -> str:
        return self.condition_b if self.a_selected else self.condition_a


def read_answers_csv(path: Path) -> list[Answer]:
    """Answers from a CSV with pwcmp's columns; a bad row is refused with its line number."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"answers: {path} is not a file; give a study folder or a CSV with the columns "
                                f"{', '.join(PWCMP_COLUMNS)}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError(f"answers: {path} is not a UTF-8 text (CSV) file") from None
    with io.StringIO(text, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in PWCMP_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInputError(f"answers: {path} lacks the column(s) {', '.join(missing)}; pwcmp's format has "
                                    f"{', '.join(PWCMP_COLUMNS)}")
        answers = []
        for line, row in enumerate(reader, start=2):
            selected = row["is_A_selected"].strip()
            if selected not in ("0", "1", "0.0", "1.0", "true", "false", "True", "False"):
                raise InvalidInputError(f"answers: {path} line {line}: is_A_selected must be 0 or 1, got {selected!r}")
            kind = (row.get("kind") or "pair").strip()
            if kind not in KINDS:
                raise InvalidInputError(f"answers: {path} line {line}: kind must be one of {', '.join(KINDS)}, "
                                        f"got {kind!r}")
            same_ok = kind == "identical"  # one image on both sides, by design
            if (row["condition_A"] == row["condition_B"] and not same_ok) or not row["condition_A"] or not row["scene"]:
                raise InvalidInputError(f"answers: {path} line {line}: a scene and two different conditions "
                                        "are needed")
            ms = row.get("response_ms")
            try:
                ms_value = float(ms) if ms else None
            except ValueError:
                raise InvalidInputError(f"answers: {path} line {line}: response_ms must be a number, "
                                        f"got {ms!r}") from None
            answers.append(Answer(row["observer"], row["session_id"], row["scene"], row["condition_A"],
                                  row["condition_B"], selected in ("1", "1.0", "true", "True"),
                                  row.get("time", "") or "", ms_value, kind))
    if not answers:
        raise InvalidInputError(f"answers: {path} holds no answers")
    return answers


def answers_csv_bytes(answers: list[Answer]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for a in answers:
        writer.writerow([a.observer, a.session, a.scene, a.condition_a, a.condition_b, int(a.a_selected), a.time,
                         "" if a.response_ms is None else f"{a.response_ms:g}", a.kind])
    return buf.getvalue().encode()


def write_answers_csv(answers: list[Answer], path: Path) -> None:
    atomic_write_bytes(Path(path), answers_csv_bytes(answers))


def scaled_only(answers: list[Answer]) -> list[Answer]:
    """The answers that enter the scaling: real pairs, not catch, identical or practice trials."""
    return [a for a in answers if a.kind == "pair"]


def counts(answers: list[Answer], conditions: list[str]) -> np.ndarray:
    """``D[i, j]``: times ``conditions[i]`` was chosen over ``conditions[j]``."""
    index = {c: i for i, c in enumerate(conditions)}
    D = np.zeros((len(conditions), len(conditions)))
    for a in answers:
        D[index[a.winner], index[a.loser]] += 1
    return D


def by_observer(answers: list[Answer], conditions: list[str]) -> dict[str, np.ndarray]:
    """One count matrix per observer (in the order observers first appear)."""
    groups: dict[str, list[Answer]] = {}
    for a in answers:
        groups.setdefault(a.observer, []).append(a)
    return {obs: counts(group, conditions) for obs, group in groups.items()}


def conditions_of(answers: list[Answer]) -> list[str]:
    return sorted({a.condition_a for a in answers} | {a.condition_b for a in answers})
