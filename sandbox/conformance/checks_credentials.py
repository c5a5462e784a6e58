"""Credential-issuer items: what it issues validates, verifies, and can be revoked.

The kit asks the issuer's VC API (``POST /credentials/issue``) for a credential of a
type it has a sample subject for, then verifies it as an independent relying party
would, with the stack's own verifier (``credentials.verify.verify_credential``):
JSON-LD, the schema, the proof against the issuer's did:web document, the issuer's
standing in the trust registry, and the status. Clauses: IES 7 and 9 (INTEROP.md).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from credentials.app import CredentialSettings, verifier_ports
from credentials.verify import verify_credential
from sandbox.conformance.model import Evidence, Failed, Item, Result, clip, ok
from sandbox.conformance.session import Session

ISSUER_ROLES = ("credential-issuer",)
MAX_STATUS_WAIT = 10.0  # seconds: the item's bound, whatever TTL the issuer advertises


def _electricity_subject(issuer: str) -> dict[str, Any]:
    meter = f"{issuer}:assets:meter:CONFORMANCE-1"
    return {
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "customerProfile": {
            "customerNumber": "CONFORMANCE-1",
            "energyResources": [{"id": meter, "type": "METER", "attributes": {
                "meterCapability": "AMI", "energyDirection": "Forward",
                "make": "conformance", "serialNumber": "CONFORMANCE-1"}}],
            "consumptionProfiles": [{
                "meterId": meter, "sanctionedLoad": {"value": 5, "unit": "kW"},
                "tariffCategoryCode": "LT-1", "premisesType": "Residential",
                "connectionType": "Single-phase", "serviceStatus": "active"}],
        },
        "customerDetails": {
            "fullName": "Conformance Kit",
            "installationAddress": {
                "geo": {"type": "Point", "coordinates": [72.8, 19.0]},
                "address": {"streetAddress": "1 Test Road", "addressLocality": "Mumbai",
                            "addressRegion": "IN-MH", "postalCode": "400001",
                            "addressCountry": "IN"}},
            "serviceConnectionDate": "2020-01-01T00:00:00Z",
        },
    }  # fmt: skip


SAMPLES = {"ElectricityCredential": _electricity_subject}


def _did(session: Session) -> str:
    sid = session.target.subscriber_id
    return sid if sid.startswith("did:") else f"did:web:{sid}"


def issued(session: Session) -> dict[str, Any]:
    def issue() -> dict[str, Any]:
        kind = "ElectricityCredential"
        draft = {"credential": {"type": kind, "issuer": _did(session),
                                "credentialSubject": SAMPLES[kind](_did(session))}}  # fmt: skip
        url = f"{session.target.url}/credentials/issue"
        try:
            response = session.http.post(url, json=draft)
        except Exception as exc:
            raise Failed(f"POST {url}: {type(exc).__name__}: {exc}") from None
        evidence = Evidence(
            "issue",
            f"POST {url}\n\n{json.dumps(draft)[:1500]}",
            f"HTTP {response.status_code}\n{clip(response.text, 2000)}",
        )
        if response.status_code != 201:
            raise Failed(f"the issuer refused to issue a {kind}: HTTP {response.status_code}",
                         [evidence])  # fmt: skip
        body = session.json_of(response, url)
        if not isinstance(body, dict) or "verifiableCredential" not in body:
            raise Failed("the answer carries no verifiableCredential", [evidence])
        return {"body": body, "evidence": evidence}

    value: dict[str, Any] = session.once("issued", issue)
    return value


def _verify(session: Session, presented: Any) -> dict[str, Any]:
    base = str(session.directory.base_url).rstrip("/")
    settings = CredentialSettings(hosts=session.target.hosts, directory_url=base,
                                  status_ttl_seconds=0.0, did_ttl_seconds=0.0,
                                  status_list_ttl_seconds=0.0)  # fmt: skip
    ports, _, _ = verifier_ports(settings, session.directory, session.http)
    verdict: dict[str, Any] = verify_credential(presented, ports).to_dict()
    return verdict


def _failed_checks(verdict: dict[str, Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [c for c in verdict.get("checks", []) if c.get("check") in names and not c.get("ok")]


def check_schema(session: Session) -> Result:
    found = issued(session)
    verdict = _verify(session, found["body"]["verifiableCredential"])
    evidence = [found["evidence"], Evidence("verification", "", json.dumps(verdict)[:3000])]
    bad = _failed_checks(verdict, ("format", "jsonld", "schema"))
    if bad:
        raise Failed(f"{bad[0]['check']}: {bad[0].get('reason')}", evidence)
    return ok(f"{found['body'].get('type')} ({found['body'].get('format')}) valid against its "
              "IES schema and JSON-LD context", *evidence)  # fmt: skip


def check_proof(session: Session) -> Result:
    found = issued(session)
    verdict = _verify(session, found["body"]["verifiableCredential"])
    evidence = [found["evidence"], Evidence("verification", "", json.dumps(verdict)[:3000])]
    bad = _failed_checks(verdict, ("proof", "issuer", "validity"))
    if bad:
        raise Failed(f"{bad[0]['check']}: {bad[0].get('reason')}", evidence)
    if not verdict.get("verified"):
        failures = [c for c in verdict.get("checks", []) if not c.get("ok")]
        raise Failed(f"not verified: {failures[0]['check']}: {failures[0].get('reason')}"
                     if failures else "not verified", evidence)  # fmt: skip
    return ok(
        "the proof verifies against the issuer's did:web document; the issuer is in the "
        "trust registry for this type",
        *evidence,
    )


def _status_url(token: Any) -> str | None:
    if isinstance(token, str) and token.count(".") == 2:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    elif isinstance(token, dict):
        claims = token
    else:
        return None
    status = claims.get("credentialStatus")
    entries = status if isinstance(status, list) else [status]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("statusPurpose") == "revocation":
            return str(entry.get("id"))
    return None


def _advertised_ttl(headers: Any, body: Any) -> float:
    for part in str(headers.get("cache-control", "")).split(","):
        name, _, value = part.strip().partition("=")
        if name == "max-age" and value.isdigit():
            return float(value)
    if isinstance(body, dict) and isinstance(body.get("ttl"), int | float):
        return float(body["ttl"])
    return 60.0


def check_revocation(session: Session) -> Result:
    found = issued(session)
    token = found["body"]["verifiableCredential"]
    status_url = _status_url(token)
    if status_url is None:
        raise Failed("the credential has no revocation credentialStatus", [found["evidence"]])
    before = session.get(status_url)
    evidence = [found["evidence"], Evidence("status before", f"GET {status_url}",
                                            f"HTTP {before.status_code}")]  # fmt: skip
    if before.status_code != 404:
        raise Failed(f"a fresh credential's status answers HTTP {before.status_code}, not 404",
                     evidence)  # fmt: skip
    ttl = _advertised_ttl(before.headers, None)
    url = f"{session.target.url}/credentials/status"
    ask = {"credentialId": found["body"]["id"], "status": "revoked", "reason": "conformance"}
    revoked = session.http.post(url, json=ask)
    evidence.append(
        Evidence(
            "revoke",
            f"POST {url}\n\n{json.dumps(ask)}",
            f"HTTP {revoked.status_code}\n{clip(revoked.text, 800)}",
        )
    )
    if revoked.status_code != 200:
        raise Failed(f"the issuer refused the revocation: HTTP {revoked.status_code}", evidence)
    bound = min(ttl, MAX_STATUS_WAIT)
    deadline = time.monotonic() + bound
    while True:
        after = session.get(status_url)
        if after.status_code == 200:
            break
        if time.monotonic() > deadline:
            evidence.append(Evidence("status after", f"GET {status_url}",
                                     f"HTTP {after.status_code}"))  # fmt: skip
            raise Failed(f"revoked, yet its status still answers HTTP {after.status_code} after "
                         f"{bound:.0f} s (advertised TTL {ttl:.0f} s)", evidence)  # fmt: skip
        time.sleep(0.25)
    verdict = _verify(session, token)
    evidence.append(Evidence("verification after", "", json.dumps(verdict)[:2000]))
    if verdict.get("verified"):
        raise Failed("the revoked credential still verifies", evidence)
    return ok(
        f"revocation visible in the DeDi revocation registry (advertised TTL {ttl:.0f} s); "
        "a verifier now refuses it",
        *evidence,
    )


ITEMS: tuple[Item, ...] = (
    Item("credential.schema", ISSUER_ROLES,
         "an issued credential validates against its IES schema and context",
         "IES 7, IES 9", check_schema),
    Item("credential.proof", ISSUER_ROLES,
         "its proof verifies against the issuer's did:web; the issuer is trusted",
         "IES 9; VC Data Model 2.0", check_proof),
    Item("credential.revocation", ISSUER_ROLES,
         "a revocation shows in its status within the advertised TTL",
         "IES 7, IES 9; INTEROP Credentials (dedi revocation registry)", check_revocation,
         budget_seconds=25.0),
)  # fmt: skip
