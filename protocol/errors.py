"""What can go wrong in a signed exchange, one class per refusal.

Every class names the receiving step that raises it (``step``) and carries a stable
Beckn ``errorCode`` (``beckn_code``), so a NACK says both *what* and *where*. Codes
are grouped by step: 400xx the body and envelope, 401xx the signature, 402xx the
clock, 409xx replays, 403xx the sender's standing in the directory and the network,
500xx the participant itself. ``status`` is the HTTP status the spec's NACK
responses use (400 NackBadRequest, 401 NackUnauthorized, 409 AckNoCallback, 500).
"""

from __future__ import annotations

from typing import ClassVar

from kernel.problems import Problem


class ExchangeRefused(Problem):
    """Root of every refusal of an inbound Beckn message."""

    step: ClassVar[str] = "handOver"


# ------------------------------------------------------------------ parse


class BodyTooLarge(ExchangeRefused):
    slug = "beckn-body-too-large"
    title = "The message body is larger than this receiver accepts"
    status = 400
    beckn_code = "40002"
    step = "parse"
    description = "The body exceeds the receiver's limit; nothing was read past it."


class MalformedMessage(ExchangeRefused):
    slug = "beckn-malformed-message"
    title = "The body is not a Beckn message"
    status = 400
    beckn_code = "40001"
    step = "parse"
    description = "Not UTF-8 JSON, or not an object with `context` and `message` objects."


class WrongEndpoint(ExchangeRefused):
    slug = "beckn-wrong-endpoint"
    title = "context.action does not match the endpoint"
    status = 400
    beckn_code = "40003"
    step = "parse"
    description = "A `select` body posted to `/confirm` (or similar) is refused."


# ------------------------------------------------------------------ signature


class SignatureMissing(ExchangeRefused):
    slug = "beckn-signature-missing"
    title = "The Authorization header is missing"
    status = 401
    beckn_code = "40101"
    step = "validateSign"
    description = "Beckn v2: every request MUST carry a Beckn HTTP Signature."


class SignatureMalformed(ExchangeRefused):
    slug = "beckn-signature-malformed"
    title = "The signature header cannot be read"
    status = 401
    beckn_code = "40102"
    step = "validateSign"
    description = (
        "The header does not follow the Beckn Signature grammar: a missing, repeated or "
        "unknown parameter, a keyId not of the form subscriber|key|ed25519, another "
        "algorithm, or a signature that is not 64 bytes of base64."
    )


class SignatureInvalid(ExchangeRefused):
    slug = "beckn-signature-invalid"
    title = "The signature does not verify"
    status = 401
    beckn_code = "40103"
    step = "validateSign"
    description = (
        "Ed25519 verification over the signing string failed: the body was changed, "
        "signed with another key, or signed over another signing string."
    )


class SignedHeadersWrong(ExchangeRefused):
    slug = "beckn-signed-headers-wrong"
    title = "The signature covers the wrong headers"
    status = 401
    beckn_code = "40104"
    step = "validateSign"
    description = (
        "Requests sign `(created) (expires) digest`; solicited callbacks and ACKs add "
        "`request-signature`; a counter-signature adds `(request-digest) (message-id)`."
    )


class KeyUnknown(ExchangeRefused):
    slug = "beckn-key-unknown"
    title = "The signing key is not in the directory"
    status = 401
    beckn_code = "40105"
    step = "validateSign"
    description = "No subscriber record publishes that keyId for that subscriber."


class KeyRevoked(ExchangeRefused):
    slug = "beckn-key-revoked"
    title = "The signing key or its participant is revoked"
    status = 401
    beckn_code = "40106"
    step = "validateSign"
    description = "The directory revoked the key before the signature was made."


class KeyNotValid(ExchangeRefused):
    slug = "beckn-key-not-valid"
    title = "The signing key is outside its validity window"
    status = 401
    beckn_code = "40107"
    step = "validateSign"
    description = "The key had expired, or was not yet valid, when the signature was made."


class DirectoryUnreachable(ExchangeRefused):
    slug = "beckn-directory-unreachable"
    title = "The directory could not be asked for the signing key"
    status = 500
    beckn_code = "50002"
    step = "validateSign"
    description = "The receiver cannot verify now; the sender should retry."


class GatewayNotTrusted(ExchangeRefused):
    slug = "beckn-gateway-not-trusted"
    title = "The gateway signature is not from a registered gateway"
    status = 401
    beckn_code = "40108"
    step = "validateSign"
    description = "X-Gateway-Authorization must be signed by a BG subscriber of the directory."


# ------------------------------------------------------------------ freshness


class SignatureExpired(ExchangeRefused):
    slug = "beckn-signature-expired"
    title = "The signature has expired"
    status = 401
    beckn_code = "40201"
    step = "checkFreshness"
    description = "Beckn: no tolerance on `expires`; a message past it is refused."


class SignatureFromFuture(ExchangeRefused):
    slug = "beckn-signature-from-future"
    title = "The signature was created in the future"
    status = 401
    beckn_code = "40202"
    step = "checkFreshness"
    description = "`created` is more than the accepted clock skew (5 s) ahead of us."


class SignatureLifetime(ExchangeRefused):
    slug = "beckn-signature-lifetime"
    title = "The signature's validity window is not acceptable"
    status = 401
    beckn_code = "40203"
    step = "checkFreshness"
    description = "`expires` is not after `created`, or the window is longer than allowed."


