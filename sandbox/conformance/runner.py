"""Run the applicable items against one target, each within its time budget and the
whole run within an overall bound.

A check runs in a worker thread; one that has no verdict when its budget ends is
reported as an ``error`` line ("no verdict within N s") and the run moves on, so a
slow target can never hold the run past its bound. Any exception a check raises is a
report line with its type and message, never a traceback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sandbox.conformance.model import Item, Outcome, Result, Status, Verdict
from sandbox.conformance.session import Session

Progress = Callable[[Outcome, int, int], None]


@dataclass(slots=True)
class _Box:
    result: Result | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def run_item(item: Item, session: Session, budget: float) -> Outcome:
    box = _Box()

    def work() -> None:
        try:
            box.result = item.check(session)
        except BaseException as exc:
            box.error = exc
        finally:
            box.done.set()

    started = time.monotonic()
    threading.Thread(target=work, daemon=True, name=f"check-{item.id}").start()
    finished = box.done.wait(budget)
    seconds = time.monotonic() - started
    if not finished:
        return Outcome(item, Status.ERROR, f"no verdict within {budget:.0f} s (the target is "
                       "slow or silent)", seconds)  # fmt: skip
    if box.result is not None:
        return Outcome(item, box.result.status, box.result.detail, seconds, box.result.evidence)
    error = box.error
    if isinstance(error, Verdict):
        return Outcome(item, error.status, error.detail, seconds, error.evidence)
    return Outcome(item, Status.ERROR, f"{type(error).__name__}: {error}"[:500], seconds)


def run_items(items: Sequence[Item], session: Session, *, overall_seconds: float,
              progress: Progress | None = None) -> list[Outcome]:  # fmt: skip
    deadline = time.monotonic() + overall_seconds
    outcomes: list[Outcome] = []
    for index, item in enumerate(items):
        left = deadline - time.monotonic()
        if left <= 0:
            outcome = Outcome(
                item,
                Status.ERROR,
                f"not run: the run's bound of {overall_seconds:.0f} s was reached",
                0,
            )
        else:
            outcome = run_item(item, session, min(item.budget_seconds, left))
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome, index + 1, len(items))
    return outcomes


def unreachable(items: Sequence[Item], reason: str) -> list[Outcome]:
    """Every item, reported once the target is known to be down: one clear cause."""
    return [Outcome(item, Status.ERROR, f"not judged: {reason}", 0) for item in items]
