"""The consent lifecycle as a pure state machine (sans-I/O, like h11's connection states).

PENDING -> ACTIVE | REJECTED; ACTIVE <-> PAUSED; ACTIVE | PAUSED -> REVOKED | EXPIRED;
a PENDING request that nobody answers also EXPIRES. REJECTED, REVOKED and EXPIRED are
final: DPDP Act 2023 s.6(4)-(6) makes withdrawal as easy as giving consent and stops
processing on withdrawal; nothing may bring a withdrawn consent back.
"""

from __future__ import annotations

from enum import StrEnum

from consent.models import Status


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    PAUSE = "pause"
    RESUME = "resume"
    REVOKE = "revoke"
    EXPIRE = "expire"


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.PENDING, Action.APPROVE): Status.ACTIVE,
    (Status.PENDING, Action.REJECT): Status.REJECTED,
    (Status.PENDING, Action.EXPIRE): Status.EXPIRED,
    (Status.ACTIVE, Action.PAUSE): Status.PAUSED,
    (Status.ACTIVE, Action.REVOKE): Status.REVOKED,
    (Status.ACTIVE, Action.EXPIRE): Status.EXPIRED,
    (Status.PAUSED, Action.RESUME): Status.ACTIVE,
    (Status.PAUSED, Action.REVOKE): Status.REVOKED,
    (Status.PAUSED, Action.EXPIRE): Status.EXPIRED,
}

FINAL = frozenset({Status.REJECTED, Status.REVOKED, Status.EXPIRED})

# Only these actions are the consumer's; EXPIRE is the clock's.
CONSUMER_ACTIONS = frozenset(Action) - {Action.EXPIRE}


class IllegalTransition(ValueError):
    def __init__(self, status: Status, action: Action) -> None:
        super().__init__(f"a {status.value} consent cannot be {action.value}d")
        self.status = status
        self.action = action


def transition(status: Status, action: Action) -> Status:
    """The status after ``action``, or :class:`IllegalTransition`."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


def allowed_actions(status: Status) -> list[Action]:
    return [action for (state, action) in TRANSITIONS if state is status]


def data_may_flow(status: Status) -> bool:
    """Only an ACTIVE consent lets data out."""
    return status is Status.ACTIVE
