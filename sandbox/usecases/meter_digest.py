"""Consumer Meter Digest: a MeterDataCredential of a consumer's consumption.

The discom's head-end export (DLMS block load and billing buffers) is decoded,
VEE-checked and mapped to MeterData v0.6 by ``adapters.hes`` inside the discom's
process; its back office issues the last billing period as a MeterDataCredential
v0.6 to the consumer's wallet, which collects it through the pull URI and shows it
to the bank with the passport; the bank verifies both on its own.
"""

from __future__ import annotations

import time
from typing import Any

from credentials.proofs import read_jwt
from sandbox.seed import HES_METERS, discom_seed
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import Wallet, bar_identity, pull, show, wallet

NAME = "Consumer Meter Digest"
SAMPLE = 3  # consumers per discom who get a digest


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    http = world.http
    bank = world.plan.member("bank")
    discoms = world.plan.discoms()
    bar_identity(case, world, [*discoms, bank])
    issued_total = verified = 0
    adapter_ok = True
    passports: dict[str, list[tuple[str, Any]]] = world.shared.get("passports", {})  # type: ignore[assignment]
    for member in discoms:
        assert member.discom_code is not None
        seed = discom_seed(member.discom_code)
        for consumer in seed.network().consumers[: min(SAMPLE, HES_METERS)]:
            holder = wallet(world, f"{seed.code}-{consumer.number}")
            with case.timed("read HES + issue"):
                issued = http.post(
                    f"{member.url}/back-office/digests",
                    json={"consumerNumber": consumer.number, "holder": holder.did},
                )
            if issued.status_code != 201:
                adapter_ok = False
                case.check(f"{seed.code}: digest for {consumer.number}", False, issued.text[:300])
                continue
            issued_total += 1
            body = issued.json()
            with case.timed("wallet pull"):
                credential = pull(http, body["delivery"]).text
            world.record("MeterDataCredential", credential)
            claims = read_jwt(credential).payload
            meter_data = claims["credentialSubject"]["meterData"]
            readings = {r["readingType"]: r["value"] for r in meter_data.get("readings", [])}
            case.check(
                f"{seed.code}: {consumer.meter_serial}'s digest holds its HES consumption",
                meter_data.get("profileType") == "MONTHLY" and readings.get("kWh imp", 0) > 0,
                f"{readings.get('kWh imp')} kWh over {meter_data['timePeriod']['duration']}",
            )
            shown_with = [credential]
            passport = _passport_of(passports, member.name, consumer.number, holder)
            if passport is not None:
                shown_with.append(passport)
            with case.timed("presentation"):
                shown = show(world, bank, holder, shown_with)
            if shown.get("verified"):
                verified += 1
            else:
                case.check(f"{seed.code}: bank verifies the digest", False,
                           "; ".join(shown.get("errors", []))[:300])  # fmt: skip
    expected = SAMPLE * len(discoms)
    case.point(
        "adapter ran", adapter_ok and issued_total > 0, "HES buffers decoded, VEE, MeterData"
    )
    case.point("credential issued or exchange completed", issued_total == expected,
               f"{issued_total} MeterDataCredentials issued")  # fmt: skip
    case.point("counterparty verified", verified == expected,
               f"the bank verified {verified} of {expected} presentations")  # fmt: skip
    case.counts.update({"digests issued": issued_total, "presentations verified": verified})
    case.seconds = time.perf_counter() - started
    return case


def _passport_of(
    passports: dict[str, list[tuple[str, Any]]], discom: str, number: str, holder: Wallet
) -> str | None:
    for held_number, (held_by, credential) in passports.get(discom, []):
        if held_number == number and held_by.did == holder.did:
            return str(credential)
    return None
