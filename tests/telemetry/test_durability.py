"""A restart of the outage service inside the momentary window: the opening is still
classified by how long it lasted, and feeder-status replays are still DUPLICATE."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from protocol.outages.app import OutageSettings, create_app
from protocol.outages.ports import Subscriber as Sub
from tests.telemetry.conftest import at, create
from tests.telemetry.oracle import official_errors

SINCE = "2026-01-01T00:00:00+05:30"


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def feeder_with_one_connection(registry) -> tuple[str, str]:
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
    return feeder, conn


def push(client, event_id, feeder, status, when):
    body = [
        {
            "eventId": event_id,
            "discomCode": "1001",
            "amispCode": "AMISP1001",
            "feederCode": feeder,
            "feederStatus": status,
            "eventTimestamp": when,
        }
    ]
    response = client.post("/feeder-status", json=body, headers={"discomCode": "1001"})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def test_a_restart_inside_the_momentary_window_keeps_the_opening_and_the_seen_ids(
    registry, make_monitor, subscriber, tmp_path
):
    blink, _ = feeder_with_one_connection(registry)
    lasting, conn = feeder_with_one_connection(registry)
    clock = Clock(at("2026-07-23T12:00:30+05:30"))
    settings = OutageSettings(database_url=f"sqlite:///{tmp_path}/unused.db", log_level="WARNING")

    def start():
        monitor = make_monitor(clock=clock)
        return monitor, create_app(settings, monitor=monitor, registry=registry)

    monitor, app = start()
    monitor.subscribe(Sub("consent-manager", "consumer_channel", subscriber.url))
    with TestClient(app) as client:
        assert (
            push(client, "b1", blink, "DE_ENERGIZED", "2026-07-23T12:00:00+05:30")["status"] == "OK"
        )
        assert (
            push(client, "l1", lasting, "DE_ENERGIZED", "2026-07-23T12:00:10+05:30")["status"]
            == "OK"
        )
    assert client.get("/outages").json() == []

    # The process goes away two minutes into both openings; a new one starts on the
    # same database.
    clock.now = at("2026-07-23T12:02:00+05:30")
    monitor, app = start()
    with TestClient(app) as client:
        replay = push(client, "b1", blink, "DE_ENERGIZED", "2026-07-23T12:00:00+05:30")
        assert replay["status"] == "DUPLICATE"
        clock.now = at("2026-07-23T12:03:30+05:30")
        assert push(client, "b2", blink, "ENERGIZED", "2026-07-23T12:03:00+05:30")["status"] == "OK"
        clock.now = at("2026-07-23T12:05:09+05:30")
        assert monitor.tick() == []  # 4 min 59 s after l1: still inside the window
        clock.now = at("2026-07-23T12:05:11+05:30")
        [alert] = monitor.tick()
        clock.now = at("2026-07-23T12:40:00+05:30")
        restored = push(client, "l2", lasting, "ENERGIZED", "2026-07-23T12:39:00+05:30")
        assert restored["status"] == "OK"
        [notice] = client.get("/outages").json()

    [momentary] = monitor.store.notices(feeder=blink)
    assert (momentary.kind, momentary.status) == ("MOMENTARY", "RESTORED")
    assert momentary.ended_at - momentary.started_at == timedelta(minutes=3)
    assert momentary.document is None  # counted in MAIFI, never announced
    assert alert["status"] == "ACTIVE"
    assert notice["status"] == "RESTORED"
    assert notice["id"] == alert["id"]
    assert official_errors(alert) == []
    assert official_errors(notice) == []
    # The opening is dated from the trip before the restart, not from the restart.
    assert at(notice["timing"]["period"]["start"]) == at("2026-07-23T12:00:10+05:30")
    assert conn in str(notice["affectedAssets"])
    received = subscriber.wait_for(2)
    assert [n["status"] for n in received] == ["ACTIVE", "RESTORED"]
    assert monitor.store.pending() == []
