"""The feeder-status push and the discom's shutdown CSV feed the same outage flow."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from adapters.feeder_status import VendorStatusCodes, read_schedule
from protocol.outages.app import OutageSettings, create_app
from protocol.outages.errors import ScheduleInvalid
from tests.telemetry.conftest import at, create
from tests.telemetry.oracle import official_errors, schedule_csv

SINCE = "2026-01-01T00:00:00+05:30"


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def event(event_id, feeder, status, when, raw=None):
    body = {
        "eventId": event_id,
        "discomCode": "1001",
        "amispCode": "AMISP1001",
        "feederCode": feeder,
        "feederStatus": status,
        "eventTimestamp": when,
    }
    if raw:
        body["rawStatus"] = raw
    return body


def test_pushed_status_opens_and_restores_an_outage_and_refuses_bad_items(
    registry, make_monitor, tmp_path
):
    feeder = create(registry, type="feeder", valid_from=SINCE)
    dt = create(
        registry,
        type="distribution_transformer",
        parents={"feeder": {"id": feeder}},
        valid_from=SINCE,
    )
    conn = create(
        registry,
        type="connection",
        parents={"distribution_transformer": {"id": dt}},
        valid_from=SINCE,
    )
    clock = Clock(at("2026-07-23T12:00:00+05:30"))
    monitor = make_monitor(clock=clock)
    settings = OutageSettings(database_url=f"sqlite:///{tmp_path}/unused.db", log_level="WARNING")
    app = create_app(settings, monitor=monitor, mapping=VendorStatusCodes(), registry=registry)
    with TestClient(app) as client:
        push = [
            event("e1", feeder, "UNKNOWN", "2026-07-23T00:31:00+05:30", {"feederStatus": "102"}),
            event("e2", "NO-SUCH-FEEDER", "DE_ENERGIZED", "2026-07-23T00:32:00+05:30"),
            event("e3", feeder, "ENERGIZED", "2026-07-23T00:20:00+05:30"),  # before e1
            event("e4", feeder, "ENERGIZED", "2026-07-23T02:01:00+05:30"),
        ]
        r = client.post("/feeder-status", json=push, headers={"discomCode": "1001"})
        assert r.status_code == 200, r.text
        results = {i["eventId"]: i for i in r.json()["results"]}
        assert results["e1"]["status"] == "OK"
        assert results["e2"]["errorCode"] == "UNKNOWN_FEEDER"
        assert results["e3"]["errorCode"] == "TELEMETRY_OUT_OF_ORDER"
        assert results["e4"]["status"] == "OK"
        again = client.post("/feeder-status", json=push[:1], headers={"discomCode": "1001"})
        assert again.json()["results"][0]["status"] == "DUPLICATE"
        bad = client.post("/feeder-status", json=[{"eventId": "x"}], headers={"discomCode": "1001"})
        assert bad.status_code == 422
        [notice] = client.get("/outages", params={"feeder": feeder}).json()
    assert official_errors(notice) == []
    assert notice["status"] == "RESTORED"
    assert notice["provenance"]["source"] == "AMI"
    assert notice["impact"]["customersAffected"] == 1
    assert notice["timing"]["period"]["duration"] == "PT1H30M"
    assert {a["id"]["value"] for a in notice["affectedAssets"]} == {feeder, dt, conn}


def test_the_discoms_shutdown_csv_becomes_scheduled_then_active_then_restored_notices(
    registry, make_monitor
):
    feeders = {}

    def resolve(row):
        if row["feeder"] not in feeders:
            feeders[row["feeder"]] = create(registry, type="feeder", valid_from=SINCE)
        return feeders[row["feeder"]]

    rows = list(read_schedule(schedule_csv(), resolve))
    planned = [r for r in rows if not isinstance(r, ScheduleInvalid)]
    assert planned
    assert len(planned) == len(rows)
    first = min(planned, key=lambda p: p.start)
    assert first.start == at("2026-06-22T06:30:00+05:30")
    clock = Clock(first.start - timedelta(days=1))
    monitor = make_monitor(clock=clock)
    alerts = monitor.schedule(planned)
    assert len(alerts) == len(planned)
    assert all(n["status"] == "SCHEDULED" and official_errors(n) == [] for n in alerts)
    clock.now = first.start + timedelta(minutes=1)
    updates = monitor.tick()
    assert updates
    assert all(n["status"] == "ACTIVE" and n["msgType"] == "UPDATE" for n in updates)
    clock.now = first.end + timedelta(minutes=1)
    done = [n for n in monitor.tick() if n["status"] == "RESTORED"]
    assert done
    assert all(official_errors(n) == [] for n in done)
    assert monitor.schedule(planned) == []  # idempotent per feeder and start


def test_a_bad_schedule_row_is_reported_by_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "group_id,substation,feeder,feeder_smart_meter,date,from_time,to_time\n"
        "A,S,F1,M1,22-06-2026,12:00,14:00\n"
        "A,S,F2,M2,31-02-2026,12:00,14:00\n"
        "A,S,F3,M3,22-06-2026,14:00,12:00\n"
    )
    rows = list(read_schedule(path, lambda row: row["feeder"]))
    assert [type(r).__name__ for r in rows] == [
        "PlannedOutage",
        "ScheduleInvalid",
        "ScheduleInvalid",
    ]
    refused = [r for r in rows if isinstance(r, ScheduleInvalid)]
    assert "line 3" in refused[0].detail
    assert "line 4" in refused[1].detail
