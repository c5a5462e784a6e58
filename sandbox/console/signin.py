"""The console's sign-in (issue 15): one-time codes and passkeys instead of the persona
switch. A session maps to one persona key; every page outside sign-in needs a session,
and a persona's pages (``/consumer/{key}/…``, ``/discom/{name}/…``, ``/regulator/…``,
``/p2p``) answer 403 to anyone else.

* Sessions are opaque ids in an HttpOnly, SameSite=Strict cookie (Secure on TLS); the
  server keeps their digest, expiry and anti-forgery token (credentials.signin).
* Every unsafe method carries an anti-forgery token: the session's (synchronizer
  token), or before sign-in one bound to a visit cookie, so a cross-site form can
  neither act as a signed-in person nor sign them in as someone else (login CSRF).
* Security headers on every response: a CSP without inline scripts or styles, frame
  denial, nosniff, no referrer.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.middleware.base import BaseHTTPMiddleware

from credentials.signin.api import (
    SESSION_COOKIE,
    PrincipalOf,
    clear_session_cookie,
    session_authenticator,
    set_session_cookie,
)
from credentials.signin.errors import CsrfRefused
from credentials.signin.models import AccountKind, new_token
from credentials.signin.service import Account, Session, SignIn
from kernel.access import (
    Forbidden,
    Principal,
    Unauthenticated,
    authenticate,
    install_authenticator,
    public,
    requires,
)
from kernel.problems import Problem
from kernel.service import problem_response
from sandbox.console.personas import Persona
from sandbox.console.signin_inbox import address_of
from sandbox.console.view import render

VISIT_COOKIE = "ies_visit"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SECURITY_HEADERS = {
    # No inline script or style anywhere: the pages' data travels in
    # <script type="application/json"> blocks that console.js reads, which CSP allows.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

FULL_SCOPES = frozenset({"console", "account"})
ENROL_SCOPES = frozenset({"account"})  # an operator's invitation: add a passkey, nothing else


def home_of(persona: Persona) -> str:
    if persona.kind == "consumer":
        return f"/consumer/{persona.key}/consents"
    if persona.kind == "discom":
        return f"/discom/{persona.key}"
    if persona.kind == "regulator":
        return "/regulator/filings"
    if persona.kind == "p2p":
        return "/p2p"
    if persona.kind == "installer":
        return "/installer"
    return "/network"


def owner_of(path: str) -> str | None:
    """The persona key a page belongs to, from its path (None: any signed-in person)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] in ("consumer", "discom"):
        return parts[1]
    if parts and parts[0] in ("regulator", "p2p", "installer"):
        return parts[0]
    return None


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _session(request: Request) -> Session | None:
    found: Session | None = getattr(request.state, "signin_session", None)
    return found


# ---------------------------------------------------------------------- authenticator


def persona_principal(personas: dict[str, Persona]) -> PrincipalOf:
    """A session's principal on the console: its persona (subject = persona key,
    organisation = the participant the persona belongs to); an operator's invitation
    session holds only the "account" scope (add a passkey), not "console"."""

    def principal_of(account: Account, session: Session) -> Principal | None:
        persona = personas.get(account.subject)
        if persona is None:
            return None
        return Principal(
            kind=account.kind,
            subject=persona.key,
            organisation=persona.member,
            roles=frozenset({persona.kind}),
            scopes=FULL_SCOPES if session.stage == "full" else ENROL_SCOPES,
            via="session",
        )

    return principal_of


# ---------------------------------------------------------------------- CSRF


def _visit_token(request: Request, signin: SignIn) -> str | None:
    visit = request.cookies.get(VISIT_COOKIE)
    return signin.csrf_for_visit(visit) if visit else None


async def _offered_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches it: the route reads the same form
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request, expected: str | None) -> None:
    if request.method in SAFE_METHODS:
        return
    offered = await _offered_token(request)
    if not expected or not offered or not hmac.compare_digest(offered, expected):
        raise CsrfRefused("the anti-forgery token is missing or wrong; reload the page")


async def persona_pages(request: Request) -> None:
    """Added to every console page after ``requires("console")``: the page must be the
    signed-in persona's own, and an unsafe method must carry the session's token."""
    principal = await authenticate(request)
    if principal is None:  # requires() ran first; this is belt and braces
        raise Unauthenticated("sign in first")
    owner = owner_of(request.url.path)
    if owner is not None and owner != principal.subject:
        raise Forbidden("this page belongs to another persona")
    session = _session(request)
    await check_csrf(request, session.csrf if session else None)


