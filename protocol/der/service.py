"""The discom's DER onboarding desk: applications in over Beckn, verdicts out.

``confirm`` carrying a ``DERConnectionApplication`` is checked for shape and recorded
in the same transaction as the Beckn receipt (a malformed one is NACKed and nothing is
kept); the desk's worker then decides each received application in order, one at a
time (so two applications on one DT cannot both take its last kilowatts):

1. the presentation through the verifier (holder proof, the discom's challenge and
   domain, every credential's signature, trust registry, validity, status);
2. the credential rules (``protocol.der.rules``);
3. the registry's facts on the consumer's connection and its DT, every DER under it;
4. the state's policy pack, ``der_connection``;
5. on approval only: the DER and its bidirectional meter in the registry, then the
   DERCredential to the consumer;
6. the ``on_confirm`` answering the application's ``confirm``: contract ``ACTIVE``
   (approved), ``REJECTED`` or ``CHANGES_REQUESTED``, with the verdict explaining
   every rule.

A resubmission (``resubmissionOf``) is a new revision of the same application number:
the history of a refused application stays.
"""

from __future__ import annotations

import copy
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select

from kernel.database import from_db, session_scope, to_db
from policy_packs.decision import Decision, Engine, decide_with
from policy_packs.packs import Catalogue
from protocol.client import Outbox, new_context
from protocol.der.decision import DOMAIN, PackRule, decide, policy_input
from protocol.der.errors import ApplicationInvalid
from protocol.der.models import (
    APPLICATION_TYPE,
    DECISION_CONTEXT,
    DECISION_TYPE,
    Application,
    ConnectionFacts,
    Outcome,
    Registered,
    RuleOutcome,
    Verdict,
)
from protocol.der.ports import Grid, Issuer, Policy, PresentationCheck
from protocol.der.rules import METER, RESUBMISSION, check_credentials
from protocol.der.store import RECEIVED, ApplicationRow, DerStore, next_number, next_revision
from protocol.receiving import Inbound, Unit

log = logging.getLogger(__name__)
IST = timezone(timedelta(hours=5, minutes=30))  # commissioning dates are Indian dates
# Beckn v2 has no "rejected" contract: a refusal cancels it, a request for changes hands
# the draft back (contract status, commitment status); the verdict says which.
CONTRACT_STATUS = {
    Outcome.APPROVED: ("ACTIVE", "ACTIVE"),
    Outcome.REJECTED: ("CANCELLED", "CLOSED"),
    Outcome.CHANGES_REQUESTED: ("DRAFT", "DRAFT"),
}


def application_of(contract: dict[str, Any]) -> dict[str, Any] | None:
    """The DERConnectionApplication a contract's commitment carries, if any."""
    for commitment in contract.get("commitments") or []:
        attributes = commitment.get("commitmentAttributes")
        if isinstance(attributes, dict) and attributes.get("@type") == APPLICATION_TYPE:
            return attributes
    return None


class PackPolicy:
    """The ``Policy`` port over the signed packs (the pack in force on the day)."""

    def __init__(self, catalogue: Catalogue, engine: Engine) -> None:
        self.catalogue = catalogue
        self.engine = engine

    def decide(
        self, jurisdiction: str, document: dict[str, Any], as_of: date
    ) -> tuple[Decision, list[PackRule]]:
        pack = self.catalogue.select(jurisdiction, DOMAIN, as_of)
        decision = decide_with(pack, self.engine, "der_connection", document,
                               jurisdiction=jurisdiction, as_of=as_of)  # fmt: skip
        rules = [PackRule(r.code, r.intent, r.clause)
                 for r in pack.manifest.rules if r.domain == DOMAIN]  # fmt: skip
        return decision, rules


