"""Use cases of the regulator's filings inbox: receive a signed filing, decide it with
the state's pack, let the commission send an acknowledged filing back for correction,
and read filings and their history back.

``receive`` is one unit of work: nothing is stored unless the body is a valid
submission from a licensee of this commission, the pack decided, and (for a
correction) the version it supersedes was still the newest. The sender is whoever the
transport authenticated (``api`` verifies the signature against the directory before
calling it), never a name inside the body.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import ValidationError
from sqlmodel import Session

from kernel.database import from_db
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.problems import InvalidCursor
from protocol.filings import store
from protocol.filings.errors import (
    CorrectionNotAllowed,
    CorrectionRequestNotAllowed,
    FilingInvalid,
    FilingNotFound,
    FilingRefReused,
    NotALicensee,
    NotTheCommission,
)
from protocol.filings.losses import LossInputInvalid
from protocol.filings.models import (
    CorrectionAsk,
    CorrectionRequest,
    Event,
    FeederFigures,
    FilingUnreadable,
    FilingView,
    NotAllowed,
    PackDecision,
    Status,
    Submission,
    advance,
    discom_atc_loss_pct,
    feeder_figures,
    pack_input,
)
from protocol.signing import canonical_json


class FilingPolicy(Protocol):
    """The state's policy pack, as the inbox asks it (the ``filing`` domain).

    It is handed the inbox's session: a host that logs decisions in the same database
    (the regulator) writes the decision in the filing's unit of work, so a filing and
    its decision are stored together or not at all (and SQLite's single writer is not
    asked for a second write lock while the inbox holds the first)."""

    def decide(
        self,
        session: Session,
        jurisdiction: str,
        document: Mapping[str, Any],
        as_of: date,
        reference: str,
    ) -> PackDecision: ...


@dataclass(frozen=True, slots=True)
class Received:
    filing: FilingView
    created: bool  # False: the same filing was sent again (idempotent)


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"location": "/".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]


def read_submission(body: bytes) -> Submission:
    """The submission in ``body``, its ArrFiling checked too, or :class:`FilingInvalid`."""
    try:
        submission = Submission.model_validate_json(body)
        filing = submission.filing()
    except ValidationError as exc:
        raise FilingInvalid("the body is not a filing submission", errors=_errors(exc)) from None
    if not filing.id:
        raise FilingInvalid(
            "the ArrFiling has no id: the inbox needs the licensee's own id of the filing",
            errors=[{"location": "arrFiling/id", "message": "required", "type": "missing"}],
        )
    return submission


def view(row: store.FilingRow) -> FilingView:
    return FilingView(
        id=row.id,
        docket=row.docket,
        version=row.version,
        licensee=row.licensee,
        jurisdiction=row.jurisdiction,
        filing_ref=row.filing_ref,
        filing_id=row.filing_id,
        financial_year=row.financial_year,
        status=Status(row.status),
        supersedes=row.supersedes,
        superseded_by=row.superseded_by,
        received_at=from_db(row.received_at).isoformat(),
        submission_digest=row.submission_digest,
        atc_loss_pct=row.atc_loss_pct,
        feeders=[FeederFigures.model_validate(f) for f in row.feeders],
        decision=PackDecision.model_validate(row.decision),
        correction_request=(
            CorrectionRequest.model_validate(row.correction_request)
            if row.correction_request is not None
            else None
        ),
    )


def receive(
    session: Session,
    *,
    body: bytes,
    sender: str,
    signature: str,
    licensees: Mapping[str, str],
    policy: FilingPolicy,
    now: datetime,
) -> Received:
    """File ``body`` for ``sender``: decided, stored, and its predecessor superseded."""
    jurisdiction = licensees.get(sender)
    if jurisdiction is None:
        raise NotALicensee(f"{sender} is not a licensee of this commission")
    submission = read_submission(body)
    filing = submission.filing()
    assert filing.id is not None
    digest = (
        "sha256:" + hashlib.sha256(canonical_json(submission.model_dump(mode="json"))).hexdigest()
    )
    earlier = store.by_ref(session, sender, filing.id)
    if earlier is not None:
        if earlier.submission_digest == digest:
            return Received(view(earlier), created=False)
        raise FilingRefReused(f"{sender} already filed {filing.id!r} with other content")
    docket, version, prior = None, 1, None
    if submission.supersedes is not None:
        prior = store.get(session, submission.supersedes)
        if prior is None or prior.licensee != sender:
            raise CorrectionNotAllowed(f"{sender} has no filing {submission.supersedes}")
        if prior.status == Status.SUPERSEDED:
            raise CorrectionNotAllowed(
                f"{prior.id} was already superseded by {prior.superseded_by}: correct the newest"
            )
        docket, version = prior.docket, prior.version + 1
    try:
        document = pack_input(submission, now.date())
        figures = feeder_figures(submission.energy_account)
        atc = discom_atc_loss_pct(submission.energy_account)
    except (FilingUnreadable, LossInputInvalid) as exc:
        raise FilingInvalid(str(exc)) from None
    filing_key = uuid.uuid4().hex
    decision = policy.decide(session, jurisdiction, document, now.date(), filing_key)
    status = advance(None, Event.ALLOWED if decision.allow else Event.DENIED)
    row = store.add(
        session,
        store.FilingRow(
            id=filing_key,
            docket=docket or filing_key,
            version=version,
            licensee=sender,
            jurisdiction=jurisdiction,
            filing_ref=filing.id,
            filing_id=filing.filing_id,
            financial_year=document["financial_year"],
            status=status.value,
            supersedes=prior.id if prior else None,
            received_at=now,
            submission_digest=digest,
            atc_loss_pct=atc,
            feeders=[f.model_dump() for f in figures],
            decision=decision.model_dump(),
            submission=submission.model_dump(mode="json", by_alias=True, exclude_none=True),
            signature=signature,
        ),
    )
    if prior is not None:
        advance(Status(prior.status), Event.SUPERSEDED)  # the machine's word on it
        if not store.mark_superseded(session, prior.id, row.id, prior.status):
            raise CorrectionNotAllowed(f"{prior.id} was superseded meanwhile: correct the newest")
    return Received(view(row), created=True)


def read_correction(body: bytes) -> CorrectionAsk:
    try:
        return CorrectionAsk.model_validate_json(body)
    except ValidationError as exc:
        raise FilingInvalid(
            "the body is not a correction request (reasons: at least one code and message; "
            "operator: the staff member who asks)",
            errors=_errors(exc),
        ) from None


def request_correction(
    session: Session,
    filing_id: str,
    *,
    body: bytes,
    sender: str,
    commission: str,
    now: datetime,
) -> Received:
    """Send ``filing_id`` back to its licensee with the commission's reasons.

    ``sender`` is whoever the transport authenticated; only ``commission`` (the
    inbox's own subscriber id, whose key signs its receipts) may ask. The same body
    sent again answers the stored filing unchanged (``created`` False); any other ask
    of a filing that is not ACKNOWLEDGED, or no longer the newest version, is refused
    and changes nothing."""
    if sender != commission:
        raise NotTheCommission(f"{sender} is not the commission ({commission})")
    ask = read_correction(body)
    row = store.get(session, filing_id)
    if row is None:
        raise FilingNotFound(f"no filing {filing_id}")
    digest = "sha256:" + hashlib.sha256(canonical_json(ask.model_dump(mode="json"))).hexdigest()
    kept = row.correction_request
    if kept is not None and kept.get("request_digest") == digest:
        return Received(view(row), created=False)
    status = Status(row.status)
    try:
        advance(status, Event.REQUESTED)
    except NotAllowed:
        why = (
            f"it was superseded by {row.superseded_by}: ask about the newest"
            if status is Status.SUPERSEDED
            else "it is already sent back for correction"
        )
        raise CorrectionRequestNotAllowed(f"{filing_id} is {status.value}: {why}") from None
    request = CorrectionRequest(
        reasons=ask.reasons,
        requested_at=now.isoformat(),
        requested_by=sender,
        request_digest=digest,
        operator=ask.operator,
    )
    if not store.mark_corrections_requested(
        session, filing_id, request.model_dump(mode="json"), status.value
    ):
        raise CorrectionRequestNotAllowed(f"{filing_id} moved on meanwhile: read it again")
    session.expire(row)
    fresh = store.get(session, filing_id)
    assert fresh is not None
    return Received(view(fresh), created=True)


def one(session: Session, filing_id: str) -> FilingView:
    row = store.get(session, filing_id)
    if row is None:
        raise FilingNotFound(f"no filing {filing_id}")
    return view(row)


def history(session: Session, filing_id: str) -> list[FilingView]:
    """Every version of the filing's docket, first to newest."""
    row = store.get(session, filing_id)
    if row is None:
        raise FilingNotFound(f"no filing {filing_id}")
    return [view(r) for r in store.versions(session, row.docket)]


def inbox(
    session: Session, *, filters: dict[str, Any], cursor: str | None, limit: int
) -> Page[FilingView]:
    """The filings received, oldest first, one page at a time."""
    after = None
    if cursor is not None:
        position = decode_cursor(cursor, filters)
        after = position[0] if len(position) == 1 else None
        if not isinstance(after, int) or isinstance(after, bool):
            raise InvalidCursor("the cursor does not name a position")
    rows = store.listing(session, filters=filters, after_seq=after, limit=limit + 1)
    items = [view(r) for r in rows[:limit]]
    more = len(rows) > limit
    next_cursor = encode_cursor([rows[limit - 1].seq], filters) if more else None
    return Page[FilingView](items=items, next_cursor=next_cursor)
