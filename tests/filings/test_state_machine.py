"""The filing's life as a state machine: the pure transition function, and the inbox
driven through its service by hypothesis (new filings, corrections of the newest and
of stale versions, the regulator's own requests for a correction, resends, reused ids)
on a real database, with its history checked after every step."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine
from sqlmodel import Session

from kernel.database import create_db_engine
from kernel.problems import Problem
from protocol.filings import service
from protocol.filings.errors import (
    CorrectionNotAllowed,
    CorrectionRequestNotAllowed,
    FilingRefReused,
    NotTheCommission,
)
from protocol.filings.models import Event, NotAllowed, Status, advance
from tests.filings.conftest import COMMISSION, LICENSEES, MH, shipped_packs, submission

SLIP = [
    {"feeder": "F1", "inputKwh": 1000.0, "billedKwh": 900.0, "billedInr": 7000.0,
     "collectedInr": 6650.0},
    {"feeder": "F2", "inputKwh": 800.0, "billedKwh": 680000.0, "billedInr": 5000.0,
     "collectedInr": 4500.0},
]  # fmt: skip


@pytest.mark.parametrize("status", [None, *Status])
@pytest.mark.parametrize("event", list(Event))
def test_the_transition_function_is_the_documented_one(status, event):
    allowed = {
        (None, Event.ALLOWED): Status.ACKNOWLEDGED,
        (None, Event.DENIED): Status.CORRECTIONS_REQUESTED,
        (Status.ACKNOWLEDGED, Event.SUPERSEDED): Status.SUPERSEDED,
        (Status.ACKNOWLEDGED, Event.REQUESTED): Status.CORRECTIONS_REQUESTED,
        (Status.CORRECTIONS_REQUESTED, Event.SUPERSEDED): Status.SUPERSEDED,
    }
    if (status, event) in allowed:
        assert advance(status, event) is allowed[(status, event)]
    else:
        with pytest.raises(NotAllowed):
            advance(status, event)


class Inbox(RuleBasedStateMachine):
    engine: Engine

    def __init__(self) -> None:
        super().__init__()
        self.run = uuid.uuid4().hex[:8]
        self.dockets: list[list[dict]] = []  # the model: each docket's versions in order
        self.bodies: dict[str, bytes] = {}  # filing id -> the body that filed it
        self.n = 0

    def _receive(self, body: bytes) -> service.Received:
        with Session(self.engine) as session:
            received = service.receive(
                session, body=body, sender=MH, signature="Signature (test)",
                licensees=LICENSEES, policy=shipped_packs(), now=datetime.now(UTC),
            )  # fmt: skip
            session.commit()
            return received

    def _body(self, balanced: bool, supersedes: str | None = None) -> bytes:
        self.n += 1
        feeders = None if balanced else SLIP
        document = submission(f"{self.run}-{self.n}", feeders=feeders, supersedes=supersedes)
        return json.dumps(document).encode()

    @rule(balanced=st.booleans())
    def file_new(self, balanced):
        body = self._body(balanced)
        received = self._receive(body)
        assert received.created
        filing = received.filing
        assert filing.status is (Status.ACKNOWLEDGED if balanced else Status.CORRECTIONS_REQUESTED)
        self.dockets.append([filing.model_dump()])
        self.bodies[filing.id] = body

    @precondition(lambda self: self.dockets)
    @rule(data=st.data(), balanced=st.booleans())
    def correct_the_newest(self, data, balanced):
        docket = data.draw(st.sampled_from(self.dockets))
        newest = docket[-1]
        body = self._body(balanced, supersedes=newest["id"])
        filing = self._receive(body).filing
        assert (filing.version, filing.supersedes, filing.docket) == (
            newest["version"] + 1, newest["id"], docket[0]["id"],
        )  # fmt: skip
        docket.append(filing.model_dump())
        self.bodies[filing.id] = body

    @precondition(lambda self: any(len(d) > 1 for d in self.dockets))
    @rule(data=st.data())
    def correcting_a_stale_version_is_refused(self, data):
        docket = data.draw(st.sampled_from([d for d in self.dockets if len(d) > 1]))
        stale = data.draw(st.sampled_from(docket[:-1]))
        with pytest.raises(CorrectionNotAllowed):
            self._receive(self._body(True, supersedes=stale["id"]))

    @precondition(lambda self: self.bodies)
    @rule(data=st.data())
    def resending_is_idempotent(self, data):
        filing_id = data.draw(st.sampled_from(sorted(self.bodies)))
        received = self._receive(self.bodies[filing_id])
        assert not received.created
        assert received.filing.id == filing_id

    @precondition(lambda self: self.bodies)
    @rule(data=st.data())
    def reusing_an_id_for_other_content_is_refused(self, data):
        filing_id = data.draw(st.sampled_from(sorted(self.bodies)))
        document = json.loads(self.bodies[filing_id])
        document["energyAccount"]["salesForecastMu"] += 1
        with pytest.raises(FilingRefReused):
            self._receive(json.dumps(document).encode())

    def _ask(self, filing_id: str, body: bytes, sender: str = COMMISSION) -> service.Received:
        with Session(self.engine) as session:
            done = service.request_correction(
                session, filing_id, body=body, sender=sender, commission=COMMISSION,
                now=datetime.now(UTC),
            )  # fmt: skip
            session.commit()
            return done

    @precondition(lambda self: self.dockets)
    @rule(data=st.data(), code=st.sampled_from(["FIL-002", "energyAccount/feeders", "x.y"]))
    def the_regulator_requests_a_correction(self, data, code):
        docket = data.draw(st.sampled_from(self.dockets))
        version = data.draw(st.sampled_from(docket))
        reasons = [{"code": code, "message": f"check {version['id']}"}]
        body = json.dumps({"reasons": reasons, "operator": "regulator"}).encode()
        kept = version.get("correction_request")
        if kept is not None and kept["reasons"] == reasons:
            assert not self._ask(version["id"], body).created  # the same ask: idempotent
        elif version is docket[-1] and version["status"] is Status.ACKNOWLEDGED:
            done = self._ask(version["id"], body)
            assert done.created
            assert done.filing.status is Status.CORRECTIONS_REQUESTED
            asked = done.filing.correction_request
            assert asked is not None
            assert [r.model_dump() for r in asked.reasons] == reasons
            version["status"] = Status.CORRECTIONS_REQUESTED
            version["correction_request"] = asked.model_dump()
        else:
            with pytest.raises(CorrectionRequestNotAllowed):
                self._ask(version["id"], body)
        with pytest.raises(NotTheCommission):  # a licensee may not send its own back
            self._ask(version["id"], body, sender=MH)

    @rule()
    def a_malformed_body_changes_nothing(self):
        with pytest.raises(Problem):
            self._receive(b'{"arrFiling": {"id": "x"}}')

    @invariant()
    def history_is_a_line_with_only_its_newest_standing(self):
        with Session(self.engine) as session:
            for docket in self.dockets:
                versions = service.history(session, docket[0]["id"])
                assert [v.id for v in versions] == [d["id"] for d in docket]
                assert [v.version for v in versions] == list(range(1, len(docket) + 1))
                for older, newer in itertools.pairwise(versions):
                    assert older.status is Status.SUPERSEDED
                    assert older.superseded_by == newer.id
                assert versions[-1].status is not Status.SUPERSEDED
                assert versions[-1].superseded_by is None
                # A version's decision never changes once made; the regulator's request
                # is kept on it, also once superseded.
                for version, kept in zip(versions, docket, strict=True):
                    assert version.decision.model_dump() == kept["decision"]
                    request = version.correction_request
                    assert (request.model_dump() if request else None) == kept.get(
                        "correction_request"
                    )
                assert versions[-1].status is docket[-1]["status"]


def test_the_inbox_machine(make_database):
    engine = create_db_engine(make_database("protocol.filings:migrations"))
    Inbox.engine = engine
    try:
        run_state_machine_as_test(
            Inbox,
            settings=settings(
                max_examples=15, stateful_step_count=12, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            ),
        )  # fmt: skip
    finally:
        engine.dispose()
