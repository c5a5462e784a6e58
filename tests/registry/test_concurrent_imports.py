"""Two bulk imports that map the same identifiers in opposite orders, at once.

On PostgreSQL each one's COPY into the legacy-identifier index waits for a key the
other inserted first, and each holds a key the other needs: a deadlock, and the server
aborts one of them (SQLSTATE 40P01). The victim's batch was rolled back whole, so it
is sent again (a bounded number of times, after a random pause) and then finds the
other's identities: both imports succeed, every identifier names one identity, and
the two reports add up exactly. On SQLite writers queue instead; the same test must
give the same answers there, with nothing retried.
"""

from __future__ import annotations

import io
import logging
import os
import threading

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from kernel.database import create_db_engine
from registry import service
from registry.ownership import WriterScope
from registry.rows import parse_rows, read_ndjson
from registry.store import IdentityRow, LegacyIdRow, RelationRow
from tests.registry.test_overlapped_import import _count

POSTGRES = os.environ.get("IES_TEST_BACKEND", "sqlite") == "postgres"
CONNECTIONS = 3000
MSEDCL = WriterScope.of_discoms({"MSEDCL"}, "msedcl.test")


def _rows(order: range) -> str:
    return "".join(
        f'{{"type":"connection","legacy_scheme":"sap_isu_installation","legacy_scope":"MSEDCL",'
        f'"legacy_id":"I{n:06d}","state":"IN-MH","discom":"MSEDCL",'
        f'"parent.distribution_transformer":"gis_asset:MSEDCL:DT-1"}}\n'
        for n in order
    )


def _import(url: str, text: str, atomic: bool, start: threading.Barrier) -> service.ImportReport:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            start.wait()
            return service.import_rows(
                session, parse_rows(read_ndjson(io.StringIO(text))), source="connections.ndjson",
                fmt="ndjson", atomic=atomic, batch_size=CONNECTIONS, scope=MSEDCL,
            )  # fmt: skip
    finally:
        engine.dispose()


def _race(url: str, atomic: bool) -> list[service.ImportReport]:
    dt = '{"type":"distribution_transformer","legacy_scheme":"gis_asset",'
    dt += '"legacy_scope":"MSEDCL","legacy_id":"DT-1","state":"IN-MH","discom":"MSEDCL"}\n'
    _import(url, dt, False, threading.Barrier(1))
    texts = [_rows(range(CONNECTIONS)), _rows(range(CONNECTIONS - 1, -1, -1))]
    start = threading.Barrier(2)
    reports: list[service.ImportReport] = []
    errors: list[BaseException] = []

    def run(text: str) -> None:
        try:
            reports.append(_import(url, text, atomic, start))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return reports


@pytest.mark.parametrize("atomic", [False, True], ids=["batches", "atomic"])
def test_two_imports_in_opposite_orders_both_succeed_exactly(
    make_database, caplog: pytest.LogCaptureFixture, atomic: bool
) -> None:
    caplog.set_level(logging.WARNING, logger="registry.service")
    retried = False
    # A deadlock needs the two COPYs to overlap; a run in which one import happened to
    # finish first proves nothing about retries, so the race is run again (at most 8).
    # Every race's results are checked exactly, deadlock or not.
    for _ in range(8):
        caplog.clear()
        url = make_database("registry:migrations")
        reports = _race(url, atomic)
        for report in reports:
            assert report.status == "completed", report.errors
            assert (report.rows, report.failed) == (CONNECTIONS, 0), report.errors
            assert report.created + report.unchanged == CONNECTIONS
        assert sum(r.created for r in reports) == CONNECTIONS
        assert _count(url, select(func.count()).select_from(IdentityRow)) == CONNECTIONS + 1
        open_keys = select(func.count(func.distinct(LegacyIdRow.legacy_key)))
        assert _count(url, open_keys) == CONNECTIONS + 1
        assert _count(url, select(func.count()).select_from(LegacyIdRow)) == CONNECTIONS + 1
        assert _count(url, select(func.count()).select_from(RelationRow)) == CONNECTIONS
        retried = any("retried after 40P01" in r.getMessage() for r in caplog.records)
        if retried or not POSTGRES:
            break
    if not POSTGRES:
        assert not retried  # SQLite has no SQLSTATE: it never retries
        return
    if not retried:
        # The scheduler decides whether two COPYs interleave: eight exact races without
        # one deadlock leave the retry unexercised here, and the report says so.
        pytest.skip("no deadlock in 8 races: results exact, the retry was not exercised")
