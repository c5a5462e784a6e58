"""What can go wrong between a feeder's telemetry and an outage notice.

Every refusal names the point or event it refused (``ref``) so an operator can find
it in the RTU's point list or the ingest log; none of them stops the stream.
"""

from __future__ import annotations

from typing import Any

from kernel.problems import Problem


class OutageProblem(Problem):
    """Root of the outage flow's errors."""

    def __init__(self, detail: str, *, ref: str = "", **extensions: Any) -> None:
        if ref:
            extensions["ref"] = ref
        super().__init__(detail, **extensions)
        self.ref = ref


class BadQuality(OutageProblem):
    slug = "telemetry-bad-quality"
    title = "A telemetry value carries quality bits that forbid using it"
    status = 422
    beckn_code = "40000"
    description = (
        "IEC 60870-5-101 §7.2.6.3: IV (invalid), NT (not topical), BL (blocked) and, for "
        "measured values, OV (overflow) mean the value does not describe the plant now."
    )


class IndeterminatePosition(OutageProblem):
    slug = "breaker-position-indeterminate"
    title = "A double-point breaker status is intermediate or indeterminate"
    status = 422
    beckn_code = "40000"
    description = "DPI 00 or 11 (IEC 60870-5-101 §7.2.6.2): the breaker is neither open nor closed."


class UnknownPoint(OutageProblem):
    slug = "telemetry-unknown-point"
    title = "A telemetry value came from a point that is not configured"
    status = 422
    beckn_code = "40000"
    description = "The information object address (IOA) or feeder code is not in the point map."


class EventOutOfOrder(OutageProblem):
    slug = "telemetry-out-of-order"
    title = "An event is older than one already applied for the same point"
    status = 409
    beckn_code = "40900"
    description = "Applying it would rewind the feeder's state; it is recorded and not applied."


class ClockJump(OutageProblem):
    slug = "telemetry-clock-jump"
    title = "A time tag lies ahead of the receiver's clock"
    status = 422
    beckn_code = "40000"
    description = "The RTU's clock jumped or was never synchronised; the value is not applied."


class LinkLost(OutageProblem):
    slug = "telemetry-link-lost"
    title = "The connection to an RTU dropped"
    status = 503
    beckn_code = "50300"
    description = "The client reconnects by itself and asks for a general interrogation."


class UnknownFeeder(OutageProblem):
    slug = "outage-unknown-feeder"
    title = "The feeder is not known to the registry"
    status = 422
    beckn_code = "40000"
    description = "The feeder code resolves to no feeder identity."


class OutageNotFound(OutageProblem):
    slug = "outage-not-found"
    title = "No such outage notice"
    status = 404
    beckn_code = "40400"
    description = "No outage notice has this id."


class ScheduleInvalid(OutageProblem):
    slug = "outage-schedule-invalid"
    title = "A planned outage schedule row is not valid"
    status = 422
    beckn_code = "40000"
    description = "A row of the discom's schedule cannot be read; `line` says which."


class RegisterReset(OutageProblem):
    slug = "energy-register-reset"
    title = "An energy register went backwards by more than a roll-over explains"
    status = 422
    beckn_code = "40000"
    description = "The interval is estimated instead of trusting the counter difference."


class TopologyUnavailable(OutageProblem):
    slug = "outage-topology-unavailable"
    title = "The registry could not say what is downstream of a feeder"
    status = 503
    beckn_code = "50300"
    description = "The registry did not answer; the outage is kept and resolved again later."


class FeederEnergyNotFound(OutageProblem):
    slug = "feeder-energy-not-found"
    title = "No integrated totals for this feeder on this day"
    status = 404
    beckn_code = "40400"
    description = "The RTUs reported no energy register reading for the feeder in the period."
