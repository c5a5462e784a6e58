"""What DER onboarding refuses at its edges (a refused application is a verdict, not an
error: these are the messages and requests that never become one)."""

from __future__ import annotations

from kernel.problems import Problem
from protocol.errors import ExchangeRefused


class ApplicationInvalid(ExchangeRefused):
    slug = "der-application-invalid"
    title = "The DER connection application is not well formed"
    status = 400
    beckn_code = "40005"
    step = "handOver"
    description = (
        "The confirm's DERConnectionApplication fails its shape (DER, scheme, equipment, "
        "meter, commissioning date, presentation); nothing was recorded."
    )


class ApplicationNotFound(Problem):
    slug = "der-application-not-found"
    title = "No such DER connection application"
    status = 404
    beckn_code = "40400"
    description = "The discom holds no application under this number."
