"""The learner's progress: one SQLite file in the user data folder, written one answer at a time.

Why it looks like this:
* every answer is committed on its own (WAL mode), so killing the process loses nothing given;
* several terminals may write at once: short BEGIN IMMEDIATE transactions, a busy timeout and a
  retry loop keep "database is locked" away from the learner;
* a file that is not ours, is damaged, or was written by a newer attnquiz is reported (StoreError,
  naming the file) and never modified or replaced;
* the schema is versioned with PRAGMA user_version and an ordered list of migrations.

Progress keys on question ids, so rewording a question keeps its history, and rows for questions
no longer in the bank are simply ignored by the readers.

A passed kata is a review card too: its FSRS card sits in `cards` and its ratings in `answers`,
under the id `kata:NAME` (question ids cannot hold a colon), so the schema did not change.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence, TypeVar

from attnquiz import schedule
from attnquiz.errors import AttnquizError
from attnquiz.paths import user_dir

DB_NAME = "progress.sqlite3"
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0
RETRIES = 6

# Each step moves the schema from version i to i + 1. Append only: never edit a released step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            answered INTEGER NOT NULL DEFAULT 0,
            right INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            question_id TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            given TEXT NOT NULL,
            correct INTEGER NOT NULL,
            rating TEXT NOT NULL,
            seconds REAL NOT NULL,
            session_id INTEGER REFERENCES sessions(id)
        )""",
        "CREATE INDEX answers_by_question ON answers(question_id)",
        """CREATE TABLE cards (
            question_id TEXT PRIMARY KEY,
            due TEXT NOT NULL,
            card TEXT NOT NULL,
            reviews INTEGER NOT NULL DEFAULT 0
        )""",
    ),
    (
        """CREATE TABLE kata_attempts (
            id INTEGER PRIMARY KEY,
            kata TEXT NOT NULL,
            attempted_at TEXT NOT NULL,
            passed INTEGER NOT NULL,
            checks_passed INTEGER NOT NULL,
            checks_total INTEGER NOT NULL,
            seconds REAL NOT NULL
        )""",
        "CREATE INDEX kata_attempts_by_kata ON kata_attempts(kata)",
    ),
    (
        # Session ids are never reused (AUTOINCREMENT), so an answer of a session that a reset removed
        # can never be adopted by a later one; answers already pointing nowhere are detached.
        """CREATE TABLE sessions_v3 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            answered INTEGER NOT NULL DEFAULT 0,
            right INTEGER NOT NULL DEFAULT 0
        )""",
        "INSERT INTO sessions_v3 (id, started_at, ended_at, answered, right) SELECT id, started_at, ended_at, answered, right FROM sessions",
        "UPDATE answers SET session_id = NULL WHERE session_id IS NOT NULL AND session_id NOT IN (SELECT id FROM sessions)",
        "DROP TABLE sessions",
        "ALTER TABLE sessions_v3 RENAME TO sessions",
        # The kata bookkeeping that lived in katas.json: started, where, hints seen, gave up; and the last kata.
        """CREATE TABLE kata_state (
            kata TEXT PRIMARY KEY,
            started_at TEXT,
            workspace TEXT,
            hints_shown INTEGER NOT NULL DEFAULT 0,
            gave_up_at TEXT
        )""",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        # What `attnquiz hint` needs to answer the last grading: the checks it failed, in the
        # suite's order (JSON list; NULL for attempts graded before), and which hints were shown
        # (JSON list of 1-based numbers; NULL: the first hints_shown, as counted before).
        "ALTER TABLE kata_attempts ADD COLUMN failed_checks TEXT",
        "ALTER TABLE kata_state ADD COLUMN hints_seen TEXT",
    ),
    (
        # Mock interviews (`attnquiz interview`): one row each, written when it starts and after every
        # phase; `report` holds the phases as JSON (attnquiz.interview). Their answers are ordinary
        # answers of the session `session_id`, their kata gradings ordinary kata_attempts.
        """CREATE TABLE interviews (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            minutes REAL NOT NULL,
            kata TEXT,
            kata_passed INTEGER NOT NULL DEFAULT 0,
            points INTEGER NOT NULL DEFAULT 0,
            verdict TEXT NOT NULL,
            report TEXT NOT NULL DEFAULT '{}',
            session_id INTEGER
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

KATA_CARD_PREFIX = "kata:"  # cards and answers of kata reviews; question ids have no colon
_QUESTION_CARDS = "question_id NOT LIKE 'kata:%'"
_FRESH_KEY = "kata_fresh:"  # settings key: when `attnquiz kata NAME --fresh` opened the review

T = TypeVar("T")


class StoreError(AttnquizError):
    """The progress database cannot be used; the message names the file and what to do."""


def default_path() -> Path:
    """Where progress lives: ATTNQUIZ_HOME, else the platform's user data folder (see paths.user_dir)."""
    return user_dir() / DB_NAME


def to_text(moment: datetime) -> str:
    """A fixed-width UTC form, so times sort and compare as text inside SQLite."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_text(text: str) -> datetime:
    """The inverse of to_text (fromisoformat: no _strptime import on the start-up path)."""
    return datetime.fromisoformat(text)


class Card(NamedTuple):
    """A question's FSRS state as stored: when it is due, the fsrs card as JSON, how often reviewed."""

    question_id: str
    due: datetime
    card: str
    reviews: int


class Answer(NamedTuple):
    question_id: str
    answered_at: datetime
    given: str
    correct: bool
    rating: str
    seconds: float
    session_id: int | None


class KataAttempt(NamedTuple):
    kata: str
    attempted_at: datetime
    passed: bool
    checks_passed: int
    checks_total: int
    seconds: float


class KataState(NamedTuple):
    kata: str
    started_at: datetime | None
    workspace: str | None
    hints_shown: int
    gave_up_at: datetime | None


class KataReview(NamedTuple):
    """A kata's review card: when it is due, ratings so far (the first pass included), the last
    one and when, and when `--fresh` opened the review the next grading rates (None: none open)."""

    kata: str
    due: datetime
    reviews: int
    last_rating: str | None
    last_review_at: datetime | None
    fresh_since: datetime | None


class KataRating(NamedTuple):
    """What one grading did to a kata's card: its rating and the new due date (first: the first pass)."""

    kata: str
    rating: str
    due: datetime
    first: bool


class SessionRow(NamedTuple):
    id: int
    started_at: datetime
    ended_at: datetime
    answered: int
    right: int


class InterviewRow(NamedTuple):
    """One mock interview as stored; `report` is its phases as JSON text (see attnquiz.interview)."""

    id: int
    started_at: datetime
    ended_at: datetime
    minutes: float
    kata: str | None
    kata_passed: bool
    points: int
    verdict: str
    report: str
    session_id: int | None


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    """An open progress database. Open it once per command (`Store.open()`), close it at the end."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._session_id: int | None = None
        self._session_started: datetime | None = None

    # ----------------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: Path | None = None) -> Store:
        """Open (creating or migrating) the database; StoreError if it is not one we can use."""
        path = path or default_path()
        _check_header(path)
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise _failure(path, exc, "open") from None
        store = cls(conn, path)
        try:
            store._prepare()
            conn.execute("PRAGMA foreign_keys = ON")  # after the migrations, which rebuild tables
        except StoreError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _failure(path, exc, "open") from None
        return store

    def _prepare(self) -> None:
        """Refuse what we must not touch, then WAL mode and any pending migrations."""
        # One statement, one snapshot: read apart, another terminal creating the database between
        # the two reads would make our own fresh tables look like another program's.
        version, tables = self._retry(
            lambda: self._conn.execute(
                "SELECT user_version, (SELECT group_concat(name, ', ') FROM "
                "(SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)) FROM pragma_user_version"
            ).fetchone()
        )
        self._refuse_newer(version)
        if not version and tables:
            self._refuse_foreign(tables)
        if version:
            verdict = self._retry(lambda: self._conn.execute("PRAGMA quick_check(1)").fetchone()[0])
            if verdict != "ok":
                raise _damaged(self.path, verdict)
        if self._retry(lambda: self._conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            self._retry(lambda: self._conn.execute("PRAGMA journal_mode=WAL").fetchone())
        if version < SCHEMA_VERSION:
            self._write(self._migrate)

    def _refuse_foreign(self, tables: str) -> None:
        """A version-0 file is ours only while it is empty: another program's tables are never migrated."""
        raise StoreError(
            f"{self.path} is an SQLite database of another program (tables: {tables[:80]}); move it aside "
            "or set ATTNQUIZ_HOME to another folder. The file was left untouched."
        )

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer attnquiz (schema {version}; this one knows up to "
                f"{SCHEMA_VERSION}). Upgrade attnquiz (install it again from a newer checkout), or set ATTNQUIZ_HOME to "
                "another folder. The file was left untouched."
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply the missing steps inside the caller's write transaction (re-read: another process may have)."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        self._refuse_newer(version)
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # ----------------------------------------------------------------------- the write path

    def _retry(self, action: Callable[[], T]) -> T:
        """Run `action`, waiting out another process's lock (busy_timeout, then back off and retry)."""
        for attempt in range(RETRIES):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if attempt == RETRIES - 1:
                    raise StoreError(
                        f"{self.path} stayed locked by another program for too long; close other attnquiz "
                        "sessions (or whatever holds the file) and try again"
                    ) from None
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One short write transaction, taken up front (BEGIN IMMEDIATE) so it cannot deadlock halfway."""

        def attempt() -> T:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            return result

        try:
            return self._retry(attempt)
        except sqlite3.DatabaseError as exc:
            raise _failure(self.path, exc, "write to") from None

    def _read(self, sql: str, args: Iterable[object] = ()) -> list[tuple]:
        try:
            return self._retry(lambda: self._conn.execute(sql, tuple(args)).fetchall())
        except sqlite3.DatabaseError as exc:
            raise _failure(self.path, exc, "read") from None

    # ----------------------------------------------------------------------- answers and reviews

    def begin_session(self, at: datetime) -> None:
        """Note when a quiz session starts; its row is written with the first answer, so empty sessions leave none."""
        self._session_id = None
        self._session_started = at

    def record_answer(
        self, question_id: str, given: str, correct: bool, rating: str, seconds: float, at: datetime
    ) -> Card:
        """Store one answer and reschedule the question with FSRS, committed at once. Returns the new card."""
        schedule.warm_up()

        def work(conn: sqlite3.Connection) -> Card:
            row = conn.execute("SELECT card, reviews FROM cards WHERE question_id = ?", (question_id,)).fetchone()
            card_json, due = schedule.review(row[0] if row else None, question_id, rating, at)
            reviews = (row[1] if row else 0) + 1
            session_id = self._touch_session(conn, at, correct)
            conn.execute(
                "INSERT INTO answers (question_id, answered_at, given, correct, rating, seconds, session_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (question_id, to_text(at), given, int(correct), rating, float(seconds), session_id),
            )
            conn.execute(
                "INSERT INTO cards (question_id, due, card, reviews) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(question_id) DO UPDATE SET due = excluded.due, card = excluded.card, reviews = excluded.reviews",
                (question_id, to_text(due), card_json, reviews),
            )
            return Card(question_id, due, card_json, reviews)

        return self._write(work)

    def _touch_session(self, conn: sqlite3.Connection, at: datetime, correct: bool) -> int | None:
        if self._session_started is None:
            return None
        if self._session_id is None:
            cursor = conn.execute(
                "INSERT INTO sessions (started_at, ended_at, answered, right) VALUES (?, ?, 1, ?)",
                (to_text(self._session_started), to_text(at), int(correct)),
            )
            self._session_id = cursor.lastrowid
        else:
            updated = conn.execute(
                "UPDATE sessions SET ended_at = ?, answered = answered + 1, right = right + ? WHERE id = ?",
                (to_text(at), int(correct), self._session_id),
            ).rowcount
            if not updated:  # `stats --reset` in another terminal removed it: go on as a new session
                self._session_id, self._session_started = None, at
                return self._touch_session(conn, at, correct)
        return self._session_id

    def cards(self) -> dict[str, Card]:
        """Every scheduled question by id (including ids no longer in the bank; callers filter). No katas."""
        rows = self._read(f"SELECT question_id, due, card, reviews FROM cards WHERE {_QUESTION_CARDS}")
        return {qid: Card(qid, from_text(due), card, reviews) for qid, due, card, reviews in rows}

    def due_dates(self) -> dict[str, datetime]:
        """When each answered question is next due: all `attnquiz ask` needs to order a session (no fsrs)."""
        return {qid: from_text(due) for qid, due in self._read(f"SELECT question_id, due FROM cards WHERE {_QUESTION_CARDS}")}

    def answers(self, question_id: str | None = None) -> list[Answer]:
        """Answers in the order given, for one question or all questions (kata review ratings, also
        rows of `answers`, only when asked for by their id `kata:NAME`)."""
        sql = "SELECT question_id, answered_at, given, correct, rating, seconds, session_id FROM answers"
        if question_id:
            rows = self._read(sql + " WHERE question_id = ? ORDER BY id", (question_id,))
        else:
            rows = self._read(sql + f" WHERE {_QUESTION_CARDS} ORDER BY id")
        return [Answer(q, from_text(a), g, bool(c), r, s, sid) for q, a, g, c, r, s, sid in rows]

    def answer_counts(self) -> dict[str, tuple[int, int]]:
        """question id -> (answers, right answers)."""
        rows = self._read(f"SELECT question_id, COUNT(*), SUM(correct) FROM answers WHERE {_QUESTION_CARDS} GROUP BY question_id")
        return {qid: (n, int(right or 0)) for qid, n, right in rows}

    def sessions(self, limit: int = 5) -> list[SessionRow]:
        """The most recent quiz sessions that answered something, newest first."""
        rows = self._read("SELECT id, started_at, ended_at, answered, right FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?", (limit,))
        return [SessionRow(i, from_text(s), from_text(e), a, r) for i, s, e, a, r in rows]

    @property
    def session_id(self) -> int | None:
        """The row of the quiz session under way (None until its first answer is saved)."""
        return self._session_id

    def practice_times(self) -> list[datetime]:
        """Every moment the learner answered a question or graded a kata (for the streak)."""
        rows = self._read("SELECT answered_at FROM answers UNION ALL SELECT attempted_at FROM kata_attempts")
        return [from_text(r[0]) for r in rows]

    # ----------------------------------------------------------------------- katas

    def record_kata_attempt(
        self,
        kata: str,
        passed: bool,
        checks_passed: int,
        checks_total: int,
        seconds: float,
        at: datetime | None = None,
        failed_checks: Sequence[str] | None = None,
    ) -> None:
        """Store one graded kata attempt, committed at once; FAILED_CHECKS (the checks that did not
        pass, in the suite's order) let `attnquiz hint` answer the first of them."""
        moment = at or schedule.now()
        failed = json.dumps([str(c) for c in failed_checks]) if failed_checks is not None else None
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO kata_attempts (kata, attempted_at, passed, checks_passed, checks_total, seconds, failed_checks)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kata, to_text(moment), int(passed), int(checks_passed), int(checks_total), float(seconds), failed),
            )
        )

    def last_failed_checks(self, kata: str) -> list[str] | None:
        """The checks the kata's latest graded attempt failed, in order ([] when it passed); None when
        it was never graded, or graded by an attnquiz that did not keep them."""
        rows = self._read("SELECT failed_checks FROM kata_attempts WHERE kata = ? ORDER BY id DESC LIMIT 1", (kata,))
        if not rows or rows[0][0] is None:
            return None
        try:
            checks = json.loads(rows[0][0])
        except ValueError:
            return None
        return [c for c in checks if isinstance(c, str)] if isinstance(checks, list) else None

    def kata_attempts(self, kata: str | None = None) -> list[KataAttempt]:
        sql = "SELECT kata, attempted_at, passed, checks_passed, checks_total, seconds FROM kata_attempts"
        rows = self._read(sql + " WHERE kata = ? ORDER BY id", (kata,)) if kata else self._read(sql + " ORDER BY id")
        return [KataAttempt(k, from_text(a), bool(p), cp, ct, s) for k, a, p, cp, ct, s in rows]

    # ----------------------------------------------------------------------- kata bookkeeping

    def kata_states(self) -> dict[str, KataState]:
        rows = self._read("SELECT kata, started_at, workspace, hints_shown, gave_up_at FROM kata_state")
        return {
            k: KataState(k, from_text(s) if s else None, w, int(h), from_text(g) if g else None) for k, s, w, h, g in rows
        }

    def mark_kata_started(self, kata: str, at: datetime, workspace: str | None = None) -> None:
        """The kata was started (its workspace made, or graded); the last kata is this one."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO kata_state (kata, started_at, workspace) VALUES (?, ?, ?) ON CONFLICT(kata) DO UPDATE"
                " SET started_at = COALESCE(started_at, excluded.started_at), workspace = COALESCE(excluded.workspace, workspace)",
                (kata, to_text(at), workspace),
            )
            conn.execute("INSERT INTO settings (key, value) VALUES ('last_kata', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (kata,))

        self._write(work)

    def next_hint(self, kata: str, hints: int) -> int:
        """Show the first hint not seen yet (the last one once all are) in one transaction; returns its 1-based number."""
        return self.take_hint(kata, lambda seen: next((n for n in range(1, hints + 1) if n not in seen), hints))

    def take_hint(self, kata: str, choose: Callable[[frozenset[int]], int]) -> int:
        """Mark the hint CHOOSE picks from the ones already seen as seen, in one transaction (two
        terminals asking at once each get their own); returns its 1-based number."""

        def work(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO kata_state (kata) VALUES (?) ON CONFLICT(kata) DO NOTHING", (kata,))
            shown, listed = conn.execute("SELECT hints_shown, hints_seen FROM kata_state WHERE kata = ?", (kata,)).fetchone()
            seen = _hints_seen(int(shown), listed)
            number = int(choose(seen))
            seen = seen | {number}
            conn.execute(
                "UPDATE kata_state SET hints_shown = ?, hints_seen = ? WHERE kata = ?",
                (len(seen), json.dumps(sorted(seen)), kata),
            )
            return number

        return self._write(work)

    def mark_gave_up(self, kata: str, at: datetime) -> None:
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO kata_state (kata, gave_up_at) VALUES (?, ?) ON CONFLICT(kata) DO UPDATE SET gave_up_at = excluded.gave_up_at",
                (kata, to_text(at)),
            )
        )

    def last_kata(self) -> str | None:
        rows = self._read("SELECT value FROM settings WHERE key = 'last_kata'")
        return rows[0][0] if rows else None

    def import_kata_state(self, states: dict[str, dict], last: str | None) -> None:
        """Bring in an older attnquiz's katas.json once (rows already here win)."""

        def work(conn: sqlite3.Connection) -> None:
            for kata, entry in states.items():
                conn.execute(
                    "INSERT INTO kata_state (kata, started_at, workspace, hints_shown, gave_up_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(kata) DO NOTHING",
                    (kata, entry.get("started"), entry.get("workspace"), int(entry.get("hints_shown") or 0), entry.get("gave_up")),
                )
            if last:
                conn.execute("INSERT INTO settings (key, value) VALUES ('last_kata', ?) ON CONFLICT(key) DO NOTHING", (last,))

        self._write(work)

    # ----------------------------------------------------------------------- kata reviews

    def kata_reviews(self) -> dict[str, KataReview]:
        """Every kata with a review card, by name (katas no longer bundled included; callers filter)."""
        n = len(KATA_CARD_PREFIX)
        cards = self._read(f"SELECT substr(question_id, {n + 1}), due, reviews FROM cards WHERE question_id LIKE 'kata:%'")
        last = {
            kata: (rating, from_text(at))
            for kata, rating, at in self._read(
                f"SELECT substr(question_id, {n + 1}), rating, answered_at FROM answers WHERE id IN"
                " (SELECT MAX(id) FROM answers WHERE question_id LIKE 'kata:%' GROUP BY question_id)"
            )
        }
        fresh = {key[len(_FRESH_KEY) :]: from_text(value) for key, value in self._read(
            "SELECT key, value FROM settings WHERE key LIKE 'kata_fresh:%'"
        )}  # fmt: skip
        return {
            kata: KataReview(kata, from_text(due), reviews, *last.get(kata, (None, None)), fresh.get(kata))
            for kata, due, reviews in cards
        }

    def open_kata_review(self, kata: str, at: datetime) -> KataReview | None:
        """`--fresh`: the next grading of KATA rates its card, and only hints seen from now on count.

        Hints restart from the first (hints_shown = 0), so whatever shows a hint must count it there.
        A kata without a card (never passed) has no review to open: None, nothing written.
        """

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute("SELECT 1 FROM cards WHERE question_id = ?", (KATA_CARD_PREFIX + kata,)).fetchone() is None:
                return False
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (_FRESH_KEY + kata, to_text(at)),
            )
            conn.execute("UPDATE kata_state SET hints_shown = 0 WHERE kata = ?", (kata,))
            return True

        return self.kata_reviews().get(kata) if self._write(work) else None

    def rate_kata(self, kata: str, passed: bool, seconds: float, at: datetime) -> KataRating | None:
        """Rate KATA's card from one grading, if this grading is a review; committed at once.

        The first pass makes the card; after that only the first grading since `--fresh` rates it.
        Hints seen and the reference read (`solution --give-up`) since then lower the rating
        (schedule.kata_rating). None when this grading rates nothing.
        """
        schedule.warm_up()
        key = KATA_CARD_PREFIX + kata

        def work(conn: sqlite3.Connection) -> KataRating | None:
            card = conn.execute("SELECT card, reviews FROM cards WHERE question_id = ?", (key,)).fetchone()
            opened = conn.execute("SELECT value FROM settings WHERE key = ?", (_FRESH_KEY + kata,)).fetchone()
            if (card is None and not passed) or (card is not None and opened is None):
                return None
            state = conn.execute("SELECT hints_shown, gave_up_at FROM kata_state WHERE kata = ?", (kata,)).fetchone()
            hints, gave_up = (int(state[0]), state[1]) if state else (0, None)
            since = opened[0] if opened else None
            saw_solution = gave_up is not None and (since is None or gave_up >= since)
            rating = schedule.kata_rating(passed, hints > 0, saw_solution)
            card_json, due = schedule.review(card[0] if card else None, key, rating, at, kata=True)
            conn.execute(
                "INSERT INTO answers (question_id, answered_at, given, correct, rating, seconds, session_id)"
                " VALUES (?, ?, '', ?, ?, ?, NULL)",
                (key, to_text(at), int(passed), rating, float(seconds)),
            )
            conn.execute(
                "INSERT INTO cards (question_id, due, card, reviews) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(question_id) DO UPDATE SET due = excluded.due, card = excluded.card, reviews = excluded.reviews",
                (key, to_text(due), card_json, (card[1] if card else 0) + 1),
            )
            conn.execute("DELETE FROM settings WHERE key = ?", (_FRESH_KEY + kata,))
            return KataRating(kata, rating, due, card is None)

        return self._write(work)

    def adopt_passed_katas(self, names: Iterable[str]) -> list[str]:
        """Give a card to each of NAMES that passed before kata reviews existed, rated good at its
        first pass. One read when there is nothing to do; returns the katas adopted."""
        wanted = set(names)
        rows = self._read(
            "SELECT kata, MIN(attempted_at) FROM kata_attempts WHERE passed AND 'kata:' || kata NOT IN"
            " (SELECT question_id FROM cards) GROUP BY kata"
        )
        orphans = [(kata, from_text(at)) for kata, at in rows if kata in wanted]
        if not orphans:
            return []
        schedule.warm_up()

        def work(conn: sqlite3.Connection) -> list[str]:
            adopted = []
            for kata, at in orphans:
                key = KATA_CARD_PREFIX + kata
                card_json, due = schedule.review(None, key, "good", at, kata=True)
                inserted = conn.execute(
                    "INSERT INTO cards (question_id, due, card, reviews) VALUES (?, ?, ?, 1) ON CONFLICT(question_id) DO NOTHING",
                    (key, to_text(due), card_json),
                ).rowcount
                if inserted:  # another terminal may have made it meanwhile
                    conn.execute(
                        "INSERT INTO answers (question_id, answered_at, given, correct, rating, seconds, session_id)"
                        " VALUES (?, ?, '', 1, 'good', 0, NULL)",
                        (key, to_text(at)),
                    )
                    adopted.append(kata)
            return adopted

        return self._write(work)

    # ----------------------------------------------------------------------- mock interviews

    def begin_interview(self, at: datetime, minutes: float, kata: str | None) -> int:
        """Write an interview's row as it starts (verdict `unfinished`), so even a killed one is listed."""
        return int(
            self._write(
                lambda conn: conn.execute(
                    "INSERT INTO interviews (started_at, ended_at, minutes, kata, verdict) VALUES (?, ?, ?, ?, 'unfinished')",
                    (to_text(at), to_text(at), float(minutes), kata),
                ).lastrowid
            )
        )

    def save_interview(
        self, interview_id: int, at: datetime, kata_passed: bool, points: int, verdict: str, report: str
    ) -> None:
        """Update the interview's row (after each phase and at the end), committed at once."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE interviews SET ended_at = ?, kata_passed = ?, points = ?, verdict = ?, report = ?, session_id = ?"
                " WHERE id = ?",
                (to_text(at), int(kata_passed), int(points), verdict, report, self._session_id, interview_id),
            )

        self._write(work)

    def interviews(self, limit: int = 5) -> list[InterviewRow]:
        """The most recent mock interviews, newest first."""
        rows = self._read(
            "SELECT id, started_at, ended_at, minutes, kata, kata_passed, points, verdict, report, session_id"
            " FROM interviews ORDER BY started_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [
            InterviewRow(i, from_text(s), from_text(e), m, k, bool(kp), p, v, r, sid) for i, s, e, m, k, kp, p, v, r, sid in rows
        ]

    # ----------------------------------------------------------------------- starting over

    def reset(self, at: datetime | None = None) -> Path:
        """Copy the database next to itself with a timestamp, then empty every table. Returns the copy's path."""
        stamp = (at or schedule.now()).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        backup = self.path.with_name(f"{self.path.name}.{stamp}.bak")
        n = 1
        while backup.exists():
            n += 1
            backup = self.path.with_name(f"{self.path.name}.{stamp}-{n}.bak")
        target = sqlite3.connect(backup)
        try:
            self._retry(lambda: self._conn.backup(target))
        finally:
            target.close()

        def wipe(conn: sqlite3.Connection) -> None:
            for table in ("answers", "cards", "sessions", "kata_attempts", "kata_state", "settings", "interviews"):
                conn.execute(f"DELETE FROM {table}")

        self._write(wipe)
        self._session_id = None
        return backup


