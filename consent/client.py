"""The gate's ports over HTTP to a remote consent manager, and the in-process ones.

``HttpConsentManager`` signs what it sends with the provider's directory key and
verifies the consent manager's signature on every fetch grant (a grant is what lets
data out, so it is never taken on the word of whoever answered the socket).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from consent.errors import (
    ConsentNotActive,
    ConsentNotFound,
    ConsentProblem,
    FrequencyExceeded,
    SignatureInvalid,
)
from consent.service import ConsentManager, FetchGrant, FetchRecord
from consent.signatures import HEADER, SigningIdentity, verify_body
from registry.directory.keys import KeyLookup

_REFUSALS: dict[str, type[ConsentProblem]] = {
    "/problems/consent-not-active": ConsentNotActive,
    "/problems/consent-frequency-exceeded": FrequencyExceeded,
    "/problems/consent-not-found": ConsentNotFound,
}


class LocalConsentManager:
    """The consent manager in the same process (the sandbox's single host, the bench)."""

    def __init__(self, manager: ConsentManager, provider_id: str) -> None:
        self.manager = manager
        self.provider_id = provider_id

    def artefact(self, consent_id: str) -> str:
        return self.manager.artefact_for(consent_id, self.provider_id)

    def record(self, fetch: FetchRecord) -> FetchGrant:
        return self.manager.record_fetch(
            consent_id=fetch.consent_id,
            provider_id=fetch.provider_id,
            app_id=fetch.app_id,
            start=fetch.start,
            end=fetch.end,
            granularity=fetch.granularity,
            data_types=fetch.data_types,
            request_digest=fetch.request_digest,
        )


class HttpConsentManager:
    """A remote consent manager's ``/consent/artefacts`` and ``/consent/fetches``."""

    def __init__(
        self,
        http: httpx.Client,
        identity: SigningIdentity,
        keys: KeyLookup,
        consent_manager_id: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.clock = clock
        self.http = http
        self.identity = identity
        self.keys = keys
        self.consent_manager_id = consent_manager_id

    def _post(self, path: str, payload: dict[str, object]) -> httpx.Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return self.http.post(
            path,
            content=body,
            headers={
                "Content-Type": "application/json",
                HEADER: self.identity.sign_body(body, "ies-consent-provider+jws", self.clock()),
            },
        )

    def _raise(self, response: httpx.Response) -> None:
        problem = response.json() if response.content else {}
        cls = _REFUSALS.get(str(problem.get("type")), ConsentNotFound)
        raise cls(
            str(problem.get("detail", f"the consent manager answered {response.status_code}"))
        )

    def artefact(self, consent_id: str) -> str:
        response = self._post(
            "/consent/artefacts/lookup",
            {"consent_id": consent_id, "party": self.identity.subscriber_id},
        )
        if response.status_code != 200:
            self._raise(response)
        return str(response.json()["artefact"])

    def record(self, fetch: FetchRecord) -> FetchGrant:
        response = self._post("/consent/fetches", fetch.model_dump(mode="json"))
        if response.status_code != 200:
            self._raise(response)
        signed = verify_body(
            response.content, response.headers.get(HEADER), self.keys, now=self.clock()
        )
        if signed.subscriber_id != self.consent_manager_id:
            raise SignatureInvalid(
                "the grant was not signed by the consent manager", reason="signer"
            )
        return FetchGrant.model_validate_json(response.content)


def sign_request(identity: SigningIdentity, body: bytes, typ: str) -> dict[str, str]:
    """Headers for a signed call: what an app sends with a consent request or a fetch."""
    return {"Content-Type": "application/json", HEADER: identity.sign_body(body, typ)}
