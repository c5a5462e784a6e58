"""``ies bench consent``: consent checks per second on the data path, and one meter-year
of 15-minute data (35,040 readings) served as MeterData through the gate.

In-process, as ONIX benchmarks itself: the consent manager on a SQLite file, the gate
with the shipped policy packs on the embedded engine, meter ownership from a registry
on its own SQLite file (its service functions), keys in encrypted file custody,
and the directory's answer as its warm cache gives it (``ies bench directory`` times the
lookups themselves). The data source is an MDM that already holds MeterData profiles,
so the meter-year figure is the gate's own cost; the baseline serialises the same
profiles without the gate, in the same run.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from consent.client import LocalConsentManager
from consent.gate import ConsentGate
from consent.holders import LocalMeterOwnership
from consent.models import Narrowing
from consent.policy import PolicyPoint
from consent.service import ConsentManager
from consent.signatures import SigningIdentity
from consent.slicing import IST, to_json
from credentials.keys import EncryptedFileCustody, KeyAlgorithm
from kernel.database import create_db_engine, session_scope
from kernel.migrations import upgrade
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from registry import service as registry
from registry.directory.keys import Refusal, RefusalReason, SigningKey
from registry.identifiers import EntityType
from registry.models import IdentityDraft, LegacyRef, LegacyScheme, ParentRef
from schemas.meterdata import (
    CompactSequence,
    EnergyData,
    Identifier,
    Interval,
    IntervalPeriod,
    IntervalProfile,
    PayloadDescriptor,
    PayloadDescriptorProfile,
    PayloadDescriptorSet,
    SequenceItem,
    dump,
)

APP, DISCOM, CM = "bench-app.example", "bench-discom.example", "bench-consent.example"
METER = "SM-BENCH-0001"
SET = "BlockLoad"


class WarmKeys:
    """The directory's signing keys as a warm cache holds them (a dict lookup)."""

    def __init__(self, identities: Sequence[SigningIdentity]) -> None:
        now = datetime.now(UTC)
        self.keys = {
            (i.subscriber_id, i.key_id): SigningKey(
                subscriber_id=i.subscriber_id,
                key_id=i.key_id,
                public_key=i.custody.public_key(i.key_id).raw,
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=365),
                status="SUBSCRIBED",
                role="BPP",
                url=f"http://{i.subscriber_id}",
                did=f"did:web:{i.subscriber_id}",
            )
            for i in identities
        }

    def lookup_signing_key(
        self, subscriber_id: str, key_id: str, at: datetime | None = None
    ) -> SigningKey | Refusal:
        found = self.keys.get((subscriber_id, key_id))
        if found is None:
            return Refusal(RefusalReason.UNKNOWN, f"no key {key_id}")
        return found.refusal_at(at or datetime.now(UTC)) or found