@dataclass
class DerDesk:
    """One discom's desk (its DID, state, BPP URI) over its ports and store."""

    discom_did: str
    discom_code: str
    state: str
    subscriber_id: str
    bpp_uri: str
    store: DerStore
    verify: PresentationCheck
    grid: Grid
    policy: Policy
    issuer: Issuer
    outbox: Outbox
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _wake: threading.Event = field(default_factory=threading.Event)
    _failed: dict[str, float] = field(default_factory=dict)  # id -> retry after (monotonic)

    # -------------------------------------------------------------- the Beckn side

    def take(self, message: Inbound, unit: Unit) -> bool:
        """Record a ``confirm`` that carries an application; False if it is not one."""
        if message.action != "confirm":
            return False
        contract = message.document["message"].get("contract") or {}
        raw = application_of(contract)
        if raw is None:
            return False
        try:
            Application.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:8]
            )
            raise ApplicationInvalid(problems) from None
        context = message.context
        unit.add(ApplicationRow(
            id=f"{time.time_ns():020d}{secrets.token_hex(4)}",
            requester=message.sender.subscriber_id,  # verified by the receiver
            requester_uri=context.bap_uri,
            message_id=context.message_id,
            transaction_id=context.transaction_id,
            network_id=context.network_id or "",
            request_digest=message.digest,
            request_signature=message.signature.signature,
            contract=copy.deepcopy(contract),
            state=RECEIVED,
            received_at=to_db(message.received_at),
        ))  # fmt: skip
        self._wake.set()
        return True

    # -------------------------------------------------------------- the worker

    def start(self, interval: float = 0.05) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True,
                                        name="der-desk")  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.decide_pending()
            except Exception:  # keep the desk alive; the row is retried
                log.exception("DER desk: deciding failed")
            self._wake.wait(interval)
            self._wake.clear()

    def decide_pending(self) -> int:
        """Decide every received application, oldest first; the number decided."""
        done = 0
        now = time.monotonic()
        for row in self.store.pending():
            if self._failed.get(row.id, 0.0) > now:
                continue
            try:
                self.decide_one(row)
                done += 1
                self._failed.pop(row.id, None)
            except Exception:
                log.exception("DER desk: application %s failed; retried in 2 s", row.id)
                self._failed[row.id] = now + 2.0
        return done

    # -------------------------------------------------------------- one decision

    def _number(self, row: ApplicationRow, application: Application) -> tuple[str, int, bool]:
        """The application number and revision, and False for a resubmission of an
        application this requester does not have open (refused under a number of its
        own). Kept on the row, so a retried decision keeps its number."""
        with session_scope(self.store.engine) as session:
            stored = session.get(ApplicationRow, row.id)
            assert stored is not None
            wanted = application.resubmission_of
            if stored.number is not None and stored.revision is not None:
                return stored.number, stored.revision, stored.number == wanted or wanted is None
            if wanted is None:
                stored.number, stored.revision = next_number(session, self.discom_code), 1
                session.add(stored)
                return stored.number, 1, True
            earlier = list(session.exec(select(ApplicationRow).where(
                ApplicationRow.number == wanted, col(ApplicationRow.id) != row.id)))  # fmt: skip
            mendable = {Outcome.REJECTED.value, Outcome.CHANGES_REQUESTED.value}
            open_ = bool(earlier) and all(
                r.requester == row.requester and r.state in mendable for r in earlier
            )
            revision = next_revision(session, wanted)
            if not open_ or revision is None:
                stored.number, stored.revision = next_number(session, self.discom_code), 1
                session.add(stored)
                return stored.number, 1, False
            stored.number, stored.revision = wanted, revision
            session.add(stored)
            return wanted, revision, True

    def decide_one(self, row: ApplicationRow) -> Verdict:
        application = Application.model_validate(application_of(row.contract))
        now: datetime = self.clock()
        number, revision, numbered = self._number(row, application)
        if not numbered:
            verdict = Verdict(outcome=Outcome.REJECTED, rules=(RESUBMISSION.outcome(
                False, f"{application.resubmission_of} is no open application of {row.requester}"
            ),))  # fmt: skip
            return self._answer(row, number, revision, verdict, now)
        presented = self.verify(application.presentation, self.subscriber_id)
        findings = check_credentials(
            presented, application, discom_did=self.discom_did, state=self.state,
            sender_did=f"did:web:{row.requester}",
        )  # fmt: skip
        facts: ConnectionFacts | None = None
        decision: Decision | None = None
        rules: list[PackRule] = []
        if findings.consumer_id is not None:
            facts = self.grid.connection_facts(findings.consumer_id)
        if facts is not None:
            decision, rules = self.policy.decide(
                self.state, policy_input(application, facts), now.date()
            )
        verdict = decide(findings, decision, rules)
        if facts is None and findings.consumer_id is not None:
            verdict = verdict.model_copy(update={"rules": (*verdict.rules, RuleOutcome(
                code="DERAPP-002", passed=False, intent="The consumer's connection is known.",
                message=f"the registry holds no connection and DT for {findings.consumer_id}",
                clause="Electricity (Rights of Consumers) Rules, 2020, r. 11",
                source="protocol.der",
            )), "outcome": Outcome.REJECTED})  # fmt: skip
        if verdict.outcome is Outcome.APPROVED and self.grid.meter_in_use(number, application):
            serial = application.meter.serial_number
            refused = METER.outcome(False, f"meter {serial} is already in the registry")
            verdict = verdict.model_copy(
                update={"rules": (*verdict.rules, refused), "outcome": Outcome.REJECTED}
            )
        registered: Registered | None = None
        credential: dict[str, Any] | None = None
        if verdict.outcome is Outcome.APPROVED:
            assert facts is not None
            assert decision is not None
            assert presented.holder is not None
            registered = self.grid.register(number, application, facts, row.id)
            credential = self.issuer.issue(der_subject(
                presented.holder, number, application, facts, registered, self.state,
                f"{decision.pack.id}@{decision.pack.version}",
            ))  # fmt: skip
        return self._answer(
            row, number, revision, verdict, now, findings.consumer_id, registered, credential
        )

    def _answer(
        self,
        row: ApplicationRow,
        number: str,
        revision: int,
        verdict: Verdict,
        now: datetime,
        consumer_id: str | None = None,
        registered: Registered | None = None,
        credential: dict[str, Any] | None = None,
    ) -> Verdict:
        """Record the verdict and queue the ``on_confirm`` (one transaction each: the
        answer is queued after the verdict is kept, and a retry finds it decided)."""
        body = verdict_document(number, row, verdict, registered, credential)
        self.store.record(
            row.id, state=verdict.outcome.value, verdict=body, decided_at=now,
            consumer_id=consumer_id,
            der_id=registered.der_id if registered else None,
            meter_id=registered.meter_id if registered else None,
            credential_id=credential["id"] if credential else None,
        )  # fmt: skip
        contract = copy.deepcopy(row.contract)
        # Beckn: a contract id is a uuid; the application number travels in the verdict.
        contract["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.discom_did}/{row.id}"))
        status, committed = CONTRACT_STATUS[verdict.outcome]
        name = f"{verdict.outcome.value} {number} revision {revision}"
        contract["status"] = {"code": status, "name": name}
        for commitment in contract.get("commitments") or []:
            if (
                isinstance(commitment.get("commitmentAttributes"), dict)
                and commitment["commitmentAttributes"].get("@type") == APPLICATION_TYPE
            ):
                commitment["status"] = {"descriptor": {"code": committed}}
                # The presentation stays with the discom: the answer names the verdict.
                commitment["commitmentAttributes"] = body
        context = new_context(
            "on_confirm", network_id=row.network_id, bap_id=row.requester,
            bap_uri=row.requester_uri, bpp_id=self.subscriber_id, bpp_uri=self.bpp_uri,
            transaction_id=row.transaction_id, message_id=row.message_id,
            requestDigest={"digest": row.request_digest},
        )  # fmt: skip
        self.outbox.enqueue(row.requester_uri, row.requester,
                            {"context": context, "message": {"contract": contract}},
                            request_signature=row.request_signature)  # fmt: skip
        return verdict


