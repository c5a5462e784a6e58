"""Everything the consent layer can refuse, as problem details (one class per reason)."""

from __future__ import annotations

from kernel.problems import Problem


class ConsentProblem(Problem):
    """Root of the consent layer's problems."""


class ConsentNotFound(ConsentProblem):
    slug = "consent-not-found"
    title = "No such consent"
    status = 404
    beckn_code = "40400"
    description = (
        "No consent with this id belongs to the caller. Another consumer's or another "
        "app's consent answers the same as one that does not exist, so ids leak nothing."
    )


class TransitionNotAllowed(ConsentProblem):
    slug = "consent-transition-not-allowed"
    title = "The consent cannot make that change in its current status"
    status = 409
    beckn_code = "40900"
    description = "PENDING -> ACTIVE|REJECTED -> PAUSED|REVOKED|EXPIRED; final states stay."


class ApprovalWidens(ConsentProblem):
    slug = "consent-approval-widens"
    title = "An approval may only narrow what was asked"
    status = 422
    beckn_code = "40000"
    description = "`fields` lists each dimension the approval would have widened."


class SignatureInvalid(ConsentProblem):
    slug = "consent-signature-invalid"
    title = "The signature is missing, malformed, or does not verify"
    status = 401
    beckn_code = "40100"
    description = (
        "Requests carry a detached JWS (`X-IES-Signature`) made with the sender's key "
        "published in the directory; `reason` says which check failed."
    )


class SignerNotAllowed(ConsentProblem):
    slug = "consent-signer-not-allowed"
    title = "The signer may not do this"
    status = 403
    beckn_code = "40300"
    description = "The key belongs to a participant other than the one the request names."


class UnknownPurpose(ConsentProblem):
    slug = "consent-unknown-purpose"
    title = "The purpose is not on the purpose list"
    status = 422
    beckn_code = "40000"
    description = "Purposes come from the consent manager's list (GET /consent/purposes)."


class PolicyDenied(ConsentProblem):
    slug = "consent-policy-denied"
    title = "The state's policy pack does not allow this"
    status = 403
    beckn_code = "40300"
    description = "`violations` lists each rule with its clause; `pack` names the pack."


class RequestIdReused(ConsentProblem):
    slug = "consent-request-id-reused"
    title = "The app used this request id for a different request"
    status = 409
    beckn_code = "40900"
    description = "Retry with the same body, or use a new request_id."


class RequestStale(ConsentProblem):
    slug = "consent-request-stale"
    title = "The signed request is too old or from the future"
    status = 401
    beckn_code = "40100"
    description = "The JWS `iat` must be within five minutes of the receiver's clock."


class ArtefactInvalid(ConsentProblem):
    slug = "consent-artefact-invalid"
    title = "The consent artefact is not genuine"
    status = 401
    beckn_code = "40100"
    description = (
        "The artefact is malformed, altered, not signed by a trusted consent manager, "
        "or not the one this consent id names."
    )


class ConsentNotActive(ConsentProblem):
    slug = "consent-not-active"
    title = "The consent is not active"
    status = 403
    beckn_code = "40300"
    description = "Data flows only under an ACTIVE consent (not PAUSED, REVOKED, EXPIRED)."


class OutsideConsent(ConsentProblem):
    slug = "consent-outside-scope"
    title = "The request asks for more than the consent covers"
    status = 403
    beckn_code = "40300"
    description = (
        "Another meter, a data type, dates or a granularity finer than consented; "
        "`reason` says which. Nothing is clipped silently: the request is refused."
    )


class FrequencyExceeded(ConsentProblem):
    slug = "consent-frequency-exceeded"
    title = "The consent's fetch limit is reached"
    status = 429
    beckn_code = "42900"
    description = "A one-time consent allows one fetch; a periodic one n per rolling unit."


class MeterDataRequestInvalid(ConsentProblem):
    slug = "consent-meter-data-request-invalid"
    title = "The MeterDataRequest cannot be served"
    status = 422
    beckn_code = "40000"
    description = "It names no consent, or its window or capabilities cannot be read."


class DataUnavailable(ConsentProblem):
    slug = "consent-data-unavailable"
    title = "The provider has no data for this request"
    status = 404
    beckn_code = "40400"
    description = "The data source holds nothing for the meter and window."


class NoticeLanguageUnknown(ConsentProblem):
    slug = "consent-notice-language-unknown"
    title = "No notice in that language"
    status = 422
    beckn_code = "40000"
    description = "Notices exist in en, hi and mr."


class MeterNotHeld(ConsentProblem):
    slug = "consent-meter-not-held"
    title = "The consumer does not hold that meter for those dates"
    status = 403
    beckn_code = "40300"
    description = (
        "A consent may name, and a fetch may read, only meters the registry shows under "
        "the consumer (meter under a connection under the consumer) for the dates "
        "concerned. `meters` lists each one refused; a meter that passed to another "
        "consumer is refused from the instant it moved."
    )


class OwnershipUnavailable(ConsentProblem):
    slug = "consent-ownership-unavailable"
    title = "The registry could not say who holds the meters"
    status = 503
    beckn_code = "50300"
    description = "The check fails closed: nothing is written and no data leaves. Retry later."