class ProfileArchive:
    """An MDM holding interval data already as MeterData profiles (one per day)."""

    def __init__(self, first: date, days: int, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.profiles: list[EnergyData] = [
            PayloadDescriptorProfile(
                profile_type="DESCRIPTOR",
                id="bench",
                payload_descriptor_sets=[
                    PayloadDescriptorSet(
                        name=SET,
                        payload_descriptors=[
                            PayloadDescriptor(
                                reading_type="kWh imp block",
                                unit="kWh",
                                flow_direction="IMPORT",
                                reported_mode="USAGE",
                            ),
                            PayloadDescriptor(
                                reading_type="kWh exp block",
                                unit="kWh",
                                flow_direction="EXPORT",
                                reported_mode="USAGE",
                            ),
                        ],
                        compact_sequences=[
                            CompactSequence(
                                name=SET,
                                sequence_items=[
                                    SequenceItem(reading_type="kWh imp block"),
                                    SequenceItem(reading_type="kWh exp block"),
                                ],
                            )
                        ],
                    )
                ],
            )
        ]
        for n in range(days):
            start = datetime(first.year, first.month, first.day, tzinfo=IST) + timedelta(days=n)
            self.profiles.append(
                IntervalProfile(
                    profile_type="INTERVAL",
                    meter_refs=[Identifier(scheme="METER_SERIAL", value=METER)],
                    payload_descriptor_set_ref=SET,
                    compact_sequence_ref=SET,
                    interval_period=IntervalPeriod(start=start, duration="PT15M"),
                    intervals=[
                        Interval(
                            id=i,
                            payloads=[round(rng.uniform(0, 0.5), 3), round(rng.uniform(0, 0.2), 3)],
                        )
                        for i in range(96)
                    ],
                )
            )

    def interval_data(self, meter: str, start: datetime, end: datetime) -> list[EnergyData]:
        return [
            p
            for p in self.profiles
            if not isinstance(p, IntervalProfile) or start <= p.interval_period.start < end
        ]

    def billing_data(self, meter: str, start: datetime, end: datetime) -> list[EnergyData]:
        return []

    def events(self, meter: str, start: datetime, end: datetime) -> list[EnergyData]:
        return []


def _register(engine: Any, first: date) -> str:
    """The bench consumer, their connection and the meter in the registry; the
    consumer's IES id."""
    since = datetime(first.year, first.month, first.day, tzinfo=IST) - timedelta(days=30)
    with session_scope(engine) as session:
        consumer = registry.create_identity(
            session, IdentityDraft(type=EntityType.CONSUMER, valid_from=since)
        )
        connection = registry.create_identity(
            session,
            IdentityDraft(
                type=EntityType.CONNECTION,
                valid_from=since,
                parents={EntityType.CONSUMER: ParentRef(id=consumer.id)},
            ),
        )
        registry.create_identity(
            session,
            IdentityDraft(
                type=EntityType.METER,
                valid_from=since,
                legacy_ids=[
                    LegacyRef(scheme=LegacyScheme.METER_SERIAL, scope="BENCH", value=METER)
                ],
                parents={EntityType.CONNECTION: ParentRef(id=connection.id)},
            ),
        )
    return consumer.id


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _request(identity: SigningIdentity, body: dict[str, Any]) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return raw, identity.sign_body(raw, "ies-meter-data+jws")


def run(*, checks: int = 2000, repeats: int = 7) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        identities = []
        for name in (APP, DISCOM, CM):
            custody = EncryptedFileCustody(folder / "keys" / name, b"bench passphrase")
            custody.create("k1", KeyAlgorithm.ED25519)
            identities.append(SigningIdentity(name, "k1", custody))
        app, _discom, cm = identities
        keys = WarmKeys(identities)
        engine = create_db_engine(f"sqlite:///{folder}/consent.db")
        upgrade(engine, "consent:migrations")
        policy = PolicyPoint(
            load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING)), EmbeddedEngine()
        )
        today = datetime.now(IST).date()
        first = today - timedelta(days=366)
        registry_engine = create_db_engine(f"sqlite:///{folder}/registry.db")
        upgrade(registry_engine, "registry:migrations")
        holder = _register(registry_engine, first)
        ownership = LocalMeterOwnership(registry_engine)
        manager = ConsentManager(
            engine, cm, keys, policy, {DISCOM: "http://127.0.0.1:9/"}, ownership
        )
        archive = ProfileArchive(first, 365)
        local = LocalConsentManager(manager, DISCOM)
        gate = ConsentGate(DISCOM, "IN-MH", keys, frozenset({CM}), local, local, policy,
                           archive, archive, archive, ownership)  # fmt: skip

        def consent(granularity: str, value: int, unit: str, n: int) -> str:
            body = {
                "request_id": f"bench-{granularity}-{n}",
                "data_consumer": APP,
                "data_provider": DISCOM,
                "jurisdiction": "IN-MH",
                "consumer_id": holder,
                "purpose": "p2p_settlement",
                "scope": {
                    "meters": [METER],
                    "data_types": ["interval_consumption", "net_export"],
                    "date_range": {"from": first.isoformat(),
                                   "to": (first + timedelta(days=364)).isoformat()},
                    "granularity": granularity,
                    "fetch_type": "periodic",
                    "frequency": {"value": value, "unit": unit},
                    "data_life_days": 30,
                    "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                },
            }  # fmt: skip
            raw = json.dumps(body).encode()
            view, _ = manager.request(raw, app.sign_body(raw, "ies-consent-request+jws"))
            manager.approve(holder, view.id, Narrowing())
            return view.id

        # 1. Consent checks on the data path: a one-day daily fetch, every step.
        per_consent = 1000
        ids = [consent("15min", per_consent, "hour", n) for n in range(-(-checks // per_consent))]
        day_body = {
            "from": datetime(first.year, first.month, first.day, tzinfo=IST).isoformat(),
            "duration": "P1D",
            "granularity": "daily",
            "capabilitiesRequested": {"profiles": [{"profileType": "IntervalProfile"}]},
        }
        signed = [_request(app, {**day_body, "consumerConsent": [ids[i // per_consent]]})
                  for i in range(checks)]  # fmt: skip
        latencies, steps = [], []
        started = time.perf_counter()
        for raw, signature in signed:
            t0 = time.perf_counter()
            served = gate.serve(raw, signature)
            latencies.append(time.perf_counter() - t0)
            steps.append(served.steps)
        elapsed = time.perf_counter() - started
        check_rate = checks / elapsed

        # 2. One meter-year of 15-minute data through the gate, and without it.
        year_id = consent("15min", 1000, "hour", -1)
        year_body = {
            "from": datetime(first.year, first.month, first.day, tzinfo=IST).isoformat(),
            "duration": "P365D",
            "consumerConsent": [year_id],
            "capabilitiesRequested": {"profiles": [{"profileType": "IntervalProfile"}]},
        }
        gated, baseline, rows = [], [], 0
        year_steps: list[dict[str, float]] = []
        for _ in range(repeats):
            raw, signature = _request(app, year_body)
            t0 = time.perf_counter()
            served = gate.serve(raw, signature)
            body = to_json(served.payload)
            gated.append(time.perf_counter() - t0)
            year_steps.append({**served.steps, "json": gated[-1] - sum(served.steps.values())})
            rows = sum(len(p.get("intervals", ())) for p in served.payload)
            t0 = time.perf_counter()
            plain = to_json(dump(archive.profiles))
            baseline.append(time.perf_counter() - t0)
            assert len(body) > 0
            assert len(plain) > 0
        engine.dispose()
        registry_engine.dispose()

    p50 = statistics.median(latencies) * 1000
    step_p50 = {name: statistics.median(s[name] for s in steps) * 1000 for name in steps[0]}
    year, base = statistics.median(gated) * 1000, statistics.median(baseline) * 1000
    print(f"consent checks on the data path: {checks} one-day fetches, {check_rate:,.0f}/s, "
          f"p50 {p50:.2f} ms, p99 {_percentile(latencies, 0.99) * 1000:.2f} ms")  # fmt: skip
    print("  p50 per step (ms): " + ", ".join(f"{k} {v:.3f}" for k, v in step_p50.items()))
    print(f"meter-year through the gate: {rows:,} readings, median {year:.1f} ms "
          f"(target < 200 ms) over {repeats} runs")  # fmt: skip
    year_p50 = {k: statistics.median(s[k] for s in year_steps) * 1000 for k in year_steps[0]}
    print("  p50 per step (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in year_p50.items()))
    print(f"  baseline (same MeterData serialised, no gate): {base:.1f} ms; "
          f"ratio {year / base:.2f}x")  # fmt: skip
    return {
        "checks_per_second": check_rate,
        "check_p50_ms": p50,
        "meter_year_ms": year,
        "baseline_ms": base,
        "readings": float(rows),
    }
