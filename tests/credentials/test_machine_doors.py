"""The issuer's machine doors (issue 15): issuing and status changes need the issuer's
own token (credentials:issue / credentials:status, audience = the issuer's host).
Nobody else's, however scoped, passes; each refusal changes nothing."""

from __future__ import annotations

from typing import Any

from tests.credentials.conftest import ISSUER, ISSUER_HOST, TOKENS, CredStack

from .samples import subjects

KIND = "ElectricityCredential"


def _body(creds: CredStack) -> dict[str, Any]:
    return {"credential": {"type": KIND, "issuer": ISSUER,
                           "credentialSubject": subjects(creds.holder.did)[KIND]}}  # fmt: skip


def _problem(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/problems/{slug}"


def test_issuing_without_a_token_or_with_a_bad_one_is_401(creds: CredStack) -> None:
    token = TOKENS[ISSUER_HOST]
    scopes = ["credentials:issue"]
    for headers in (
        {"Authorization": ""},
        token.headers(ISSUER_HOST, scopes, subject=ISSUER_HOST, lifetime=-60),
        token.headers("elsewhere.example", scopes, subject=ISSUER_HOST),
    ):
        _problem(creds.http.post("/credentials/issue", json=_body(creds), headers=headers),
                 401, "unauthenticated")  # fmt: skip


def test_another_organisation_may_not_issue_nor_revoke_here(creds: CredStack) -> None:
    issued = creds.issue(KIND, subjects(creds.holder.did)[KIND])
    assert issued.status_code == 201, issued.text
    credential_id = issued.json()["id"]
    # Another discom: the directory gave it the scopes, and a token for this audience.
    other = TOKENS[ISSUER_HOST].headers(
        ISSUER_HOST, ["credentials:issue", "credentials:status"], subject="discom-b.example"
    )
    _problem(creds.http.post("/credentials/issue", json=_body(creds), headers=other),
             403, "forbidden")  # fmt: skip
    revoke = {"credentialId": credential_id, "status": "revoked", "reason": "not yours"}
    _problem(creds.http.post("/credentials/status", json=revoke, headers=other), 403, "forbidden")
    # Still valid: the refusal changed nothing.
    assert creds.verify(issued.json()["verifiableCredential"])["verified"]


def test_the_issuer_itself_without_the_status_scope_may_not_revoke(creds: CredStack) -> None:
    issued = creds.issue(KIND, subjects(creds.holder.did)[KIND])
    credential_id = issued.json()["id"]
    issue_only = TOKENS[ISSUER_HOST].headers(ISSUER_HOST, ["credentials:issue"],
                                             subject=ISSUER_HOST)  # fmt: skip
    revoke = {"credentialId": credential_id, "status": "revoked", "reason": "x"}
    _problem(creds.http.post("/credentials/status", json=revoke, headers=issue_only),
             403, "forbidden")  # fmt: skip
    assert creds.verify(issued.json()["verifiableCredential"])["verified"]
    # With its status token it may.
    assert creds.http.post("/credentials/status", json=revoke).status_code == 200
    assert not creds.verify(issued.json()["verifiableCredential"])["verified"]
