"""What the installer's desk refuses: each leaves the request exactly as it was."""

from __future__ import annotations

from kernel.problems import Problem


class RequestNotFound(Problem):
    slug = "der-request-not-found"
    title = "No such DER application request"
    status = 404
    beckn_code = "40400"
    description = "The installer holds no application request under this id for this consumer."


class RequestInvalid(Problem):
    slug = "der-request-invalid"
    title = "The DER application request is not well formed"
    status = 422
    beckn_code = "40001"
    description = "The request or decision fails its shape; nothing was recorded."


class NotTheConsumer(Problem):
    slug = "der-request-not-the-consumer"
    title = "Only the consumer decides on sharing their credential"
    status = 403
    beckn_code = "40300"
    description = (
        "The decision is not signed by the wallet the request was addressed to, or its "
        "presentation is not the consumer's own (holder, proof, audience): the application "
        "stays where it was and nothing reaches the discom."
    )


class NotAwaitingApproval(Problem):
    slug = "der-request-not-awaiting-approval"
    title = "The application is not awaiting the consumer's approval"
    status = 409
    beckn_code = "40900"
    description = (
        "Only an application awaiting the consumer's approval can be approved or declined; "
        "a declined one is closed and an approved one was sent once."
    )
