"""The IES smoke test, automated over real HTTP: issue, validate, resolve the issuer's
did:web and verify the proof, check status (not revoked), revoke in the directory's
revocation registry, re-check (revoked)."""

from __future__ import annotations

import pytest

from credentials.did import DidDocument
from credentials.proofs import credential_hash, read_jwt

from .conftest import ISSUER, ISSUER_HOST, CredStack
from .samples import official_errors, subjects


@pytest.mark.parametrize("proof_format", ["vc+jwt", "Ed25519Signature2020"])
def test_ies_smoke_issue_verify_revoke_reverify(creds: CredStack, proof_format: str) -> None:
    subject = subjects(creds.holder.did)["ElectricityCredential"]
    issued = creds.issue("ElectricityCredential", subject, format=proof_format)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    secured = body["verifiableCredential"]
    credential = read_jwt(secured).payload if proof_format == "vc+jwt" else secured

    # validate: the official IES schema, read from ../shared
    assert official_errors("ElectricityCredential", credential) == []

    # resolve the issuer's did:web (over HTTP, Host-routed) and find the signing key
    document = DidDocument.model_validate(
        creds.http.get("/.well-known/did.json", headers={"Host": ISSUER_HOST}).json()
    )
    assert document.id == ISSUER
    methods = {m.type for m in document.verification_method}
    assert methods == {"JsonWebKey2020", "Ed25519VerificationKey2020"}

    # verify: every check passes, including status (not revoked)
    verdict = creds.verify(secured)
    assert verdict["verified"], verdict["errors"]
    assert [c["check"] for c in verdict["checks"]] == [
        "format",
        "jsonld",
        "schema",
        "proof",
        "issuer",
        "validity",
        "status",
    ]

    # the DeDi lookup named in credentialStatus answers 404: valid
    status_id = credential["credentialStatus"]["id"]
    assert status_id.endswith(
        f"/dedi/lookup/{ISSUER_HOST}/vc-revocation-registry/{credential_hash(credential)}"
    )
    assert "/query/" not in status_id
    lookup = creds.directory.http.get(status_id.removeprefix(creds.directory.directory_url))
    assert lookup.status_code == 404

    # revoke: a record in the issuer's vc-revocation-registry
    revoked = creds.http.post(
        "/credentials/status",
        json={"credentialId": body["id"], "status": "revoked", "reason": "connection closed"},
    )
    assert revoked.status_code == 200, revoked.text
    assert (
        creds.directory.http.get(status_id.removeprefix(creds.directory.directory_url)).status_code
        == 200
    )

    # re-check: revoked, with the reason
    verdict = creds.verify(secured)
    assert not verdict["verified"]
    assert verdict["errors"] == [
        f"status: revoked in {ISSUER_HOST}/vc-revocation-registry (connection closed)"
    ]


def test_the_cli_issues_verifies_and_revokes_through_the_service(
    creds: CredStack, tmp_path
) -> None:
    import json

    from typer.testing import CliRunner

    from credentials.cli import app

    # The issuer's machine token, as its operator would export it for the CLI.
    access = creds.http.headers["Authorization"].removeprefix("Bearer ")
    runner = CliRunner(env={"IES_ACCESS_TOKEN": access})
    subject = tmp_path / "subject.json"
    subject.write_text(json.dumps(subjects(creds.holder.did)["P2PTradingPermissionCredential"]))
    issued = runner.invoke(
        app,
        [
            "issue",
            "--type",
            "P2PTradingPermissionCredential",
            "--issuer",
            ISSUER,
            "--subject",
            str(subject),
            "--url",
            creds.url,
        ],
    )
    assert issued.exit_code == 0, issued.output
    body = json.loads(issued.output)
    token = tmp_path / "vc.jwt"
    token.write_text(body["verifiableCredential"])
    verified = runner.invoke(app, ["verify", str(token), "--url", creds.url])
    assert verified.exit_code == 0
    assert json.loads(verified.output)["verified"]
    revoked = runner.invoke(
        app, ["revoke", body["id"], "--reason", "sold the house", "--url", creds.url]
    )
    assert revoked.exit_code == 0
    assert json.loads(revoked.output)["status"] == "revoked"
    refused = runner.invoke(app, ["verify", str(token), "--url", creds.url])
    assert refused.exit_code == 1
    assert "revoked" in refused.output
