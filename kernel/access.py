"""Who may call a route, declared on the route itself (issue 15: authorisation in one place).

Every route of every service carries exactly one declaration, and
``tests/kernel/test_access_declarations.py`` walks every app to prove it:

- ``requires(scope)``: the caller must be authenticated (by one of the authenticators
  installed on the app: a bearer token, a session cookie...) and hold ``scope``;
- ``public(reason)``: deliberately open (the OpenAPI page, a did.json, a status list);
- ``signed(scheme)``: the body carries its own signature, which the route checks (Beckn).

An authenticator is ``fn(request) -> Principal | None`` (or a coroutine of it): ``None``
means "no credentials of my kind here"; credentials that are present but wrong (bad
signature, expired, wrong audience, forged cookie) raise :class:`Unauthenticated`, so
a bad token is never silently treated as no token.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from fastapi import Depends, FastAPI, Request

from kernel.problems import Problem, RetryLater

PrincipalKind = Literal["participant", "consumer", "operator"]
Via = Literal["token", "session", "signature"]
Authenticator = Callable[[Request], "Principal | Awaitable[Principal | None] | None"]

DECLARATION_ATTRIBUTE = "__ies_access__"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the authenticator proved it.

    ``organisation`` is what resource ownership is checked against: a participant's own
    name/host for a machine, the participant an operator works for, the consumer's
    organisation (their distribution company) for a person.
    """

    kind: PrincipalKind
    subject: str
    organisation: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    via: Via = "token"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class Unauthenticated(Problem):
    slug = "unauthenticated"
    title = "The caller is not authenticated"
    status = 401
    beckn_code = "40100"
    description = (
        "No credentials, or credentials that failed: a bad, expired or wrong-audience token, "
        "or a forged or expired session. Get a token (POST /oauth/token on the directory, "
        "private_key_jwt) or sign in, then retry."
    )
    challenge: ClassVar[str] = 'Bearer realm="ies"'

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


class Forbidden(Problem):
    slug = "forbidden"
    title = "The caller may not do this"
    status = 403
    beckn_code = "40300"
    description = (
        "The caller is authenticated but lacks the scope this route requires, is the wrong "
        "kind of caller, or the resource belongs to another organisation."
    )


class RateLimited(RetryLater):
    slug = "rate-limited"
    title = "Too many requests"
    status = 429
    beckn_code = "42900"
    description = (
        "The caller (a participant, or an address) spent its request budget; retry after "
        "the number of seconds in the Retry-After header."
    )


@dataclass(frozen=True)
class Declaration:
    """What a route declared: ``kind`` is "requires", "public" or "signed"."""

    kind: Literal["requires", "public", "signed"]
    value: str
    kinds: tuple[str, ...] = ()


def _declared(fn: Any, declaration: Declaration) -> Any:
    setattr(fn, DECLARATION_ATTRIBUTE, declaration)
    return fn


def declaration_of(call: Any) -> Declaration | None:
    found = getattr(call, DECLARATION_ATTRIBUTE, None)
    return found if isinstance(found, Declaration) else None


def install_authenticator(app: FastAPI, authenticator: Authenticator) -> None:
    """Add a way of proving who the caller is; tried in installation order."""
    authenticators: list[Authenticator] = getattr(app.state, "authenticators", None) or []
    authenticators.append(authenticator)
    app.state.authenticators = authenticators


