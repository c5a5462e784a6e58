"""Sign-in as a JSON API any service can mount (the consent manager does; the console
has HTML pages of its own over the same service), and the session authenticator for
``kernel.access``.

Anti-forgery: every unsafe call with a session carries ``X-CSRF-Token`` (the session's
synchronizer token, returned at sign-in); a cross-site form cannot set a header, and no
CORS is allowed. The sign-in calls themselves accept only ``application/json``, which a
cross-site form cannot send either, so nobody is signed in behind their back.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from credentials.signin.errors import CsrfRefused
from credentials.signin.service import Account, Session, SignIn
from kernel.access import (
    Forbidden,
    Principal,
    PrincipalKind,
    Unauthenticated,
    install_authenticator,
    public,
    requires,
)
from kernel.problems import InvalidRequest, problem_responses

SESSION_COOKIE = "ies_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PrincipalOf = Callable[[Account, Session], Principal | None]


def set_session_cookie(
    request: Request, response: Response, session: Session, signin: SignIn
) -> None:
    """HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it),
    Secure on TLS; the value is an opaque id whose digest the server keeps."""
    assert session.token is not None
    max_age = max(60, int((session.expires_at - signin.clock()).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def session_authenticator(signin: SignIn, principal_of: PrincipalOf) -> Any:
    """fn(request) -> Principal | None: no cookie is nobody; a cookie naming no live
    session (forged, ended, expired) is refused (401), never treated as nobody."""

    def authenticate_session(request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        session = signin.session(token)
        principal = principal_of(session.account, session) if session else None
        if session is None or principal is None:
            raise Unauthenticated("the session cookie names no live session; sign in again")
        request.state.signin_session = session
        request.state.csrf_token = session.csrf
        return principal

    return authenticate_session


def session_csrf(request: Request) -> None:
    """A dependency for unsafe routes reached with a session: the header must match."""
    if request.method in SAFE_METHODS:
        return
    session: Session | None = getattr(request.state, "signin_session", None)
    if session is None:
        return  # not a session caller (a token, a signature): CSRF does not apply
    offered = request.headers.get(CSRF_HEADER, "")
    if not offered or not hmac.compare_digest(offered, session.csrf):
        raise CsrfRefused("the X-CSRF-Token header is missing or wrong")


def _json_only(request: Request) -> None:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise InvalidRequest("sign-in calls take application/json only")


class Who(BaseModel):
    model_config = ConfigDict(extra="forbid")
    who: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._:-]+$")


class CodeAnswer(Who):
    code: str = Field(min_length=1, max_length=12)


class PasskeyAnswer(BaseModel):
    challenge_id: str = Field(max_length=100)
    credential: dict[str, Any]


class SignedIn(BaseModel):
    subject: str
    kind: str
    stage: str
    csrf_token: str
    expires_at: str


def _signed_in(request: Request, session: Session, signin: SignIn) -> JSONResponse:
    body = SignedIn(
        subject=session.account.subject,
        kind=session.account.kind,
        stage=session.stage,
        csrf_token=session.csrf,
        expires_at=session.expires_at.isoformat(),
    )
    response = JSONResponse(body.model_dump())
    set_session_cookie(request, response, session, signin)
    return response


def signin_api(prefix: str = "/signin") -> APIRouter:
    """The JSON sign-in routes; the app must have ``app.state.signin``."""
    # Every refusal is a problem document (bad input 422, wrong code 401, locked 429...).
    refusals = problem_responses(400, 401, 403, 409, 413, 422, 429)
    router = APIRouter(prefix=prefix, tags=["sign-in"], responses=refusals)
    open_ = public("sign-in: the one-time code or passkey is the credential it checks")

    @router.post("/code", status_code=202, dependencies=[open_, Depends(_json_only)],
                 summary="Send a one-time code to the account's own message channel")  # fmt: skip
    def send_code(request: Request, body: Annotated[Who, Body()]) -> dict[str, str]:
        signin: SignIn = request.app.state.signin
        signin.send_code(body.who)  # the same answer whether or not the account exists
        return {"status": "sent if the account exists"}

    @router.post("/verify", dependencies=[open_, Depends(_json_only)],
                 response_model=SignedIn, summary="Sign in with the one-time code")  # fmt: skip
    def verify(request: Request, body: Annotated[CodeAnswer, Body()]) -> JSONResponse:
        signin: SignIn = request.app.state.signin
        return _signed_in(request, signin.sign_in_with_code(body.who, body.code), signin)

    @router.post("/passkey/options", dependencies=[open_, Depends(_json_only)],
                 summary="A WebAuthn challenge to sign in with a passkey")  # fmt: skip
    def passkey_options(request: Request) -> dict[str, str]:
        signin: SignIn = request.app.state.signin
        challenge_id, options = signin.authentication_options()
        return {"challenge_id": challenge_id, "options": options}

    @router.post("/passkey", dependencies=[open_, Depends(_json_only)],
                 response_model=SignedIn, summary="Sign in with a passkey's assertion")  # fmt: skip
    def passkey(request: Request, body: Annotated[PasskeyAnswer, Body()]) -> JSONResponse:
        signin: SignIn = request.app.state.signin
        session = signin.sign_in_with_passkey(body.challenge_id, json.dumps(body.credential))
        return _signed_in(request, session, signin)

    @router.post("/out", status_code=204, summary="Sign out: the session ends on the server")
    def sign_out(
        request: Request,
        _who: Annotated[Principal, requires("account", kinds=("consumer", "operator"))],
        _csrf: Annotated[None, Depends(session_csrf)] = None,
    ) -> Response:
        signin: SignIn = request.app.state.signin
        signin.sign_out(request.cookies.get(SESSION_COOKIE, ""))
        response = Response(status_code=204)
        clear_session_cookie(response)
        return response

    return router


def install_signin_api(app: FastAPI, signin: SignIn, principal_of: PrincipalOf) -> None:
    """Mount the JSON sign-in routes and the session authenticator on a service."""
    app.state.signin = signin
    install_authenticator(app, session_authenticator(signin, principal_of))
    app.include_router(signin_api())


def requires_own_consumer(
    scope: str, *, participants: bool = True, param: str = "consumer_id"
) -> Any:
    """A consumer's own door: the consumer signed in (their session, its CSRF header on
    unsafe calls) and only for the ``{consumer_id}`` in the path, or, when
    ``participants``, a participant holding ``scope`` (the console acting for the person
    it signed in). Another consumer's resource answers 403 and nothing is read or done."""
    kinds: tuple[PrincipalKind, ...] = (
        ("participant", "consumer") if participants else ("consumer",)
    )

    declared = requires(scope, kinds=kinds)  # a default, not an annotation: closures

    def _own(request: Request, who: Principal = declared) -> Principal:
        if who.kind == "consumer" and who.subject != request.path_params.get(param):
            raise Forbidden("this belongs to another consumer")
        session_csrf(request)
        return who

    return Depends(_own)