async def account_csrf(request: Request) -> None:
    """The session's token on the account routes (after ``requires`` resolved it)."""
    session = _session(request)
    await check_csrf(request, session.csrf if session else None)


async def signout_csrf(request: Request) -> None:
    """Signing out needs the session's token (or, with no live session, the visit's)."""
    signin: SignIn = request.app.state.signin
    token = request.cookies.get(SESSION_COOKIE)
    session = signin.session(token) if token else None
    await check_csrf(request, session.csrf if session else _visit_token(request, signin))


async def presession_csrf(request: Request) -> None:
    """The sign-in forms' token, bound to the visit cookie (login CSRF)."""
    signin: SignIn = request.app.state.signin
    await check_csrf(request, _visit_token(request, signin))


# ---------------------------------------------------------------------- pages


router = APIRouter()


def _render(request: Request, template: str, data: dict[str, Any], **view: Any) -> Response:
    response = render(request, template, data, persona=view.pop("persona", None), view=view)
    response.headers["Cache-Control"] = "no-store"
    return response


def _with_visit(request: Request) -> tuple[str, str | None]:
    """The visit id (a new one if the browser has none) and its anti-forgery token."""
    signin: SignIn = request.app.state.signin
    visit = request.cookies.get(VISIT_COOKIE)
    fresh = None
    if not visit:
        visit = fresh = new_token()
    request.state.csrf_token = signin.csrf_for_visit(visit)
    return request.state.csrf_token, fresh


def _set_visit(request: Request, response: Response, fresh: str | None) -> Response:
    if fresh:
        response.set_cookie(
            VISIT_COOKIE, fresh, httponly=True, samesite="strict", secure=_secure(request)
        )
    return response


def _signed_in(request: Request, session: Session, target: str) -> Response:
    assert session.token is not None
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, session)
    return response


def _set_session_cookie(request: Request, response: Response, session: Session) -> None:
    set_session_cookie(request, response, session, request.app.state.signin)


def _next_for(request: Request, session: Session) -> str:
    personas: dict[str, Persona] = request.app.state.console.personas
    if session.stage == "enrol":
        return "/account/passkeys"
    return home_of(personas[session.account.subject])


@router.get(
    "/signin",
    summary="Sign in: a one-time code (consumers) or a passkey",
    dependencies=[public("the sign-in page itself")],
)
def signin_page(request: Request) -> Response:
    _, fresh = _with_visit(request)
    return _set_visit(request, _render(request, "signin.html", {"step": "who"}), fresh)