def verdict_document(
    number: str,
    row: ApplicationRow,
    verdict: Verdict,
    registered: Registered | None,
    credential: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``DERConnectionDecision`` the answer carries and the queue shows."""
    document: dict[str, Any] = {
        "@context": DECISION_CONTEXT,
        "@type": DECISION_TYPE,
        "applicationNumber": number,
        "outcome": verdict.outcome.value,
        "policyPack": verdict.pack,
        "policyPackDigest": verdict.pack_digest,
        "refusedBy": [r.code for r in verdict.refused_by],
        "rules": [r.model_dump() for r in verdict.rules],
        "explanation": verdict.explanation(),
    }
    if registered is not None:
        document["derId"] = registered.der_id
        document["meterId"] = registered.meter_id
    if credential is not None:
        # The consumer's wallet collects its DERCredential once, with this token.
        document["derCredential"] = {"id": credential["id"], "delivery": credential["delivery"]}
    return document


def der_subject(
    holder: str,
    number: str,
    application: Application,
    facts: ConnectionFacts,
    registered: Registered,
    state: str,
    pack: str,
) -> dict[str, Any]:
    """DERCredential's subject: the registry's IDs, the asset, capacity, scheme and
    commissioning date, the assets as DEG EnergyResource entries."""
    asked = application.der
    kind = {"solar_pv": "SOLAR_PV", "solar_pv_with_storage": "SOLAR_PV_WITH_STORAGE",
            "wind": "WIND"}.get(asked.type, "OTHER")  # fmt: skip
    commissioned = datetime.combine(application.commissioning_date, datetime.min.time(), IST)
    resources: list[dict[str, Any]] = [{
        "id": registered.der_id, "type": "SOLAR_PV" if asked.type.startswith("solar") else "WIND",
        "attributes": {"ratedPower": {"value": asked.capacity_kw, "unit": "kW"},
                       "commissioningDate": commissioned.isoformat()},
        "parentResources": [facts.connection_id],
    }]  # fmt: skip
    resources += [
        {"id": f"{registered.der_id}:{e.asset_type.lower()}:{e.serial_number}",
         "type": "INVERTER" if e.asset_type == "INVERTER" else e.asset_type,
         "attributes": {"serialNumber": e.serial_number},
         "parentResources": [registered.der_id]}
        for e in application.equipment if e.asset_type in ("INVERTER", "BESS")
    ]  # fmt: skip
    meter = application.meter
    resources.append({
        "id": registered.meter_id, "type": "METER",
        "attributes": {"make": meter.manufacturer, "model": meter.model,
                       "serialNumber": meter.serial_number, "energyDirection": "Bidirectional"},
        "parentResources": [registered.der_id],
    })  # fmt: skip
    claims: dict[str, Any] = {
        "derId": registered.der_id,
        "connectionId": facts.connection_id,
        "meterId": registered.meter_id,
        "transformerId": facts.transformer_id,
        "assetType": kind,
        "capacity": {"value": asked.capacity_kw, "unit": "kW"},
        "scheme": application.scheme.value.upper(),
        "commissioningDate": commissioned.isoformat(),
        "state": state,
        "applicationNumber": number,
        "policyPack": pack,
        "energyResources": resources,
    }
    if asked.storage_kwh is not None:
        claims["storageCapacity"] = {"value": asked.storage_kwh, "unit": "kWh"}
    return {"id": holder, "derConnection": claims}


def history(store: DerStore, number: str) -> list[dict[str, Any]]:
    """Every revision of an application, oldest first, with its verdict."""
    return [summary(r) for r in store.revisions(number)]


def summary(row: ApplicationRow) -> dict[str, Any]:
    application = application_of(row.contract) or {}
    der = application.get("der") or {}
    return {
        "id": row.id,
        "applicationNumber": row.number,
        "revision": row.revision,
        "requester": row.requester,
        "state": row.state,
        "receivedAt": from_db(row.received_at).isoformat(),
        "decidedAt": from_db(row.decided_at).isoformat() if row.decided_at else None,
        "der": der,
        "scheme": application.get("scheme"),
        "resubmissionOf": application.get("resubmissionOf"),
        "consumerId": row.consumer_id,
        "derId": row.der_id,
        "meterId": row.meter_id,
        "credentialId": row.credential_id,
        "verdict": {k: v for k, v in (row.verdict or {}).items() if k != "derCredential"},
    }
