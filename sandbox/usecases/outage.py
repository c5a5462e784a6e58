"""Outage Notification: a feeder trips at the RTU, its subscribers hear of it over Beckn.

MSEDCL's GIS records a temporary re-feed (DT ``MSEDCL-F2-DT1`` fed from feeder F1 for
two days a month ago, then back to F2); the registry keeps that history. The
discom's simulated substation RTU (a real IEC 60870-5-104 server on loopback) plays
that day: F1's breaker trips at 10:00 IST; the SCADA master (``adapters.iec104``)
reports it, detection holds it five minutes (IEEE 1366: shorter is momentary) and
resolves what was downstream *at the trip* from the registry — F1's own connections
and the re-fed DT's, which are not on F1 today. The OutageNotification naming them
goes to the bank (an app) and the consent manager (the consumers' channel) as an
unsolicited Beckn ``on_status`` through the discom's outbox; each receiver verifies
the discom's signature through the directory and the notice's shape before taking
it. The breaker closes at 11:30; the restoration UPDATE follows. At 12:00 F2 blinks
(open two minutes): counted as momentary (MAIFI), announced to nobody. A shutdown of
F2 from the discom's schedule (its planned-outage CSV read by
``adapters.feeder_status``) is announced ahead (SCHEDULED), goes ACTIVE at its start
and RESTORED at its end. The regulator's figures, SAIFI/SAIDI/CAIDI/MAIFI for the
day, are read from the discom's outage service and checked against the arithmetic
done here from the registry's own counts.
"""

from __future__ import annotations

import csv
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import httpx

from adapters.feeder_status import read_schedule
from adapters.synthetic import IST
from protocol.outages.errors import ScheduleInvalid
from protocol.outages.models import PlannedOutage
from sandbox.machine_auth import acting_as
from sandbox.plan import Member
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import bar_identity

NAME = "Outage Notification"
DISCOM = "discom-mh"
SUBSCRIBERS = (
    ("bank", "app", "/app"),
    ("consent", "consumer_channel", "/channel"),
    ("regulator", "regulator", "/outages-inbox"),
)
DAYS_AGO = 30  # the scenario's day: older than the HES window, so no other use case sees it
WAIT = 10.0
SCHEDULE_COLUMNS = (
    "group_id",
    "zone",
    "circle",
    "division",
    "substation",
    "feeder",
    "feeder_smart_meter",
    "feeder_type",
    "date",
    "from_time",
    "to_time",
    "approx_hours",
    "reason",
    "consumer_area",
)


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json()


