"""Everything the directory can refuse, each with its own problem type."""

from __future__ import annotations

from kernel.problems import Problem


class DirectoryProblem(Problem):
    """Root of the directory's errors."""


class NamespaceNotFound(DirectoryProblem):
    slug = "dedi-namespace-not-found"
    title = "No such namespace"
    status = 404
    beckn_code = "40420"
    description = "No namespace is claimed under this name."


class NamespaceTaken(DirectoryProblem):
    slug = "dedi-namespace-taken"
    title = "The namespace is already claimed"
    status = 409
    beckn_code = "40920"
    description = "Another claim for this domain is verified or pending; a domain has one owner."


class NamespaceNotVerified(DirectoryProblem):
    slug = "dedi-namespace-not-verified"
    title = "The namespace's domain is not proven yet"
    status = 403
    beckn_code = "40320"
    description = "Publish the challenge on the domain and ask for verification before writing."


class DomainProofFailed(DirectoryProblem):
    slug = "dedi-domain-proof-failed"
    title = "The domain did not publish the challenge"
    status = 403
    beckn_code = "40321"
    description = (
        "The directory fetched the challenge from the claimed domain (its well-known path or "
        "TXT record) and did not find the token it issued, or the challenge has expired."
    )


class WriteSignatureMissing(DirectoryProblem):
    slug = "dedi-signature-missing"
    title = "The write is not signed"
    status = 401
    beckn_code = "40120"
    description = "Every write carries a detached JWS of its body in the DeDi-Signature header."


class WriteSignatureInvalid(DirectoryProblem):
    slug = "dedi-signature-invalid"
    title = "The write's signature does not verify"
    status = 401
    beckn_code = "40121"
    description = (
        "The signature is malformed, signed by a key that is not the namespace owner's, "
        "covers another method, path or body, or is outside its freshness window."
    )


class WriteReplayed(DirectoryProblem):
    slug = "dedi-write-replayed"
    title = "This signed write was already applied"
    status = 409
    beckn_code = "40921"
    description = "Each signed write has a unique jti; a replay of an old write is refused."


class RegistryNotFound(DirectoryProblem):
    slug = "dedi-registry-not-found"
    title = "No such registry in this namespace"
    status = 404
    beckn_code = "40421"
    description = "The namespace holds no registry under this name."


class RegistryExists(DirectoryProblem):
    slug = "dedi-registry-exists"
    title = "The registry already exists"
    status = 409
    beckn_code = "40922"
    description = "A registry's name and record type are fixed once created."


class RecordNotFound(DirectoryProblem):
    slug = "dedi-record-not-found"
    title = "No such record"
    status = 404
    beckn_code = "40422"
    description = (
        "The registry holds no live record under this name at the time asked. For a "
        "revocation registry this means: not revoked."
    )


class RecordInvalid(DirectoryProblem):
    slug = "dedi-record-invalid"
    title = "The record does not match its registry's schema"
    status = 422
    beckn_code = "42220"
    description = "`errors` lists every field that failed, with its path and reason."


class RecordExpired(DirectoryProblem):
    slug = "dedi-record-expired"
    title = "The record is expired"
    status = 422
    beckn_code = "42221"
    description = "Its valid_until is not after valid_from, or already in the past."


class DuplicateKeyId(DirectoryProblem):
    slug = "dedi-duplicate-key-id"
    title = "The key id is already in use"
    status = 409
    beckn_code = "40923"
    description = (
        "A (subscriber_id, key_id) names one key forever: a key id may not be reused for "
        "other key material, nor registered twice."
    )


class RecordImmutable(DirectoryProblem):
    slug = "dedi-record-immutable"
    title = "This change to the record is not allowed"
    status = 409
    beckn_code = "40924"
    description = (
        "A revoked key stays revoked, a subscriber record keeps its subscriber and key, "
        "and a record's type never changes."
    )


class MembershipTargetInvalid(DirectoryProblem):
    slug = "dedi-membership-target-invalid"
    title = "The membership entry points at no live subscriber record"
    status = 422
    beckn_code = "42222"
    description = "A network's reference entry must name a subscriber record that exists."


class SubscriberOutsideNamespace(DirectoryProblem):
    slug = "dedi-subscriber-outside-namespace"
    title = "The subscriber id is not under the namespace's domain"
    status = 403
    beckn_code = "40322"
    description = (
        "A namespace owner publishes subscriber records only for its proven domain, its "
        "subdomains, or did:web identifiers on them."
    )


class KeyNotUsable(DirectoryProblem):
    slug = "dedi-key-not-usable"
    title = "The signing key is not valid at the time asked"
    status = 410
    beckn_code = "40125"
    description = (
        "The key is unknown, revoked, expired, not yet valid, or its subscriber is not "
        "subscribed; `reason` says which."
    )
