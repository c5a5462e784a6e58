"""A bulk import overlaps the database's work with Python's, and stays exact.

On PostgreSQL a non-atomic import decides batch N+1 while a writer thread writes
batch N. These tests aim at the seams of that: a batch that reads what the batch in
flight writes (it must wait and decide again), and two imports of the same file at
once (the loser of each race redoes its batch and reports the rows as unchanged, and
every legacy identifier still names one identity). They run on both databases; on
SQLite the same import runs serially and must give the same answers.
"""

from __future__ import annotations

import io
import threading

from sqlalchemy import func, select
from sqlmodel import Session, col

from kernel.database import create_db_engine
from registry import service
from registry.ownership import EVERY_DISCOM
from registry.rows import parse_rows, read_csv
from registry.store import IdentityRow, LegacyIdRow, RelationRow

HEADER = "type,legacy_scheme,legacy_scope,legacy_id,state,discom,attr.capacity_kva,parent.feeder\n"


def _import(url: str, text: str, batch_size: int) -> service.ImportReport:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            return service.import_rows(
                session,
                parse_rows(read_csv(io.StringIO(text))),
                source="grid.csv",
                fmt="csv",
                batch_size=batch_size,
                scope=EVERY_DISCOM,
            )
    finally:
        engine.dispose()


def _count(url: str, query) -> int:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            return int(session.scalar(query) or 0)
    finally:
        engine.dispose()


def test_a_batch_that_reads_the_batch_in_flight_is_decided_again(registry_url):
    # Batch size 2: each transformer names the feeder created in the batch just before
    # it, and a later row re-states an earlier transformer with a new capacity.
    rows = []
    for n in range(6):
        rows.append(f"feeder,scada_tag,MSEDCL,F{n},IN-MH,MSEDCL,,")
        rows.append(
            f"distribution_transformer,gis_asset,MSEDCL,DT{n},IN-MH,MSEDCL,100,"
            f"scada_tag:MSEDCL:F{n}"
        )
    rows.append("distribution_transformer,gis_asset,MSEDCL,DT5,IN-MH,MSEDCL,250,")
    report = _import(registry_url, HEADER + "\n".join(rows) + "\n", batch_size=2)

    assert (report.created, report.updated, report.failed) == (12, 1, 0), report.errors
    assert _count(registry_url, select(func.count()).select_from(RelationRow)) == 6
    engine = create_db_engine(registry_url)
    with Session(engine) as session:
        dt5 = session.scalar(select(col(LegacyIdRow.ies_id)).where(col(LegacyIdRow.value) == "DT5"))
        row = session.get(IdentityRow, dt5)
        assert row is not None
        assert row.attributes["capacity_kva"] == 250
    engine.dispose()


def test_two_imports_of_one_file_at_once_make_each_identity_once(registry_url):
    meters = 600
    text = "type,legacy_scheme,legacy_scope,legacy_id,state,discom\n" + "".join(
        f"meter,meter_serial,SECURE,SE{n:09d},IN-MH,MSEDCL\n" for n in range(meters)
    )
    reports: list[service.ImportReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(_import(registry_url, text, batch_size=50))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert sum(r.created for r in reports) == meters
    for report in reports:
        assert report.rows == meters
        assert report.created + report.unchanged + report.failed == meters
        # a row fails only when the other import mapped its identifier first
        assert all("concurrent" in e["detail"] for e in report.errors), report.errors
    assert _count(registry_url, select(func.count()).select_from(IdentityRow)) == meters
    open_keys = select(func.count(func.distinct(LegacyIdRow.legacy_key)))
    assert _count(registry_url, open_keys) == meters
