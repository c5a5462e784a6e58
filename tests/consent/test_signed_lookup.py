"""The artefact lookup door (``POST /consent/artefacts/lookup``), signed by its caller:
the check ``kernel.signed_requests`` runs for every ``signed`` door. Unsigned, forged,
replayed-late or someone else's lookups learn nothing; the rightful party gets the
artefact."""

from __future__ import annotations

import json
from datetime import timedelta

from consent.signatures import HEADER

from .conftest import DISCOM, assert_refused
from .test_attacks import active_consent

TYP = "ies-consent-provider+jws"


def _lookup(network, identity, body: dict, *, signed_at=None, sent: bytes | None = None):
    raw = json.dumps(body).encode()
    signature = identity.sign_body(raw, TYP, signed_at or network.clock())
    headers = {"Content-Type": "application/json", HEADER: signature}
    return network.cm_http.post("/consent/artefacts/lookup", content=sent or raw, headers=headers)


def test_only_the_rightful_party_signing_now_gets_the_artefact(network):
    consent_id = active_consent(network)
    asked = {"consent_id": consent_id, "party": DISCOM}

    found = _lookup(network, network.discom, asked)
    assert found.status_code == 200, found.text
    assert found.json()["artefact"] == network.manager.artefact_for(consent_id, DISCOM)

    raw = json.dumps(asked).encode()
    unsigned = network.cm_http.post("/consent/artefacts/lookup", content=raw,
                                    headers={"Content-Type": "application/json"})  # fmt: skip
    refused = assert_refused(unsigned, 401, "consent-signature-invalid")
    assert "no X-IES-Signature" in refused["detail"]
    # The discom's signature over other bytes: the body was altered on the way.
    altered = {"consent_id": consent_id, "party": network.lender.subscriber_id}
    assert_refused(
        _lookup(network, network.discom, asked, sent=json.dumps(altered).encode()),
        401,
        "consent-signature-invalid",
    )
    # Signed long ago (a captured request replayed): stale.
    late = network.clock() - timedelta(minutes=10)
    assert_refused(_lookup(network, network.discom, asked, signed_at=late), 401,
                   "consent-request-stale")  # fmt: skip
    # Validly signed by another participant, naming the discom: not theirs to ask.
    assert_refused(_lookup(network, network.lender, asked), 403, "consent-signer-not-allowed")