async def authenticate(request: Request) -> Principal | None:
    """The principal behind the request, once per request; ``None`` if nobody."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal: Principal | None = None
    for authenticator in getattr(request.app.state, "authenticators", None) or []:
        result = authenticator(request)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            principal = result
            break
    request.state.principal = principal
    return principal


def requires(scope: str, *, kinds: Iterable[PrincipalKind] = ("participant",)) -> Any:
    """A dependency: the authenticated principal, of one of ``kinds``, holding ``scope``.

    Use it as ``who: Annotated[Principal, requires("registry:write")]`` when the route
    needs to know who called (to check ownership), or in ``dependencies=[...]``.
    """
    allowed = tuple(kinds)

    async def _requires(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal is None:
            raise Unauthenticated("this route needs credentials: a bearer token or a session")
        if principal.kind not in allowed:
            raise Forbidden(f"a {principal.kind} may not call this route")
        if not principal.has_scope(scope):
            raise Forbidden(f"this route needs the scope {scope!r}", required_scope=scope)
        buckets = getattr(request.app.state, "participant_buckets", None)
        if buckets is not None:  # kernel.ratelimit: each caller's own budget
            wait = buckets.take(f"{principal.kind}:{principal.subject}")
            if wait > 0:
                raise RateLimited.waiting(f"{principal.subject} sent too many requests", wait)
        return principal

    return Depends(_declared(_requires, Declaration("requires", scope, allowed)))


def public(reason: str) -> Any:
    """Declare a route deliberately open to anyone; ``reason`` says why."""
    if not reason.strip():
        raise ValueError("a public route must say why it is open")

    def _public() -> None:
        return None

    return Depends(_declared(_public, Declaration("public", reason)))


def signed(scheme: str) -> Any:
    """Declare a route whose body carries a signature the route itself verifies."""

    def _signed() -> None:
        return None

    return Depends(_declared(_signed, Declaration("signed", scheme)))


def check_organisation(principal: Principal, owner: str, *, what: str = "resource") -> None:
    """Refuse (403) a principal acting on another organisation's resource."""
    if principal.organisation != owner:
        raise Forbidden(f"this {what} belongs to another organisation")


def declared_routes(app: FastAPI) -> Iterator[tuple[str, str, list[Declaration]]]:
    """``(methods, path, declarations)`` for every API route of ``app``, included routers
    walked through (FastAPI >= 0.13x keeps them as ``_IncludedRouter`` entries whose
    effective routes carry the router-level dependencies too)."""
    from fastapi import routing

    walk = getattr(routing, "iter_route_contexts", None)
    contexts: list[Any] = list(walk(app.routes) if walk is not None else app.routes)
    for context in contexts:
        original = getattr(context, "original_route", context)
        if not isinstance(original, routing.APIRoute):
            continue  # the OpenAPI document and docs pages: Starlette routes, public
        methods = ",".join(sorted(getattr(context, "methods", None) or ()))
        path = getattr(context, "path", None) or original.path
        dependant = getattr(context, "dependant", None) or original.dependant
        yield methods, path, list(route_declarations(dependant))


def route_declarations(dependant: Any) -> Iterator[Declaration]:
    """Every access declaration in a route's dependency tree (for the declaration test)."""
    for sub in getattr(dependant, "dependencies", ()):
        declaration = declaration_of(getattr(sub, "call", None))
        if declaration is not None:
            yield declaration
        yield from route_declarations(sub)


def document_access(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Mark each route of ``schema`` (the app's OpenAPI document) with the access it
    declared (``x-ies-access``), and each ``requires`` route with its 401/403 problem
    answers, so clients and fuzzers know what a door needs.

    (No OpenAPI ``security`` requirement: fuzzers then treat the Authorization header as
    a schema field and count a valid token sent with a mutated case as "accepted
    negative data"; ``x-ies-access`` names the scope instead.)"""
    from kernel.problems import problem_responses

    paths = schema.get("paths", {})
    for methods, path, found in declared_routes(app):
        if len(found) != 1:
            continue
        declaration = found[0]
        for method in methods.lower().split(","):
            operation = paths.get(path, {}).get(method)
            if operation is None:
                continue
            operation["x-ies-access"] = {"kind": declaration.kind, "value": declaration.value}
            if declaration.kind == "requires":
                responses = operation.setdefault("responses", {})
                for status, body in problem_responses(401, 403).items():
                    responses.setdefault(str(status), body)
    return schema
