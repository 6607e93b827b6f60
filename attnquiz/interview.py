"""A mock interview: what each phase asks, how the time is split, the score and the verdict.

Plain core (no typer, no rich, no torch). `attnquiz interview` (cli_interview.py) reads the
learner's lines, renders, grades the kata on save and saves every answer; this module decides what
is asked, when each phase ends and what the result means. The rubric lives here and only here
(the README states it in words; a test keeps the two in step).

The four phases, in order:
1. concepts: rapid auto-graded questions of mixed types, no explanation until the end;
2. explain: one free-recall question, answered in your own words and self-rated against its key points;
3. kata: one coding kata in a fresh workspace, graded on every save until it passes or time runs out;
4. followup: questions on the kata's topics ("what changes with a KV cache?").
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from attnquiz.bank import Bank, Question
from attnquiz.errors import UsageError
from attnquiz.katas import Kata
from attnquiz.quiz import Verdict, presented, select

PHASES = ("concepts", "explain", "kata", "followup")
# Share of the interview's time each phase may use. Deadlines add up: time a phase leaves unused
# goes to the next one, and the last phase ends when the interview's time is up.
SHARES = {"concepts": 0.25, "explain": 0.10, "kata": 0.50, "followup": 0.15}
# The rubric: points per phase (100 in all), what earns them, and the verdict's thresholds.
POINTS = {"concepts": 30, "explain": 15, "kata": 40, "followup": 15}
RATING_CREDIT = {"again": 0.0, "hard": 0.5, "good": 1.0, "easy": 1.0}
KATA_PARTIAL = 0.5  # a kata that does not pass earns at most half its points, by its best share of checks passed
READY, BORDERLINE = 75, 50
VERDICTS = ("ready", "borderline", "not_yet", "incomplete", "unfinished")

SECONDS_PER_CONCEPT = 75  # phase 1 asks one question per this much of its time...
MIN_CONCEPTS, MAX_CONCEPTS = 3, 12  # ...within these bounds, unless --questions says otherwise
FOLLOWUPS = 3
MIN_MINUTES, MAX_MINUTES = 0.1, 600.0
SHAKY_FAILURES = 3  # a kata passed only after this many failed gradings is still weak
JSON_VERSION = 1


# --------------------------------------------------------------------------- the kata


class KataChoice(NamedTuple):
    """The kata of phase 3 and why it was chosen (a key: named, struggled, next, shaky, oldest)."""

    kata: Kata
    reason: str


def choose_kata(
    ladder: Sequence[Kata],
    attempts: Iterable[Any],
    gave_up: Mapping[str, datetime | None],
    topics: Sequence[str] = (),
    named: Kata | None = None,
) -> KataChoice:
    """The learner's weakest kata, as an interviewer would pick it.

    First the katas tried and never passed (struggled), then the untried ones in ladder order
    (next), then those passed shakily: after SHAKY_FAILURES failed gradings or after reading the
    reference (shaky), and last the one passed longest ago (oldest). Within each group the ladder
    order decides; with TOPICS, katas exercising one of them come first. `attempts` are store
    KataAttempt rows (kata, attempted_at, passed), oldest first.
    """
    if named is not None:
        return KataChoice(named, "named")
    if not ladder:
        raise UsageError("no kata is bundled with this attnquiz; reinstall it")
    by_kata: dict[str, list[Any]] = {}
    for attempt in attempts:
        by_kata.setdefault(attempt.kata, []).append(attempt)

    def group(kata: Kata) -> tuple[int, str, float]:
        tries = by_kata.get(kata.name, [])
        first_pass = next((i for i, a in enumerate(tries) if a.passed), None)
        if first_pass is None:
            return (0, "struggled", 0.0) if tries or gave_up.get(kata.name) else (1, "next", 0.0)
        passed_at = tries[first_pass].attempted_at
        peeked = gave_up.get(kata.name) is not None and gave_up[kata.name] <= passed_at  # type: ignore[operator]
        if first_pass >= SHAKY_FAILURES or peeked:
            return 2, "shaky", 0.0
        return 3, "oldest", max(a.attempted_at for a in tries if a.passed).timestamp()

    candidates = list(ladder)
    if topics:
        on_topic = [k for k in candidates if set(k.topics) & set(topics)]
        candidates = on_topic or candidates
    position = {k.name: i for i, k in enumerate(ladder)}
    best = min(candidates, key=lambda k: (group(k)[0], group(k)[2], position[k.name]))
    return KataChoice(best, group(best)[1])


# --------------------------------------------------------------------------- the questions


@dataclass(frozen=True)
class Plan:
    """What the interview will ask, decided before it starts (choices already shuffled)."""

    minutes: float
    concepts: tuple[Question, ...]
    explain: Question | None
    kata: KataChoice
    followups: tuple[Question, ...]

    @property
    def seconds(self) -> float:
        return self.minutes * 60.0

    def budget(self, phase: str) -> float:
        """Seconds planned for PHASE."""
        return SHARES[phase] * self.seconds

    def ends_after(self, phase: str) -> float:
        """Seconds from the start at which PHASE must end (the shares so far, added up)."""
        upto = PHASES.index(phase) + 1
        return self.seconds if upto == len(PHASES) else sum(SHARES[p] for p in PHASES[:upto]) * self.seconds

    def planned(self, phase: str) -> int:
        """How many things PHASE asks (the kata counts one)."""
        return {"concepts": len(self.concepts), "explain": int(self.explain is not None), "kata": 1, "followup": len(self.followups)}[phase]


def concept_count(minutes: float) -> int:
    """How many rapid questions fit phase 1's share of the time."""
    return max(MIN_CONCEPTS, min(MAX_CONCEPTS, int(minutes * 60 * SHARES["concepts"] // SECONDS_PER_CONCEPT)))


def check_minutes(minutes: float) -> float:
    """--minutes must be a finite length an interview can have."""
    if not (MIN_MINUTES <= minutes <= MAX_MINUTES):  # also false for nan
        raise UsageError(f"--minutes {minutes:g}: give a length from {MIN_MINUTES:g} to {MAX_MINUTES:g} minutes")
    return minutes


def plan(
    bank: Bank,
    kata: KataChoice,
    due_by_id: Mapping[str, datetime],
    at: datetime,
    *,
    minutes: float,
    topics: Sequence[str] = (),
    seed: int | None = None,
    count: int | None = None,
) -> Plan:
    """Choose every question of the interview: due reviews first, then new ones, then the rest.

    Follow-ups come from the kata's topics and are set aside first, so phase 1 never asks them;
    phase 1 mixes question types and keeps to TOPICS when given; the free-recall question too,
    unless no recall question is on those topics. The same seed and progress give the same plan.
    """
    check_minutes(minutes)
    if count is not None and not 1 <= count <= 50:
        raise UsageError(f"--questions {count}: ask from 1 to 50")
    ordered = _priority(select(bank, topics=topics, seed=seed), due_by_id, at)
    everything = _priority(select(bank, seed=seed), due_by_id, at)
    quick = [q for q in everything if q.type != "recall"]
    followups = _mixed([q for q in quick if q.topic in kata.kata.topics], FOLLOWUPS)
    reserved = {q.id for q in followups}
    concepts = _mixed([q for q in ordered if q.type != "recall" and q.id not in reserved], count or concept_count(minutes))
    recall = [q for q in ordered if q.type == "recall"] or [q for q in everything if q.type == "recall"]
    shown = presented([*concepts, *followups], seed)
    return Plan(minutes, tuple(shown[: len(concepts)]), recall[0] if recall else None, kata, tuple(shown[len(concepts) :]))


def _priority(pool: Sequence[Question], due_by_id: Mapping[str, datetime], at: datetime) -> list[Question]:
    """Due reviews (most overdue first), then new questions (in the pool's seeded order), then the rest (soonest due first)."""
    due = sorted((q for q in pool if q.id in due_by_id and due_by_id[q.id] <= at), key=lambda q: due_by_id[q.id])
    new = [q for q in pool if q.id not in due_by_id]
    later = sorted((q for q in pool if q.id in due_by_id and due_by_id[q.id] > at), key=lambda q: due_by_id[q.id])
    return due + new + later


def _mixed(questions: Sequence[Question], n: int) -> list[Question]:
    """Up to N questions in priority order, each time of the type asked least so far: a mix of types."""
    chosen: list[Question] = []
    used: Counter[str] = Counter()
    remaining = list(questions)
    while remaining and len(chosen) < n:
        pick = min(remaining, key=lambda q: used[q.type])
        remaining.remove(pick)
        chosen.append(pick)
        used[pick.type] += 1
    return chosen


# --------------------------------------------------------------------------- the clock


class Clock:
    """Monotonic time since the interview started, and each phase's deadline."""

    def __init__(self, the_plan: Plan, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = the_plan
        self._clock = clock
        self.start = clock()

    def now(self) -> float:
        return self._clock()

    def deadline(self, phase: str) -> float:
        """The monotonic time at which PHASE ends."""
        return self.start + self.plan.ends_after(phase)

    def left(self, phase: str | None = None) -> float:
        """Seconds left in the interview, or in PHASE (never below 0)."""
        end = self.start + self.plan.seconds if phase is None else self.deadline(phase)
        return max(0.0, end - self._clock())


# --------------------------------------------------------------------------- what happened


@dataclass(frozen=True)
class Answered:
    """One answer as the interview keeps it (the store has it too)."""

    question: Question
    given: str
    correct: bool
    rating: str
    seconds: float
    verdict: Verdict | None = None  # auto-graded questions: what check() said
    mentioned: tuple[bool, ...] = ()  # the recall question: the key points the answer named


@dataclass(frozen=True)
class KataTry:
    """One grading of the kata during the interview."""

    passed: bool
    checks_passed: int
    checks_total: int
    seconds: float


ENDINGS = ("not_reached", "done", "time", "skipped", "stopped")


@dataclass
class PhaseLog:
    """How one phase went; `ended` is one of ENDINGS."""

    name: str
    planned: int
    answers: list[Answered] = field(default_factory=list)
    tries: list[KataTry] = field(default_factory=list)
    seconds: float = 0.0  # time used
    allowed: float = 0.0  # time it had when it began (its share, and what earlier phases left unused)
    ended: str = "not_reached"

    @property
    def right(self) -> int:
        return sum(a.correct for a in self.answers)


def fallback_rating(mentioned: Sequence[bool]) -> str:
    """The rating of a recall answer that was given but never self-rated (time ran out, Ctrl-C):
    Good with every key point named, Hard with half of them, else Again."""
    if mentioned and all(mentioned):
        return "good"
    return "hard" if mentioned and 2 * sum(mentioned) >= len(mentioned) else "again"


@dataclass
class Interview:
    """The plan, what happened in each phase, and the rubric applied to it."""

    plan: Plan
    phases: dict[str, PhaseLog]
    stopped: bool = False  # the learner ended it (Ctrl-C, :q, end of input) before the last phase ended

    @classmethod
    def start(cls, the_plan: Plan) -> Interview:
        return cls(the_plan, {p: PhaseLog(p, the_plan.planned(p)) for p in PHASES})

    @property
    def kata_passed(self) -> bool:
        return any(t.passed for t in self.phases["kata"].tries)

    def credit(self, phase: str) -> float:
        """The share (0..1) of PHASE's points earned. Questions not answered in time count as wrong."""
        log = self.phases[phase]
        if phase == "kata":
            if self.kata_passed:
                return 1.0
            shares = [t.checks_passed / t.checks_total for t in log.tries if t.checks_total]
            return KATA_PARTIAL * max(shares, default=0.0)
        if phase == "explain":
            return RATING_CREDIT[log.answers[0].rating] if log.answers else 0.0
        return log.right / log.planned if log.planned else 0.0

    def points(self, phase: str) -> float:
        return POINTS[phase] * self.credit(phase)

    def available(self, phase: str) -> int:
        """The points PHASE can earn: none when it had nothing to ask (a bank without recall questions)."""
        return POINTS[phase] if self.phases[phase].planned else 0

    def total(self) -> int:
        """Points out of 100 (scaled when a phase had nothing to ask)."""
        available = sum(self.available(p) for p in PHASES)
        earned = sum(self.points(p) for p in PHASES if self.available(p))
        return round(100 * earned / available) if available else 0

    def verdict(self) -> str:
        """ready: READY points or more and the kata passed; borderline: BORDERLINE or more; else not_yet.
        An interview the learner ended early is incomplete, whatever its points."""
        if self.stopped:
            return "incomplete"
        total = self.total()
        if total >= READY and self.kata_passed:
            return "ready"
        return "borderline" if total >= BORDERLINE else "not_yet"

    def mistakes(self) -> list[Answered]:
        """Wrong answers in the order given (a recall rated Again included)."""
        return [a for p in PHASES for a in self.phases[p].answers if not a.correct]

    def not_answered(self, phase: str) -> list[Question]:
        """PHASE's questions left without an answer (time ran out, or the learner stopped)."""
        asked = {a.question.id for a in self.phases[phase].answers}
        questions = {"concepts": self.plan.concepts, "followup": self.plan.followups}.get(phase)
        if questions is None:
            questions = (self.plan.explain,) if phase == "explain" and self.plan.explain else ()
        return [q for q in questions if q.id not in asked]

    def to_json(self) -> dict[str, Any]:
        """The report as stored with the interview and shown by `attnquiz stats --json` (stable keys)."""
        phases = []
        for name in PHASES:
            log = self.phases[name]
            row: dict[str, Any] = {
                "phase": name,
                "planned": log.planned,
                "points": round(self.points(name), 1),
                "max_points": self.available(name),
                "seconds": round(log.seconds, 1),
                "allowed_seconds": round(log.allowed, 1),
                "budget_seconds": round(self.plan.budget(name), 1),
                "ended": log.ended,
            }
            if name == "kata":
                best = max(log.tries, key=lambda t: (t.passed, t.checks_passed), default=None)
                row.update(
                    kata=self.plan.kata.kata.name,
                    chosen=self.plan.kata.reason,
                    passed=self.kata_passed,
                    gradings=len(log.tries),
                    best_checks_passed=best.checks_passed if best else None,
                    checks_total=best.checks_total if best else None,
                )
            else:
                row.update(
                    answered=len(log.answers),
                    right=log.right,
                    questions=[{"id": a.question.id, "correct": a.correct, "rating": a.rating} for a in log.answers],
                )
                if name == "explain" and log.answers:
                    mentioned = log.answers[0].mentioned
                    row.update(key_points=sum(mentioned), key_points_total=len(mentioned))
            phases.append(row)
        return {
            "version": JSON_VERSION,
            "minutes": self.plan.minutes,
            "kata": self.plan.kata.kata.name,
            "points": self.total(),
            "verdict": self.verdict(),
            "phases": phases,
        }
