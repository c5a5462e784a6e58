"""Sign-in's problems (RFC 9457). They say as little as they can: whether an account
exists, or which half of a credential was wrong, is nobody's business."""

from __future__ import annotations

from kernel.problems import Problem, RetryLater


class SignInProblem(Problem):
    """Root of sign-in's failures."""


class SignInRefused(SignInProblem):
    slug = "sign-in-refused"
    title = "Sign-in refused"
    status = 401
    beckn_code = "40101"
    description = (
        "The one-time code or passkey was not accepted: wrong, expired, already used, or "
        "out of attempts. Ask for a new code and try again."
    )


class LockedOut(SignInProblem, RetryLater):
    slug = "sign-in-locked"
    title = "Too many failed sign-ins"
    status = 429
    beckn_code = "42901"
    description = (
        "The account is locked after repeated failed sign-ins; retry after the number of "
        "seconds in the Retry-After header."
    )


class CsrfRefused(SignInProblem):
    slug = "csrf-token-missing"
    title = "Missing or wrong anti-forgery token"
    status = 403
    beckn_code = "40301"
    description = (
        "A state-changing request must carry the page's anti-forgery token (form field "
        "csrf_token or header X-CSRF-Token); reload the page and submit again."
    )


class PasskeyRejected(SignInProblem):
    slug = "passkey-rejected"
    title = "The passkey could not be registered"
    status = 422
    beckn_code = "40022"
    description = "The authenticator's answer did not verify against the challenge issued."