@router.post(
    "/signin/code",
    summary="Send a one-time code to the consumer's phone (the sandbox inbox)",
    dependencies=[public("asks for a code; the code goes to the account's own inbox")],
)
def send_code(
    request: Request,
    who: Annotated[str, Form(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._-]+$")],
    _csrf: Annotated[None, Depends(presession_csrf)] = None,
) -> Response:
    signin: SignIn = request.app.state.signin
    signin.send_code(who)  # says nothing about whether `who` exists
    return RedirectResponse(f"/signin/code?who={who}", status_code=303)


@router.get(
    "/signin/code",
    summary="Enter the one-time code",
    dependencies=[public("the code entry page")],
)
def code_page(
    request: Request,
    who: Annotated[str, Query(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._-]+$")],
) -> Response:
    _, fresh = _with_visit(request)
    page = _render(request, "signin.html", {"step": "code", "who": who})
    return _set_visit(request, page, fresh)


@router.post(
    "/signin/verify",
    summary="Sign in with the one-time code",
    dependencies=[public("the code is the credential this route checks")],
)
def verify_code(
    request: Request,
    who: Annotated[str, Form(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._-]+$")],
    code: Annotated[str, Form(min_length=1, max_length=12)],
    _csrf: Annotated[None, Depends(presession_csrf)] = None,
) -> Response:
    signin: SignIn = request.app.state.signin
    session = signin.sign_in_with_code(who, code)
    return _signed_in(request, session, _next_for(request, session))


class PasskeyAnswer(BaseModel):
    challenge_id: str = Field(max_length=100)
    credential: dict[str, Any]


@router.post(
    "/signin/passkey/options",
    summary="A WebAuthn challenge to sign in with a passkey",
    dependencies=[public("issues a challenge; proves nothing by itself")],
)
def passkey_options(
    request: Request, _csrf: Annotated[None, Depends(presession_csrf)] = None
) -> JSONResponse:
    signin: SignIn = request.app.state.signin
    challenge_id, options = signin.authentication_options()
    return JSONResponse({"challenge_id": challenge_id, "options": options})


@router.post(
    "/signin/passkey",
    summary="Sign in with a passkey's assertion",
    dependencies=[public("the passkey's assertion is the credential this route checks")],
)
def passkey_signin(
    request: Request,
    answer: Annotated[PasskeyAnswer, Body()],
    _csrf: Annotated[None, Depends(presession_csrf)] = None,
) -> JSONResponse:
    signin: SignIn = request.app.state.signin
    session = signin.sign_in_with_passkey(answer.challenge_id, json.dumps(answer.credential))
    response = JSONResponse({"next": _next_for(request, session)})
    _set_session_cookie(request, response, session)
    return response


@router.post(
    "/signout",
    summary="Sign out: the session ends on the server, the cookie is cleared",
    dependencies=[public("ends whatever session the cookie names; needs its CSRF token")],
)
def signout(request: Request, _csrf: Annotated[None, Depends(signout_csrf)] = None) -> Response:
    signin: SignIn = request.app.state.signin
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        signin.sign_out(token)
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/account/passkeys", summary="My passkeys")
def passkeys_page(
    request: Request,
    who: Annotated[Principal, requires("account", kinds=("consumer", "operator"))],
) -> Response:
    signin: SignIn = request.app.state.signin
    personas: dict[str, Persona] = request.app.state.console.personas
    session = _session(request)
    keys = [
        {
            "created_at": p.created_at.isoformat(timespec="seconds"),
            "last_used_at": p.last_used_at.isoformat(timespec="seconds")
            if p.last_used_at
            else None,
        }
        for p in signin.passkeys(who.subject)
    ]
    data = {
        "subject": who.subject,
        "passkeys": keys,
        "enrolling": session is not None and session.stage == "enrol",
    }
    return _render(request, "passkeys.html", data, persona=personas[who.subject])


@router.post("/account/passkeys/options", summary="A WebAuthn challenge to add a passkey")
def add_passkey_options(
    request: Request,
    who: Annotated[Principal, requires("account", kinds=("consumer", "operator"))],
    _csrf: Annotated[None, Depends(account_csrf)] = None,
) -> JSONResponse:
    session = _session(request)
    assert session is not None
    signin: SignIn = request.app.state.signin
    challenge_id, options = signin.registration_options(session)
    return JSONResponse({"challenge_id": challenge_id, "options": options})


@router.post("/account/passkeys", summary="Register a passkey (the authenticator's attestation)")
def add_passkey(
    request: Request,
    answer: Annotated[PasskeyAnswer, Body()],
    who: Annotated[Principal, requires("account", kinds=("consumer", "operator"))],
    _csrf: Annotated[None, Depends(account_csrf)] = None,
) -> JSONResponse:
    session = _session(request)
    assert session is not None
    signin: SignIn = request.app.state.signin
    upgraded = signin.register_passkey(session, answer.challenge_id, json.dumps(answer.credential))
    current = upgraded or session
    response = JSONResponse(
        {"next": _next_for(request, current) if upgraded else "/account/passkeys"}
    )
    if upgraded is not None:
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            signin.sign_out(old)  # the invitation's session ends; a full one replaces it
        _set_session_cookie(request, response, upgraded)
    return response


# ---------------------------------------------------------------------- the app's side


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _wants_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and request.query_params.get("format") != "json"
        and accept.split(",")[0].strip().startswith("text/html")
    )


def install_signin(app: FastAPI, signin: SignIn, personas: dict[str, Persona]) -> None:
    """Mount sign-in, its authenticator, the 401-to-sign-in redirect for browsers and
    the security headers. The pages' own guard is ``persona_pages`` (see app.py)."""
    app.state.signin = signin
    for persona in personas.values():
        kind: AccountKind = "consumer" if persona.kind == "consumer" else "operator"
        signin.enrol(persona.key, kind, persona.member, address_of(persona.key))
    install_authenticator(app, session_authenticator(signin, persona_principal(personas)))
    app.include_router(router)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(Unauthenticated)
    async def _to_signin(request: Request, exc: Problem) -> Response:
        if _wants_page(request):
            response: Response = RedirectResponse("/signin", status_code=303)
        else:
            response = problem_response(exc, request.url.path)
        if request.cookies.get(SESSION_COOKIE):
            clear_session_cookie(response)
        return response
