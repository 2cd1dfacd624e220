"""The study's logic behind the web API: which pair next, and taking an answer (no HTTP here).

One :class:`StudyService` per server process. The pair sampler lives in memory and is rebuilt from the
database at start, so a restarted server continues where it stopped; every answer is committed to
SQLite before the reply that acknowledges it.

Each observer gets the study's practice trials first, then ``trials`` real pairs with the catch and
identical trials mixed in (order from :func:`~mdfloss.study.codes.trial_order`). Only real pairs reach the
sampler, and the screening trials draw from a generator of their own, so they change none of its choices.
Image URLs name the served pair (``/image/<pair_id>/left``), not the condition, so nothing on the page
tells a catch trial from a real one.
"""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path

import numpy as np

from mdfloss.study.answers import CATCH_DEGRADED, CATCH_REFERENCE
from mdfloss.study.codes import completion_code, study_secret, trial_order
from mdfloss.study.create import CATCH_FOLDER, REFERENCE, TEXT_FILES, load_study, study_text
from mdfloss.study.sampling import make_sampler
from mdfloss.study.store import DB_FILE, AnswerRefused, AnswerStore, Served

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
        self.extra: dict[str, int] = self.meta["trials"]
        self.total = trials + sum(self.extra.values())
        self.url_suffix = url_suffix
        self.secret = study_secret(self.dir, create=True)
        self.texts = {name: study_text(self.dir, name) for name in TEXT_FILES}
        self.store = AnswerStore(self.dir / DB_FILE)
        self.lock = threading.Lock()
        self.rng = np.random.default_rng(seed)  # the sampler's and the real pairs' sides only
        self.extra_rng = np.random.default_rng(None if seed is None else [seed, 1])
        self.sampler = make_sampler(sampler, self.scenes, self.conditions, self.rng)
        self.index = {c: i for i, c in enumerate(self.conditions)}
        self._orders: dict[str, list[str]] = {}
        for a in self.store.answers():  # replay: a restarted server knows every stored answer
            if a.kind == "pair":
                self._learn(a.scene, self.index[a.condition_a], self.index[a.condition_b], a.a_selected,
                            reserved=False)
        for s in self.store.outstanding():
            if s.kind == "pair":
                self.sampler.reserve(s.scene, *sorted((self.index[s.left], self.index[s.right])), +1)

    def _learn(self, scene: str, i: int, j: int, i_selected: bool, *, reserved: bool) -> None:
        if i > j:
            i, j, i_selected = j, i, not i_selected
        self.sampler.record(scene, i, j, i_selected, was_reserved=reserved)

    def image_path(self, pair_id: str, which: str) -> Path | None:
        """The file behind ``/image/<pair_id>/<left|right|reference>``: only the study's own files."""
        if which not in ("left", "right", "reference"):
            return None
        served = self.store.served(pair_id)
        if served is None:
            return None
        condition = {"left": served.left, "right": served.right, "reference": CATCH_REFERENCE}[which]
        folder = {CATCH_REFERENCE: REFERENCE, CATCH_DEGRADED: CATCH_FOLDER}.get(condition)
        folder = folder or self.meta["folders"][condition]
        return self.dir / "images" / folder / f"{served.scene}.png"

    def _payload(self, served: Served, answered: int) -> dict:
        url = lambda which: f"/image/{served.pair_id}/{which}{self.url_suffix}"  # noqa: E731 - a one-line helper used only in this function
        return {"pair_id": served.pair_id, "scene": served.scene, "done": False, "practice": served.kind == "practice",
                "left": url("left"), "right": url("right"), "reference": url("reference"),
                "answered": answered, "total": self.total}

    def _order(self, observer: str) -> list[str]:
        if observer not in self._orders:
            self._orders[observer] = trial_order(self.secret, observer, pairs=self.trials, **self.extra)
        return self._orders[observer]

    def _screening_pair(self, kind: str) -> tuple[str, str, str]:
        """Scene, left and right condition of a practice, catch or identical trial (never from ``self.rng``)."""
        rng = self.extra_rng
        scene = self.scenes[rng.integers(len(self.scenes))]
        if kind == "catch":
            left, right = CATCH_REFERENCE, CATCH_DEGRADED
        elif kind == "identical":
            left = right = self.conditions[rng.integers(len(self.conditions))]
        else:
            left, right = (self.conditions[k] for k in rng.choice(len(self.conditions), 2, replace=False))
        return (scene, left, right) if rng.random() < 0.5 else (scene, right, left)

    def observer_status(self, observer: str) -> dict:
        """Whether the observer has begun (a reload resumes) and how far they are."""
        check_observer(observer)
        with self.lock:
            answered = self.store.answered_count(str(observer))
            started = answered > 0 or bool(self.store.outstanding(observer))
        return {"observer": observer, "started": started, "answered": answered, "total": self.total}

    def study_info(self) -> dict:
        """What the page shows before the first trial."""
        return {"instructions": self.texts["instructions"], "consent": self.texts["consent"],
                "practice": self.extra["practice"], "total": self.total}

    def next_pair(self, observer: str, session: str = "1") -> dict:
        """The observer's next pair; the same pair again until it is answered (so a reload resumes)."""
        check_observer(observer)
        if not _OBSERVER.match(session or ""):
            raise AnswerRefused(400, "session: expected 1-64 letters, digits or _ . @ -")
        with self.lock:
            answered = self.store.answered_count(str(observer))
            pending = self.store.outstanding(observer)
            if pending:
                return self._payload(pending[0], answered)
            if answered >= self.total:  # the cap: no observer answers more than the study's trials
                return {"done": True, "answered": answered, "total": self.total,
                        "code": completion_code(self.secret, observer)}
            kind = self._order(observer)[answered]
            if kind == "pair":
                scene, i, j = self.sampler.next_pair(reserve=True)
                if self.rng.random() < 0.5:  # which side each condition is shown on is random
                    i, j = j, i
                left, right = self.conditions[i], self.conditions[j]
            else:
                scene, left, right = self._screening_pair(kind)
            served = self.store.serve(observer, session, scene, left, right, kind)
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
            answer = self.store.record(pair_id, str(observer), chosen, float(ms))  # check_observer: a string
            if answer.kind == "pair":
                self._learn(answer.scene, self.index[answer.condition_a], self.index[answer.condition_b],
                            answer.a_selected, reserved=True)
            answered = self.store.answered_count(str(observer))
        return {"ok": True, "answered": answered, "total": self.total}


def check_observer(observer: object) -> None:
    if not isinstance(observer, str) or not _OBSERVER.match(observer):
        raise AnswerRefused(400, "observer: expected an id of 1-64 letters, digits or _ . @ -")
