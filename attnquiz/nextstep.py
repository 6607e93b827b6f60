"""`attnquiz next`: the single best next step, as plain data that the CLI words in either language.

In order: question reviews due now; a kata review that is due (or opened with --fresh and not
graded yet); the next kata on the ladder that has not passed; the weakest topic. Each source is
read only when the ones before it came up empty, so the usual answer costs the bank and one
database read: no kata manifests, no fsrs, never torch.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

KINDS = ("reviews", "kata_review", "kata", "weakest", "quiz")


@dataclass(frozen=True)
class Step:
    """What to do next and the command that does it; the other fields say why (which kata, how many...)."""

    kind: str  # one of KINDS; quiz: nothing due, every kata passed, no answer yet to find a weak topic
    command: str
    count: int = 0  # reviews: question reviews due now
    kata: Optional[str] = None  # kata_review, kata
    due: Optional[datetime] = None  # kata_review: when it fell due
    opened: bool = False  # kata_review: opened with --fresh, waiting for its grading
    file: Optional[Path] = None  # kata: the learner's file, when the kata was started
    topic: Optional[str] = None  # weakest


def _ask(*args: str, bank_paths: Sequence[Path] = ()) -> str:
    extra = [arg for path in bank_paths for arg in ("--bank", str(path))]
    return shlex.join(["attnquiz", "ask", *args, *extra])


def next_step(at: datetime, bank_paths: Sequence[Path] = ()) -> Step:
    """The best next step at AT for the built-in bank plus BANK_PATHS (as `attnquiz ask --bank`)."""
    from attnquiz import katas
    from attnquiz.bank import load_bank
    from attnquiz.store import Store

    bank = load_bank(bank_paths)
    with Store.open() as store:
        dues = store.due_dates()
    due_now = sum(1 for qid, due in dues.items() if qid in bank.by_id and due <= at)
    if due_now:
        return Step("reviews", _ask("--due", bank_paths=bank_paths), count=due_now)

    due_katas = katas.due_reviews(at)
    if due_katas:
        first = next((r for r in due_katas if r.fresh_since is not None), due_katas[0])  # finish an open one first
        opened = first.fresh_since is not None
        command = f"attnquiz grade {first.kata}" if opened else f"attnquiz kata {first.kata} --fresh"
        return Step("kata_review", command, kata=first.kata, due=first.due, opened=opened)

    ladder = katas.next_on_ladder()
    if ladder is not None:
        kata, file = ladder
        command = f"attnquiz grade {kata.name}" if file is not None else f"attnquiz kata {kata.name}"
        return Step("kata", command, kata=kata.name, file=file)

    from attnquiz import schedule

    with Store.open() as store:
        cards = {qid: card.card for qid, card in store.cards().items()}
        counts = store.answer_counts()
    weakest = schedule.weakest(bank.questions, cards, counts, at, count=1)
    if weakest:
        topic = weakest[0].topic
        return Step("weakest", _ask("--weak", "--topic", topic, bank_paths=bank_paths), topic=topic)
    return Step("quiz", _ask(bank_paths=bank_paths))
