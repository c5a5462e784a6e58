"""Everything that can go wrong with a policy pack or a decision, as problem details."""

from __future__ import annotations

from kernel.problems import Problem


class PolicyProblem(Problem):
    """Root of the policy building block's errors (shares the base slug)."""


class PackInvalid(PolicyProblem):
    slug = "policy-pack-invalid"
    title = "The policy pack is not valid"
    status = 422
    beckn_code = "40001"
    description = (
        "The pack's manifest, Rego modules, data or tests are malformed, or a module is "
        "not Rego v1; `errors` lists every failure found."
    )


class PackUnsigned(PolicyProblem):
    slug = "policy-pack-unsigned"
    title = "The policy pack is not signed"
    status = 422
    beckn_code = "40002"
    description = "A pack without its author's signature is never evaluated."


class PackSignatureInvalid(PolicyProblem):
    slug = "policy-pack-signature-invalid"
    title = "The policy pack's signature does not hold"
    status = 422
    beckn_code = "40003"
    description = (
        "The pack was altered after signing, or was signed by a key that is not trusted "
        "for its author and jurisdiction."
    )


class NoPackInForce(PolicyProblem):
    slug = "policy-no-pack-in-force"
    title = "No policy pack is in force"
    status = 404
    beckn_code = "40401"
    description = (
        "Neither the jurisdiction nor the national default has a pack covering this "
        "domain on the as-of date."
    )


class PackNotFound(PolicyProblem):
    slug = "policy-pack-not-found"
    title = "No such policy pack"
    status = 404
    beckn_code = "40402"
    description = "No loaded pack has this id and version."


class DecisionNotFound(PolicyProblem):
    slug = "policy-decision-not-found"
    title = "No such decision"
    status = 404
    beckn_code = "40403"
    description = "The decision log has no entry with this id."


class EvaluationFailed(PolicyProblem):
    slug = "policy-evaluation-failed"
    title = "The policy could not be evaluated"
    status = 502
    beckn_code = "50201"
    description = (
        "The engine returned an error or no decision document (for OPA: the server "
        "failed or does not hold the pack)."
    )


class InputUnrepresentable(PolicyProblem):
    slug = "policy-input-unrepresentable"
    title = "The input cannot be evaluated faithfully"
    status = 422
    beckn_code = "40005"
    description = (
        "The input holds a value the Rego interpreter would silently change (an integer "
        "outside 64 bits, a NaN or infinity, a NUL character) or is nested too deeply."
    )