# ------------------------------------------------------------------ replay


class MessageDuplicate(ExchangeRefused):
    slug = "beckn-message-duplicate"
    title = "This message was already received"
    status = 409
    beckn_code = "40901"
    step = "checkReplay"
    description = (
        "The same sender sent this action with this messageId and the same body before; "
        "it was handed over then and is not handed over again (no callback will follow)."
    )


class MessageIdReused(ExchangeRefused):
    slug = "beckn-message-id-reused"
    title = "The messageId was used before for a different message"
    status = 409
    beckn_code = "40902"
    step = "checkReplay"
    description = "A messageId names one message; a different body under it is refused."


# ------------------------------------------------------------------ participant


class SenderMismatch(ExchangeRefused):
    slug = "beckn-sender-mismatch"
    title = "The signer is not the sender named in the context"
    status = 401
    beckn_code = "40301"
    step = "checkParticipant"
    description = (
        "The keyId's subscriber must be context.bapId for requests and context.bppId for "
        "callbacks, and the directory record's subscriber_id; bapUri/bppUri must be the "
        "registered URL."
    )


class RoleNotAllowed(ExchangeRefused):
    slug = "beckn-role-not-allowed"
    title = "The sender's role may not send this action"
    status = 401
    beckn_code = "40302"
    step = "checkParticipant"
    description = "BAPs send requests (discover, select, init, confirm, status…); BPPs send on_*."


class NotNetworkMember(ExchangeRefused):
    slug = "beckn-not-network-member"
    title = "The sender is not a member of the message's network"
    status = 401
    beckn_code = "40303"
    step = "checkParticipant"
    description = "context.networkId must be one of the sender's memberships in the directory."


class NetworkNotServed(ExchangeRefused):
    slug = "beckn-network-not-served"
    title = "This receiver does not serve the message's network"
    status = 401
    beckn_code = "40304"
    step = "checkParticipant"
    description = "context.networkId must be one of the networks the receiver allows."


# ------------------------------------------------------------------ schema


class EnvelopeInvalid(ExchangeRefused):
    slug = "beckn-envelope-invalid"
    title = "The message does not match the Beckn v2 schema"
    status = 400
    beckn_code = "40004"
    step = "validateSchema"
    description = "The context or message fails the Beckn v2.0.0 shape of its action."


class PayloadInvalid(ExchangeRefused):
    slug = "beckn-payload-invalid"
    title = "The IES payload the message carries is not valid"
    status = 400
    beckn_code = "40005"
    step = "validateSchema"
    description = "An attributes bag typed as an IES schema (MeterData …) fails that schema."


class RequestDigestMismatch(ExchangeRefused):
    slug = "beckn-request-digest-mismatch"
    title = "The callback is not bound to the request it answers"
    status = 400
    beckn_code = "40006"
    step = "checkRequestDigest"
    description = (
        "A solicited callback's context.requestDigest must be the BLAKE2b-512 digest of "
        "the request body that carried the same messageId."
    )


# ------------------------------------------------------------------ pagination (BAP-pull)


class PageTokenInvalid(ExchangeRefused):
    slug = "beckn-page-token-invalid"
    title = "The page cursor is not valid"
    status = 400
    beckn_code = "40007"
    step = "checkPageCursor"
    description = (
        "The pageCursor was altered, was not issued by this provider, belongs to another "
        "transaction, requester or dataset, or the pagination tag is malformed."
    )


class PageTokenReplayed(ExchangeRefused):
    slug = "beckn-page-token-replayed"
    title = "The page cursor was used before"
    status = 409
    beckn_code = "40903"
    step = "checkPageCursor"
    description = (
        "Each pageCursor pulls its page once; a cursor presented again (in a new status "
        "message) is refused. The BAP restarts the pull without a cursor if it must."
    )


class StateConflict(ExchangeRefused):
    slug = "beckn-state-conflict"
    title = "Another message changed the same state at the same time"
    status = 409
    beckn_code = "40904"
    step = "handOver"
    description = (
        "The hand-over lost a race on a unique record other than the message's own "
        "(e.g. two status messages presenting one page cursor concurrently)."
    )


# ------------------------------------------------------------------ participant's own


class HandlerFailed(ExchangeRefused):
    slug = "beckn-handler-failed"
    title = "The participant could not take the message"
    status = 500
    beckn_code = "50001"
    step = "handOver"
    description = "Nothing was recorded as received; the sender should retry."


# ------------------------------------------------------------------ sender side


class AckRefused(Problem):
    """The sender's view: the receiver NACKed, or its ACK cannot be trusted."""

    slug = "beckn-ack-refused"
    title = "The receiver did not acknowledge the message"
    status = 502
    beckn_code = "50201"
    description = "The receiver answered NACK, or an ACK whose signature does not verify."


class DownloadLinkInvalid(Problem):
    slug = "beckn-download-link-invalid"
    title = "The download link is not valid"
    status = 403
    beckn_code = "40305"
    description = (
        "The link was altered, has expired, was not signed by this provider, or is "
        "fetched by someone other than the requester it was issued to."
    )


class TransactionNotFound(Problem):
    slug = "beckn-transaction-not-found"
    title = "No message of that transaction is logged"
    status = 404
    beckn_code = "40400"
    description = "The message log holds nothing for that transactionId."