class Scenario:
    """The use case's view of one discom's outage side, its registry and subscribers."""

    def __init__(self, world: World, discom: Member) -> None:
        self.world = world
        self.http = world.http
        self.discom = discom
        self.code = discom.discom_code or ""
        self.registry = world.plan.directory.url
        self.outages = f"{discom.url}/outage-service"
        self.scada = f"{discom.url}/back-office/scada"

    def resolve(self, scheme: str, value: str) -> str:
        found = self.http.get(
            f"{self.registry}/resolve",
            params={"scheme": scheme, "scope": self.code, "value": value},
        )
        return str(_ok(found)["ies_id"])

    def connections(self, feeder: str, at: datetime) -> set[str]:
        """The registry's own answer: connections below ``feeder`` at ``at``."""
        found: set[str] = set()
        params = {"under": feeder, "type": "connection", "at": at.isoformat(), "limit": "1000"}
        while True:
            page = _ok(self.http.get(f"{self.registry}/identities", params=params))
            found |= {item["id"] for item in page["items"]}
            if not page.get("next_cursor"):
                return found
            params = {**params, "cursor": page["next_cursor"]}

    def refeed(self, dt: str, parent: str, at: datetime) -> None:
        _ok(
            self.http.post(
                f"{self.registry}/identities/{dt}/relations",
                json={"parent": parent, "valid_from": at.isoformat()},
                # The discom's machine token: registry writes need registry:write.
                auth=acting_as(
                    self.world.plan,
                    self.discom.name,
                    self.world.passphrase,
                    self.world.plan.directory.host,
                ),
            )
        )

    def scada_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = _ok(self.http.post(f"{self.scada}/{path}", json=body))
        return answer

    def breaker(self, tag: str, closed: bool) -> dict[str, Any]:
        return self.scada_post("breaker", {"feeder": tag, "closed": closed})

    def advance(self, minutes: float) -> dict[str, Any]:
        return self.scada_post("advance", {"minutes": minutes})

    def received(self, member: Member, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = _ok(
            self.http.get(
                f"{member.url}{prefix}/outages/received", params={"sender": self.discom.host}
            )
        )
        return items

    def wait_for(self, count: int) -> dict[str, list[dict[str, Any]]]:
        """Each subscriber's notices once every one holds ``count`` (or the wait ends)."""
        deadline = time.monotonic() + WAIT
        while True:
            got = {
                name: self.received(self.world.plan.member(name), prefix)
                for name, _, prefix in SUBSCRIBERS
            }
            if all(len(v) >= count for v in got.values()) or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def settle(self, seconds: float = 0.3) -> None:
        """Let the SCADA link carry what the RTU sent before time moves on."""
        time.sleep(seconds)


def schedule_csv(world: World, code: str, day: date, rows: list[dict[str, str]]) -> Any:
    """The discom's planned-shutdown schedule, as its outage desk exports it."""
    path = world.scratch / f"{code}-planned-shutdowns.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=SCHEDULE_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in SCHEDULE_COLUMNS})
    return path


def _service_points(notice: dict[str, Any]) -> set[str]:
    return {
        a["id"]["value"] for a in notice["affectedAssets"] if a["assetLevel"] == "SERVICE_POINT"
    }


def _states(items: list[dict[str, Any]], notice_id: str) -> list[str]:
    return [
        f"{i['notice']['msgType']}/{i['notice']['status']}"
        for i in items
        if i["notice"]["id"]["value"] == notice_id
    ]


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    try:
        _play(world, case)
    except (RuntimeError, httpx.HTTPError, KeyError, ValueError) as exc:
        case.check("the scenario ran to its end", False, f"{type(exc).__name__}: {exc}"[:500])
    case.seconds = time.perf_counter() - started
    return case


def _play(world: World, case: UseCase) -> None:
    discom = world.plan.member(DISCOM)
    members = [discom] + [world.plan.member(name) for name, _, _ in SUBSCRIBERS]
    bar_identity(case, world, members)
    s = Scenario(world, discom)
    code = s.code
    day = datetime.now(IST).date() - timedelta(days=DAYS_AGO)
    midnight = datetime.combine(day, clock_time(0), IST)
    f1, f2 = s.resolve("scada_tag", f"{code}-F1"), s.resolve("scada_tag", f"{code}-F2")
    refed = s.resolve("gis_asset", f"{code}-F2-DT1")

    # The GIS's history: F2-DT1 fed from F1 for two days around the scenario's day.
    with case.timed("topology history"):
        s.refeed(refed, f1, midnight - timedelta(days=1))
        s.refeed(refed, f2, midnight + timedelta(days=1))
    trip_at = midnight + timedelta(hours=10)
    for name, role, _ in SUBSCRIBERS:
        member = world.plan.member(name)
        _ok(
            world.http.post(
                f"{s.outages}/outage-subscriptions",
                json={"id": member.host, "role": role, "url": member.beckn_url},
            )
        )

    # The substation's RTU and the SCADA link, on the scenario's day.
    with case.timed("RTU and SCADA link"):
        link = s.scada_post("scenario", {"start": trip_at.isoformat()})
    linked = case.check(
        "the SCADA master's IEC 104 link to the RTU is up",
        link["linked"],
        f"RTU {link['rtu']}, breaker IOAs {link['breakerIoa']}",
    )

    # The discom's schedule: F2 shut down 14:00-16:00 for DT maintenance.
    planned_start = trip_at + timedelta(hours=4)  # the schedule's 14:00-16:00
    csv_path = schedule_csv(
        world,
        code,
        day,
        [
            {
                "group_id": "A",
                "zone": "Pune",
                "circle": "Pune Urban",
                "division": "Rastapeth",
                "substation": f"{code}-SS-1",
                "feeder": f"{code}-F2",
                "feeder_smart_meter": f"{code}-F2",
                "feeder_type": "URBAN",
                "date": day.strftime("%d-%m-%Y"),
                "from_time": "14:00",
                "to_time": "16:00",
                "approx_hours": "2:00",
                "reason": "DT maintenance and LT line tree trimming",
                "consumer_area": "Shivajinagar",
            }
        ],
    )
    rows = list(read_schedule(csv_path, lambda row: s.resolve("scada_tag", row["feeder"])))
    planned = [r for r in rows if isinstance(r, PlannedOutage)]
    bad = [r for r in rows if isinstance(r, ScheduleInvalid)]
    scheduled_ok = case.check(
        "the schedule CSV read by the adapter",
        len(planned) == 1 and not bad,
        f"{len(planned)} shutdowns, {len(bad)} bad rows",
    )
    with case.timed("notices"):
        announced = _ok(
            world.http.post(
                f"{s.outages}/outages/planned",
                json=[
                    {
                        "feeder": p.feeder,
                        "start": p.start.isoformat(),
                        "end": p.end.isoformat(),
                        "reason": p.reason,
                        "ref": p.ref,
                    }
                    for p in planned
                ],
            )
        )
        planned_id = announced[0]["id"]["value"] if announced else ""

        # 10:00 F1 trips; within five minutes nothing is announced.
        tripped = s.breaker(f"{code}-F1", closed=False)
        s.settle()
        early = s.wait_for(0)
        case.check(
            "no notice of the trip inside the momentary window",
            all(
                not [i for i in v if i["notice"]["outageClass"] == "BREAKDOWN"]
                for v in early.values()
            ),
            "IEEE 1366: five minutes or less is momentary",
        )
        s.advance(6)
        alerted = s.wait_for(2)  # the planned ALERT and the trip's ALERT
        # 11:30 F1 closes.
        s.advance(84)
        s.breaker(f"{code}-F1", closed=True)
        restored = s.wait_for(3)
        # 12:00 F2 blinks for two minutes.
        s.advance(30)
        s.breaker(f"{code}-F2", closed=False)
        s.settle(0.15)
        s.advance(2)
        s.breaker(f"{code}-F2", closed=True)
        s.settle()
        # 14:00 the planned shutdown: the breaker opened for it; 16:00 closed, ended.
        s.advance(118)
        s.breaker(f"{code}-F2", closed=False)
        s.settle(0.15)
        s.advance(120)
        s.breaker(f"{code}-F2", closed=True)
        s.settle(0.15)
        s.advance(1)
        final = s.wait_for(5)

    # ---------------------------------------------------------------- what arrived
    # The registry's own answer at the instant the RTU tagged the trip, kept so the
    # end-to-end test can hold the notice against it.
    tripped_at = datetime.fromisoformat(tripped["at"])
    on_f1 = s.connections(f1, tripped_at)
    on_f1_today = s.connections(f1, datetime.now(IST))
    world.record(
        "outage:registry-downstream",
        {
            "feeder": f1,
            "at": tripped_at.isoformat(),
            "connections": sorted(on_f1),
            "today": sorted(on_f1_today),
        },
    )
    case.check(
        "the registry's F1 on the day differs from F1 today (the re-feed)",
        on_f1 > on_f1_today,
        f"{len(on_f1)} connections then, {len(on_f1_today)} today",
    )

    breakdowns = [i for i in alerted["bank"] if i["notice"]["outageClass"] == "BREAKDOWN"]
    outage_id = breakdowns[0]["notice"]["id"]["value"] if breakdowns else ""
    verified = 0
    for name, _, _ in SUBSCRIBERS:
        items = final[name]
        member = world.plan.member(name)
        for item in items:
            world.record("OutageNotification", item["notice"])
            world.record("outage:on_status", item["document"])
        signed = [
            i
            for i in items
            if i["sender"] == discom.host
            and i["keyId"] == f"{discom.host}|k1"
            and i["signedHeaders"] == ["(created)", "(expires)", "digest"]
        ]
        verified += len(signed)
        case.check(
            f"{member.host} verified every notice (the discom's key in the directory)",
            len(signed) == len(items) == 5,
            f"{len(signed)} of {len(items)}",
        )
        case.check(
            f"{member.host}: the trip's ALERT then its RESTORED UPDATE",
            _states(items, outage_id) == ["ALERT/ACTIVE", "UPDATE/RESTORED"],
            str(_states(items, outage_id)),
        )
        case.check(
            f"{member.host}: the planned shutdown SCHEDULED, ACTIVE, RESTORED",
            _states(items, planned_id) == ["ALERT/SCHEDULED", "UPDATE/ACTIVE", "UPDATE/RESTORED"],
            str(_states(items, planned_id)),
        )
        case.check(
            f"{member.host}: the blink was not announced",
            not any(i["notice"]["id"]["value"].startswith("MOM-") for i in items)
            and len(items) == 5,
            f"{len(items)} notices",
        )
        same_txn = {i["transactionId"] for i in items if i["notice"]["id"]["value"] == outage_id}
        case.check(
            f"{member.host}: one Beckn transaction per outage", len(same_txn) == 1, str(same_txn)
        )
    alert = next((i["notice"] for i in breakdowns), None)
    named = _service_points(alert) if alert else set()
    case.check(
        "the ALERT names exactly the registry's connections below F1 at the trip",
        named == on_f1 and alert is not None and alert["impact"]["customersAffected"] == len(on_f1),
        f"{len(named)} named, {len(on_f1)} in the registry on {day}, "
        f"{len(named - on_f1_today)} of them not on F1 today",
    )
    restored_bank = [
        i["notice"]
        for i in restored["bank"]
        if i["notice"]["id"]["value"] == outage_id and i["notice"]["status"] == "RESTORED"
    ]
    case.check(
        "the restoration carries the actual restoration time, 90 minutes after the trip",
        bool(restored_bank)
        and abs(
            datetime.fromisoformat(restored_bank[0]["timing"]["actualRestoration"])
            - datetime.fromisoformat(restored_bank[0]["timing"]["period"]["start"])
            - timedelta(minutes=90)
        )
        < timedelta(seconds=30),  # the scenario's clock also runs with the wall clock
        restored_bank[0]["timing"].get("actualRestoration", "") if restored_bank else "none",
    )
    state = _ok(world.http.get(f"{s.scada}/state"))
    _ok(world.http.delete(f"{s.scada}/scenario"))  # the discom's clock is real time again
    flagged = [r for r in state["refusals"] if r["slug"] == "telemetry-unknown-point"]
    case.point(
        "adapter ran",
        linked and scheduled_ok and state["linked"],
        f"IEC 104 link to the RTU, {len(flagged)} unknown IOA flagged; schedule CSV read",
    )

    # ---------------------------------------------------------------- the indices
    end = midnight + timedelta(days=1)
    on_f2_planned = s.connections(f2, planned_start)
    on_f2_blink = s.connections(f2, trip_at + timedelta(hours=2))
    served = len(s.connections(f1, end)) + len(s.connections(f2, end))
    with case.timed("indices"):
        figures = _ok(
            world.http.get(
                f"{s.outages}/reliability",
                params={"feeder": [f1, f2], "start": midnight.isoformat(), "end": end.isoformat()},
            )
        )
    world.record("outage:reliability", figures)
    got = figures["all_days"]
    # IEEE 1366 by hand: sustained = the trip (Nᵢ = F1 at 10:00, 90 min) and the planned
    # shutdown (F2 at 14:00, 120 min); momentary = the blink (F2 at 12:00).
    ci = len(on_f1) + len(on_f2_planned)
    cmi = len(on_f1) * 90 + len(on_f2_planned) * 120
    expected = {
        "customers_served": served,
        "customers_interrupted": ci,
        "saifi": ci / served,
        "saidi": cmi / served,
        "caidi": cmi / ci,
        "maifi": len(on_f2_blink) / served,
    }
    close = all(abs(float(got[k]) - v) < 0.05 for k, v in expected.items())
    case.check(
        "SAIFI/SAIDI/CAIDI/MAIFI as the regulator reads them match the hand arithmetic",
        close,
        f"N_T={served}; SAIFI=({len(on_f1)}+{len(on_f2_planned)})/{served}={got['saifi']:.3f}; "
        f"SAIDI=({len(on_f1)}x90+{len(on_f2_planned)}x120)/{served}={got['saidi']:.1f} min; "
        f"CAIDI={got['caidi']:.1f} min; MAIFI={len(on_f2_blink)}/{served}={got['maifi']:.3f}",
    )
    delivered = verified == len(SUBSCRIBERS) * 5
    case.point(
        "credential issued or exchange completed",
        delivered,
        f"{verified} on_status notices delivered through the discom's outbox",
    )
    case.point(
        "counterparty verified",
        delivered and all(c.passed for c in case.checks),
        "the bank, the consent manager and the regulator verified every notice; the indices agree",
    )
    case.counts.update(
        {
            "notices delivered": verified,
            "connections named": len(named),
            "unknown IOA flagged": len(flagged),
        }
    )
