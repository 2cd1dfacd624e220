"""The study's logic behind the web API: which pair next, and taking an answer (no HTTP here).

One :class:`StudyService` per server process. The pair sampler lives in memory and is rebuilt from the
database at start, so a restarted server continues where it stopped; every answer is committed to
SQLite before the reply that acknowledges it.
"""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path

import numpy as np

from mdfloss.study.create import load_study
from mdfloss.study.sampling import make_sampler
from mdfloss.study.store import DB_FILE, AnswerRefused, AnswerStore

_OBSERVER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MAX_RESPONSE_MS = 24 * 3600 * 1000.0


class StudyService:
    def __init__(self, study_dir: Path, *, trials: int = 30, sampler: str = "active", seed: int | None = None,
                 url_suffix: str = ""):
        self.dir = Path(study_dir)
        self.meta = load_study(self.dir)
        self.conditions: list[str] = self.meta["conditions"]
        self.scenes: list[str] = [s["scene"] for s in self.meta["scenes"]]
        self.trials = trials
        self.url_suffix = url_suffix
        self.store = AnswerStore(self.dir / DB_FILE)
        self.lock = threading.Lock()
        self.rng = np.random.default_rng(seed)
        self.sampler = make_sampler(sampler, self.scenes, self.conditions, self.rng)
        self.index = {c: i for i, c in enumerate(self.conditions)}
        for a in self.store.answers():  # replay: a restarted server knows every stored answer
            self._learn(a.scene, self.index[a.condition_a], self.index[a.condition_b], a.a_selected, reserved=False)
        for s in self.store.outstanding():
            self.sampler.reserve(s.scene, *sorted((self.index[s.left], self.index[s.right])), +1)

    def _learn(self, scene: str, i: int, j: int, i_selected: bool, *, reserved: bool) -> None:
        if i > j:
            i, j, i_selected = j, i, not i_selected
        self.sampler.record(scene, i, j, i_selected, was_reserved=reserved)

    def image_path(self, scene_index: int, which: str) -> Path | None:
        """The file behind ``/image/<scene>/<which>``: only files the study lists, never a user path."""
        if not 0 <= scene_index < len(self.scenes):
            return None
        if which == "reference":
            folder = "reference"
        elif which.isdigit() and int(which) < len(self.conditions):
            folder = self.meta["folders"][self.conditions[int(which)]]
        else:
            return None
        return self.dir / "images" / folder / f"{self.scenes[scene_index]}.png"

    def _payload(self, served, answered: int) -> dict:
        s = self.scenes.index(served.scene)
        url = lambda which: f"/image/{s}/{which}{self.url_suffix}"  # noqa: E731
        return {"pair_id": served.pair_id, "scene": served.scene, "done": False,
                "left": url(self.index[served.left]), "right": url(self.index[served.right]),
                "reference": url("reference"), "answered": answered, "total": self.trials}

    def next_pair(self, observer: str, session: str = "1") -> dict:
        """The observer's next pair; the same pair again until it is answered (so a reload resumes)."""
        check_observer(observer)
        if not _OBSERVER.match(session or ""):
            raise AnswerRefused(400, "session: expected 1-64 letters, digits or _ . @ -")
        with self.lock:
            answered = self.store.answered_count(observer)
            pending = self.store.outstanding(observer)
            if pending:
                return self._payload(pending[0], answered)
            if answered >= self.trials:
                return {"done": True, "answered": answered, "total": self.trials}
            scene, i, j = self.sampler.next_pair(reserve=True)
            if self.rng.random() < 0.5:  # which side each condition is shown on is random
                i, j = j, i
            served = self.store.serve(observer, session, scene, self.conditions[i], self.conditions[j])
            return self._payload(served, answered)

    def answer(self, body: object) -> dict:
        """Take ``{"pair_id", "observer", "chosen": "left"|"right", "ms"}``; refuse anything else."""
        if not isinstance(body, dict):
            raise AnswerRefused(400, 'expected a JSON object {"pair_id", "observer", "chosen", "ms"}')
        unknown = set(body) - {"pair_id", "observer", "chosen", "ms"}
        if unknown:
            raise AnswerRefused(400, f"unknown field(s): {', '.join(sorted(unknown))}")
        pair_id, observer, chosen, ms = (body.get(k) for k in ("pair_id", "observer", "chosen", "ms"))
        if not isinstance(pair_id, str) or not pair_id:
            raise AnswerRefused(400, "pair_id: expected the string that /api/next returned")
        check_observer(observer)
        if chosen not in ("left", "right"):
            raise AnswerRefused(400, f'chosen: expected "left" or "right", got {chosen!r}')
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms) or not (
                0 <= ms <= MAX_RESPONSE_MS):
            raise AnswerRefused(400, f"ms: expected the response time in milliseconds (0 to {MAX_RESPONSE_MS:.0f})")
        with self.lock:
            answer = self.store.record(pair_id, observer, chosen, float(ms))
            self._learn(answer.scene, self.index[answer.condition_a], self.index[answer.condition_b],
                        answer.a_selected, reserved=True)
            answered = self.store.answered_count(observer)
        return {"ok": True, "answered": answered, "total": self.trials}


def check_observer(observer: object) -> None:
    if not isinstance(observer, str) or not _OBSERVER.match(observer):
        raise AnswerRefused(400, "observer: expected an id of 1-64 letters, digits or _ . @ -")
