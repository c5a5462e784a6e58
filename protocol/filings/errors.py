"""What the filings inbox refuses, as problem details (a refusal changes no state).

Transport refusals (no signature, a forged one, an unknown or revoked key, a stale
one) are the exchange's own problems from ``protocol.errors``: the inbox checks a
filing's signature exactly as a Beckn receiver checks a message's.
"""

from __future__ import annotations

from kernel.problems import Problem


class FilingProblem(Problem):
    """Root of the filings inbox's errors (shares the base slug)."""


class FilingInvalid(FilingProblem):
    slug = "filing-invalid"
    title = "The filing is not valid"
    status = 422
    beckn_code = "40000"
    description = (
        "The body is not a submission (an ArrFiling v0.5 and its energy account), or a "
        "figure cannot be used (a fiscal year not of the form 'FY 2027-28', collections "
        "against no billing); `errors` lists every failure."
    )


class NotALicensee(FilingProblem):
    slug = "filing-not-a-licensee"
    title = "The signer is not a licensee of this commission"
    status = 403
    beckn_code = "40003"
    description = "Only the distribution licensees the commission regulates may file."


class FilingNotFound(FilingProblem):
    slug = "filing-not-found"
    title = "No such filing"
    status = 404
    beckn_code = "40400"
    description = "The inbox holds no filing with that id."


class FilingRefReused(FilingProblem):
    slug = "filing-ref-reused"
    title = "The filing's id was already used for a different filing"
    status = 409
    beckn_code = "40009"
    description = (
        "A licensee's ArrFiling id names one filing: resending it is idempotent, but "
        "the same id with other content is refused (give a corrected filing its own id)."
    )


class CorrectionNotAllowed(FilingProblem):
    slug = "filing-correction-not-allowed"
    title = "The filing cannot be superseded"
    status = 409
    beckn_code = "40009"
    description = (
        "A correction must name the newest version of one of the licensee's own "
        "filings; a superseded version, or another licensee's filing, cannot be."
    )


class PolicyUnavailable(FilingProblem):
    slug = "filing-policy-unavailable"
    title = "The policy decision could not be made"
    status = 503
    beckn_code = "50300"
    description = "The state's policy pack could not decide; nothing was stored, send again."


class NotTheCommission(FilingProblem):
    slug = "filing-not-the-commission"
    title = "Only the commission may request a correction"
    status = 403
    beckn_code = "40003"
    description = (
        "A correction request must be signed with the commission's own key in the "
        "directory (the key that signs the inbox's receipts); a licensee cannot ask."
    )


class CorrectionRequestNotAllowed(FilingProblem):
    slug = "filing-correction-request-not-allowed"
    title = "A correction cannot be requested of this filing"
    status = 409
    beckn_code = "40009"
    description = (
        "Only an acknowledged filing that is still the newest version of its docket can "
        "be sent back: a superseded version, or one already sent back (by the pack or "
        "by another request), is refused and left as it was."
    )
