"""The study's answers in SQLite (WAL): one row per answer, committed before the next pair is served.

Two tables:

* ``served``: every pair handed to an observer (``pair_id``, observer, session, scene, left and right
  condition, when), marked ``answered`` once answered;
* ``answers``: one row per answer, pwcmp's columns plus time and response ms, ``pair_id`` unique, so a
  pair is answered at most once even when two requests race.

Both carry the trial's ``kind`` (``pair``, ``practice``, ``catch``, ``identical``); databases written
before it existed get the column on opening, every old row a ``pair``.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mdfloss.study.answers import Answer

DB_FILE = "answers.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS served (
    pair_id TEXT PRIMARY KEY, observer TEXT NOT NULL, session TEXT NOT NULL, scene TEXT NOT NULL,
    condition_left TEXT NOT NULL, condition_right TEXT NOT NULL, served_at TEXT NOT NULL,
    answered INTEGER NOT NULL DEFAULT 0, kind TEXT NOT NULL DEFAULT 'pair');
CREATE INDEX IF NOT EXISTS served_observer ON served (observer, answered);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, pair_id TEXT NOT NULL UNIQUE REFERENCES served (pair_id),
    observer TEXT NOT NULL, session TEXT NOT NULL, scene TEXT NOT NULL,
    condition_a TEXT NOT NULL, condition_b TEXT NOT NULL, is_a_selected INTEGER NOT NULL,
    time TEXT NOT NULL, response_ms REAL NOT NULL, kind TEXT NOT NULL DEFAULT 'pair');
"""
_ANSWER_COLUMNS = "observer, session, scene, condition_a, condition_b, is_a_selected, time, response_ms"


def _has_kind(db: sqlite3.Connection, table: str) -> bool:
    return any(row[1] == "kind" for row in db.execute(f"PRAGMA table_info({table})"))


def _answer(row) -> Answer:
    return Answer(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7], row[8])


@dataclass(frozen=True)
class Served:
    pair_id: str
    observer: str
    session: str
    scene: str
    left: str
    right: str
    answered: bool
    kind: str = "pair"


def _served(row: tuple) -> Served:
    """A row of the ``_SERVED`` query as a :class:`Served`."""
    pair_id, observer, session, scene, left, right, answered, kind = row
    return Served(pair_id, observer, session, scene, left, right, bool(answered), kind)


class AnswerRefused(Exception):
    """An answer that is stored nowhere; ``status`` is the HTTP status to reply with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


class AnswerStore:
    """Thread-safe access to ``answers.sqlite`` (one connection per thread)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(_SCHEMA)
            for table in ("served", "answers"):  # a database from before trial kinds: every row is a pair
                if not _has_kind(db, table):
                    db.execute(f"ALTER TABLE {table} ADD COLUMN kind TEXT NOT NULL DEFAULT 'pair'")

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an acknowledged answer survives a crash of the machine too
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    def serve(self, observer: str, session: str, scene: str, left: str, right: str, kind: str = "pair") -> Served:
        pair_id = secrets.token_urlsafe(12)
        self._connect().execute(
            "INSERT INTO served (pair_id, observer, session, scene, condition_left, condition_right, served_at, kind) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (pair_id, observer, session, scene, left, right, _now(), kind))
        return Served(pair_id, observer, session, scene, left, right, False, kind)

    _SERVED = "SELECT pair_id, observer, session, scene, condition_left, condition_right, answered, kind FROM served "

    def outstanding(self, observer: str | None = None) -> list[Served]:
        """Pairs served and not answered (of one observer, or of everyone)."""
        sql = self._SERVED + "WHERE answered = 0" + (" AND observer = ?" if observer is not None else "") + \
            " ORDER BY rowid"
        rows = self._connect().execute(sql, (observer,) if observer is not None else ()).fetchall()
        return [_served(r) for r in rows]

    def served(self, pair_id: str) -> Served | None:
        row = self._connect().execute(self._SERVED + "WHERE pair_id = ?", (pair_id,)).fetchone()
        return None if row is None else _served(row)

    def observers(self) -> list[str]:
        """Every observer served at least one pair, in the order they came."""
        rows = self._connect().execute("SELECT observer FROM served GROUP BY observer ORDER BY MIN(rowid)")
        return [r[0] for r in rows.fetchall()]

    def answered_count(self, observer: str) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM answers WHERE observer = ?", (observer,)).fetchone()[0]

    def record(self, pair_id: str, observer: str, chosen: str, ms: float) -> Answer:
        """Store one answer, or raise :class:`AnswerRefused` and store nothing."""
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT observer, session, scene, condition_left, condition_right, answered, kind "
                             "FROM served WHERE pair_id = ?", (pair_id,)).fetchone()
            if row is None:
                raise AnswerRefused(404, f"pair_id {pair_id!r} was never served; ask /api/next for a pair")
            if row[0] != observer:
                raise AnswerRefused(403, f"pair_id {pair_id!r} was served to another observer")
            if row[5]:
                raise AnswerRefused(409, f"pair_id {pair_id!r} is already answered; ask /api/next for the next pair")
            answer = Answer(observer, row[1], row[2], row[3], row[4], chosen == "left", _now(), ms, row[6])
            db.execute("INSERT INTO answers (pair_id, observer, session, scene, condition_a, condition_b, "
                       "is_a_selected, time, response_ms, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (pair_id, observer, answer.session, answer.scene, answer.condition_a, answer.condition_b,
                        int(answer.a_selected), answer.time, ms, answer.kind))
            db.execute("UPDATE served SET answered = 1 WHERE pair_id = ?", (pair_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return answer

    def answers(self) -> list[Answer]:
        rows = self._connect().execute(f"SELECT {_ANSWER_COLUMNS}, kind FROM answers ORDER BY id").fetchall()
        return [_answer(r) for r in rows]


def read_study_answers(study_dir: Path) -> list[Answer]:
    """Every answer of a study folder (read-only; works while the server runs)."""
    path = Path(study_dir) / DB_FILE
    if not path.is_file():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:  # read-only, so an old database without the kind column is read as it is: every row a pair
        kind = "kind" if _has_kind(db, "answers") else "'pair'"
        rows = db.execute(f"SELECT {_ANSWER_COLUMNS}, {kind} FROM answers ORDER BY id").fetchall()
    finally:
        db.close()
    return [_answer(r) for r in rows]