def record_kata_attempt(
    kata: str,
    passed: bool,
    checks_passed: int,
    checks_total: int,
    seconds: float,
    at: datetime | None = None,
) -> None:
    """For `attnquiz grade`: open the store, write one attempt, close. Raises StoreError if unusable."""
    with Store.open() as store:
        store.record_kata_attempt(kata, passed, checks_passed, checks_total, seconds, at)


def _hints_seen(shown: int, listed: str | None) -> frozenset[int]:
    """The hints seen: the list kept since schema 4 while it agrees with the count, else (a
    database from before, or a count reset without the list) the first SHOWN, as counted then."""
    try:
        numbers = json.loads(listed) if listed else None
    except ValueError:
        numbers = None
    if isinstance(numbers, list) and all(type(n) is int and n > 0 for n in numbers) and len(set(numbers)) == shown:
        return frozenset(numbers)
    return frozenset(range(1, shown + 1))


def _check_header(path: Path) -> None:
    """A non-empty file that does not start like SQLite is not ours to open (SQLite would refuse it anyway)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the progress database ({exc.strerror}); check its permissions") from None
    if head and head != SQLITE_MAGIC:
        raise _damaged(path, "not an SQLite database")


def _failure(path: Path, exc: sqlite3.DatabaseError, doing: str) -> StoreError:
    """Damage is the file's fault (leave it, say so); anything else (permissions, disk full) is the system's."""
    text = str(exc).lower()
    if type(exc) is sqlite3.DatabaseError or any(word in text for word in ("malformed", "not a database", "corrupt")):
        return _damaged(path, exc)
    return StoreError(f"{path}: cannot {doing} the progress database ({exc}); check the folder's permissions and free space")


def _damaged(path: Path, reason: object) -> StoreError:
    return StoreError(
        f"{path} is damaged or not an attnquiz progress database ({' '.join(str(reason).split())[:120]}). It was left untouched: "
        "move it aside (or restore a .bak copy next to it) and run attnquiz again to start a new one."
    )
