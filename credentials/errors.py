"""The credentials block's problems (RFC 9457), one class per thing that can go wrong."""

from __future__ import annotations

from kernel.problems import Problem


class CredentialProblem(Problem):
    """Root of the credentials block's failures."""


class UnknownCredentialType(CredentialProblem):
    slug = "credential-type-unknown"
    title = "The credential type is not one this issuer issues"
    status = 422
    beckn_code = "40020"
    description = "Use one of the types listed in the service's OpenAPI."


class CredentialInvalid(CredentialProblem):
    slug = "credential-invalid"
    title = "The credential does not match its schema"
    status = 422
    beckn_code = "40021"
    description = "`errors` lists every failure with its JSON Pointer; nothing was issued."


class IssuerUnknown(CredentialProblem):
    slug = "credential-issuer-unknown"
    title = "This service holds no keys for that issuer"
    status = 404
    beckn_code = "40420"
    description = "The issuer DID is not one configured on this issuing service."


class FormatNotAllowed(CredentialProblem):
    slug = "credential-format-not-allowed"
    title = "That proof format cannot secure this credential type"
    status = 422
    beckn_code = "40022"
    description = (
        "IES schemas require proof.proofValue, which JsonWebSignature2020 does not carry: "
        "secure IES types with vc+jwt or Ed25519Signature2020."
    )


class CredentialNotFound(CredentialProblem):
    slug = "credential-not-found"
    title = "No credential with that id"
    status = 404
    beckn_code = "40421"
    description = "This service never issued a credential with that id."


class StatusChangeRefused(CredentialProblem):
    slug = "credential-status-change-refused"
    title = "The status change is not allowed"
    status = 409
    beckn_code = "40920"
    description = "A revoked credential stays revoked; suspend/reinstate apply to live ones."


class StatusRegistryFailed(CredentialProblem):
    slug = "credential-status-registry-failed"
    title = "The directory refused or missed the status write"
    status = 502
    beckn_code = "50220"
    description = "The revocation registry write failed; the status was not changed."


class DeliveryRefused(CredentialProblem):
    slug = "credential-delivery-refused"
    title = "The credential cannot be delivered to this caller"
    status = 403
    beckn_code = "40320"
    description = "The pull token is wrong, used up or expired."


class StatusListNotFound(CredentialProblem):
    slug = "credential-status-list-not-found"
    title = "No such status list"
    status = 404
    beckn_code = "40422"
    description = "This service publishes no status list under that id."
