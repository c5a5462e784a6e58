"""RFC 9457 problem details, one exception hierarchy for the whole stack.

Each building block subclasses :class:`Problem` once per thing that can go wrong and
raises the precise class; the HTTP edge translates it once (``kernel.service``).
The ``type`` is a stable relative URI, ``/problems/{slug}``, which every service
serves as documentation (RFC 9457 §3.1.1: a type URI should resolve to a
human-readable description).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Self

_REGISTERED: dict[str, type[Problem]] = {}


class Problem(Exception):
    """Base of every error a client may see.

    Subclasses set ``slug``, ``title`` and ``status``; ``beckn_code`` is the error code
    used when the same failure is reported as a Beckn NACK.
    """

    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500
    beckn_code: ClassVar[str] = "50000"
    description: ClassVar[str] = "The service failed; the failure was logged."

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "slug" not in cls.__dict__:
            return  # an intermediate base (a package's root error) shares its parent's slug
        existing = _REGISTERED.get(cls.slug)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise TypeError(f"problem slug {cls.slug!r} used by {existing} and {cls}")
        _REGISTERED[cls.slug] = cls

    @property
    def type_uri(self) -> str:
        return problem_type_uri(self.slug)

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extensions)
        return body


def problem_type_uri(slug: str) -> str:
    return f"/problems/{slug}"


class InvalidRequest(Problem):
    slug = "invalid-request"
    title = "The request is not valid"
    status = 422
    beckn_code = "40000"
    description = "The body, path or query failed validation; `errors` lists every failure."


class InvalidCursor(Problem):
    slug = "invalid-cursor"
    title = "The pagination cursor is not valid"
    status = 400
    beckn_code = "40000"
    description = "The cursor was altered, expired or belongs to a different query."


class BodyTooLarge(Problem):
    slug = "body-too-large"
    title = "The request body is too large"
    status = 413
    beckn_code = "40000"
    description = "The body exceeds the service's configured limit."


class NulInText(Problem):
    slug = "nul-in-text"
    title = "The request contains a NUL character"
    status = 400
    beckn_code = "40000"
    description = (
        "No text in this domain contains U+0000, and PostgreSQL cannot store it: a request "
        "carrying one (raw, %00 or \\u0000) is refused before it reaches any service."
    )


class NotFound(Problem):
    slug = "not-found"
    title = "Not found"
    status = 404
    beckn_code = "40400"
    description = "No resource at this address."


class IdempotencyConflict(Problem):
    slug = "idempotency-key-reused"
    title = "The idempotency key was used for a different request"
    status = 409
    beckn_code = "40900"
    description = "Retry with the same body, or use a new Idempotency-Key."


class RetryLater(Problem):
    """A refusal that ends by itself: come back in ``retry_after`` seconds.

    The wait is said twice, as RFC 9110 §10.2.3 ``Retry-After`` (what HTTP clients and
    proxies honour) and as the ``retry_after`` member of the problem body (what a client
    reading only the body sees). An intermediate base: each refusal (a spent request
    budget, a locked sign-in) is its own subclass with its own slug.
    """

    def __init__(self, detail: str, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extensions)
        self.retry_after = retry_after

    @classmethod
    def waiting(cls, detail: str, seconds: float, **extensions: Any) -> Self:
        """The refusal for a wait of ``seconds``, rounded up to a whole second, at least 1
        (``Retry-After`` counts whole seconds; 0 would invite an immediate retry)."""
        return cls(detail, retry_after=max(1, math.ceil(seconds)), **extensions)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


_REGISTERED.setdefault(Problem.slug, Problem)


def problem_types() -> dict[str, type[Problem]]:
    """Every problem type declared so far, by slug (for documentation and tests)."""
    return dict(_REGISTERED)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can return."""
    schema = {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
        },
        "additionalProperties": True,
    }
    return {
        status: {
            "description": "Problem details (RFC 9457)",
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
