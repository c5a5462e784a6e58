"""The ASGI shell every building block's app is made of.

It translates :class:`~kernel.problems.Problem` and validation failures into
problem details once, limits body size, logs every request with its id, and serves
``/healthz`` and ``/problems/{slug}``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.access import document_access, public
from kernel.problems import (
    BodyTooLarge,
    InvalidRequest,
    NotFound,
    NulInText,
    Problem,
    problem_responses,
    problem_types,
)
from kernel.ratelimit import install_rate_limits_from
from kernel.settings import ServiceSettings

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("kernel.service")


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    # A problem may carry response headers (401: WWW-Authenticate, 429: Retry-After).
    headers: dict[str, str] | None = getattr(problem, "headers", None)
    return JSONResponse(
        problem.to_dict(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        errors.append(
            {
                "location": "/".join(str(part) for part in error.get("loc", ())),
                "message": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.status >= 500:
            log.error("problem", slug=exc.slug, detail=exc.detail)
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        problem = InvalidRequest(f"{len(errors)} validation error(s)", errors=errors)
        return problem_response(problem, request.url.path)

    @app.exception_handler(ValidationError)
    async def _invalid_domain(request: Request, exc: ValidationError) -> JSONResponse:
        # A domain model refused a value the edge model let through: still the caller's
        # error (422), never a 500.
        errors = [
            {"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        problem = InvalidRequest(f"{len(errors)} validation error(s)", errors=errors)
        return problem_response(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI turns any failure while reading a body into a bare 400; ours say why.
        if isinstance(exc.__cause__, _NulInBody):
            return problem_response(
                NulInText("the body contains a NUL character"), request.url.path
            )
        if isinstance(exc.__cause__, _BodyLimitExceeded):
            return problem_response(BodyTooLarge("the body exceeds the limit"), request.url.path)
        if exc.status_code == 404:
            return problem_response(NotFound(str(exc.detail)), request.url.path)
        body = {"type": "about:blank", "title": str(exc.detail), "status": exc.status_code}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; RFC 9110 §15.5.6
            # wants every method the resource supports.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(
            body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(Problem("the service failed; see its log"), request.url.path)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app fully matches for this path (asked of the
    routes themselves, so included routers answer too)."""
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


class RequestContextMiddleware:
    """Binds a request id to the logs, enforces the body limit, logs one line a request.

    Pure ASGI (not BaseHTTPMiddleware) so streamed uploads stay streamed.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            response = problem_response(
                BodyTooLarge(f"the body exceeds {self.max_body_bytes} bytes"), scope["path"]
            )
            await response(scope, receive, send)
            return
        target = scope.get("query_string", b"") + scope.get("raw_path", b"")
        if b"%00" in target or b"\x00" in target or "\x00" in scope["path"]:
            response = problem_response(
                NulInText("the URL contains a NUL character"), scope["path"]
            )
            await response(scope, receive, send)
            return
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        received = 0
        limit = self.max_body_bytes

        responded = False
        tail = b""  # the end of the previous chunk: a \u0000 may straddle two chunks

        async def counting_receive() -> Message:
            nonlocal received, tail
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > limit:
                    raise _BodyLimitExceeded
                window = tail + body
                if b"\x00" in window or b"\\u0000" in window:
                    raise _NulInBody
                tail = window[-5:]
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                responded = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, counting_receive, send_with_id)
        except _BodyLimitExceeded:
            response = problem_response(
                BodyTooLarge(f"the body exceeds {limit} bytes"), scope["path"]
            )
            await response(scope, receive, send_with_id)
        except _NulInBody:
            response = problem_response(
                NulInText("the body contains a NUL character"), scope["path"]
            )
            await response(scope, receive, send_with_id)
        except Exception:
            # Logged here, where the request id is still bound; the client learns nothing.
            log.exception("unhandled error", path=scope.get("path"))
            if responded:
                raise
            response = problem_response(Problem("the service failed; see its log"), scope["path"])
            await response(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class _BodyLimitExceeded(Exception):
    pass


class _NulInBody(Exception):
    pass


def _problem_docs_router() -> APIRouter:
    router = APIRouter(
        tags=["problems"],
        responses=problem_responses(404),
        dependencies=[public("documentation of the problem types every answer may carry")],
    )

    @router.get("/problems", summary="Every problem type this service can return")
    def list_problem_types() -> list[dict[str, Any]]:
        return [_describe(cls) for cls in problem_types().values()]

    @router.get("/problems/{slug}", summary="What one problem type means")
    def describe_problem_type(slug: str) -> dict[str, Any]:
        cls = problem_types().get(slug)
        if cls is None:
            raise NotFound(f"no problem type {slug!r}")
        return _describe(cls)

    return router


def _describe(cls: type[Problem]) -> dict[str, Any]:
    return {
        "type": f"/problems/{cls.slug}",
        "title": cls.title,
        "status": cls.status,
        "description": cls.description,
    }


def create_service_app(
    *,
    title: str,
    description: str,
    version: str,
    routers: Sequence[APIRouter],
    max_body_bytes: int,
    lifespan: Any = None,
    settings: ServiceSettings | None = None,
) -> FastAPI:
    """A FastAPI app with the stack's error, logging and health conventions.

    With the service's ``settings``, the abuse limits they name are in force from the
    first request (``kernel.ratelimit``: per address at the edge, per participant in
    ``requires``); every block's ``create_app`` passes its own, so a service run on its
    own is limited like the sandbox's. A host may install other limits over them."""
    # The edge answers 400 (a NUL anywhere) and 413 (too large) on every route, before any
    # route runs, and 429 wherever abuse limits are in force: document them once for all,
    # so clients and schemathesis expect them.
    edge = (400, 413, 429) if settings is not None else (400, 413)
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        responses=problem_responses(*edge),
    )
    install_problem_handlers(app)
    for router in routers:
        app.include_router(router)
    app.include_router(_problem_docs_router())

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness",
        dependencies=[public("liveness probe; reveals nothing")],
    )
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if settings is not None:
        # Inside the request context: a refused request is logged with its request id.
        install_rate_limits_from(app, settings)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=max_body_bytes)
    _document_access_in_openapi(app)
    return app


def _document_access_in_openapi(app: FastAPI) -> None:
    """The OpenAPI document names what each route's access declaration needs (routers
    are often added after the app is made, so this runs when the document is built)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_access(app, build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class LazyApp:
    """An ASGI app built on its first call, so ``uvicorn pkg.app:app`` works while no
    module reads the environment at import time (settings are read at start-up)."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            self._app = self._factory()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
