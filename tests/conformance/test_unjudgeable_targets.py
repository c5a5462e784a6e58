"""A target that is down, slow or answers garbage gets a clear report line, never a
traceback, and the run stays within its bound."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from sandbox.conformance.kit import RunOptions, conform, items_for
from sandbox.conformance.model import Report, Status
from sandbox.conformance.receiver import free_port
from sandbox.conformance.reports import junit_xml, markdown


def _serve(app: FastAPI) -> tuple[str, uvicorn.Server, threading.Thread]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture
def garbage() -> Iterator[str]:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str, request: Request) -> PlainTextResponse:
        return PlainTextResponse("<html>definitely not JSON", status_code=200)

    url, server, thread = _serve(app)
    yield url
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def slow() -> Iterator[str]:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str) -> PlainTextResponse:
        if path:
            await asyncio.sleep(3)
        return PlainTextResponse("ok")

    url, server, thread = _serve(app)
    yield url
    server.should_exit = True
    thread.join(5)


def _no_traceback(report: Report) -> None:
    for outcome in report.outcomes:
        assert "Traceback" not in outcome.detail
        assert outcome.detail.strip()
    junit_xml(report)
    markdown(report)


def test_a_target_that_is_down_gets_one_clear_line_per_item() -> None:
    down = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    report = conform(
        RunOptions(target=down, role="bpp", directory=down, subscriber_id="down.example", timeout=1)
    )
    assert time.monotonic() - started < 5
    assert len(report.outcomes) == len(items_for("bpp"))
    assert {o.status for o in report.outcomes} == {Status.ERROR}
    assert all("unreachable" in o.detail for o in report.outcomes)
    assert not report.passed
    _no_traceback(report)


def test_a_target_answering_garbage_fails_or_errors_with_reasons(garbage: str) -> None:
    started = time.monotonic()
    report = conform(
        RunOptions(
            target=garbage,
            role="bpp",
            directory=garbage,
            subscriber_id="garbage.example",
            timeout=1,
            callback_wait=0.5,
        )
    )
    assert time.monotonic() - started < 30
    assert not report.passed
    assert all(o.status in (Status.FAIL, Status.ERROR) for o in report.outcomes)
    assert any("not JSON" in o.detail for o in report.outcomes)
    _no_traceback(report)


def test_a_slow_target_is_bounded_per_item_and_overall(slow: str) -> None:
    started = time.monotonic()
    report = conform(
        RunOptions(
            target=slow,
            role="directory",
            directory=slow,
            subscriber_id="slow.example",
            timeout=0.5,
            overall_seconds=4,
        )
    )
    assert time.monotonic() - started < 12
    assert not report.passed
    assert all(o.status is Status.ERROR for o in report.outcomes)
    assert any("timeout" in o.detail or "run's bound" in o.detail for o in report.outcomes)
    _no_traceback(report)
