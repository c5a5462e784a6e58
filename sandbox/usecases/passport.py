"""Consumer onboarding and the Consumer Energy Passport.

Each discom exports its consumers from its CIS in its own format; the CIS adapter reads
the export and the registry imports it over HTTP (persistent IDs, legacy IDs, topology).
The discom's back office then issues a sample of its consumers an ElectricityCredential
v1.2 from the registry's records, to each consumer's wallet DID; each wallet collects
its credential once through the pull URI. A consumer shows the credential to the bank
in a presentation bound to the bank's challenge, and the bank's own verifier checks
it: the holder's proof, the discom's did:web key, the operator's trust registry, the
DeDi revocation registry.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

import adapters.cis
from sandbox.legacy import write_extract
from sandbox.machine_auth import acting_as
from sandbox.seed import GRID_SINCE, DiscomSeed, discom_seed, dt_links, grid_rows
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import bar_identity, pull, show, wallet

NAME = "Consumer onboarding + Consumer Energy Passport"
SAMPLE = 10  # consumers per discom who get a passport


def _post_rows(
    http: httpx.Client, url: str, rows: list[dict[str, Any]], auth: httpx.Auth
) -> dict[str, Any]:
    body = "".join(json.dumps(row) + "\n" for row in rows)
    # The discom loads its history: rows without a date of their own (MSEDCL's export
    # has no connection date) are as old as the grid, so the topology and meter
    # ownership answer for past data too.
    response = http.post(
        f"{url}/imports",
        content=body,
        headers={"content-type": "application/x-ndjson"},
        params={"valid_from": GRID_SINCE},
        auth=auth,  # the discom's machine token: registry writes need registry:write
    )
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report


def onboard_from_cis(case: UseCase, world: World, discom: DiscomSeed) -> int:
    """The discom's CIS export through the adapter into the registry; rows read."""
    registry = world.plan.directory.url
    http = world.http
    extract = world.scratch / f"{discom.code}-cis.csv"
    write_extract(discom.network(), discom.mapping, discom.place, extract)
    with case.timed("CIS adapter"):
        result = adapters.cis.import_file(extract, discom.mapping)
    adapter_ok = case.check(
        f"{discom.code}: CIS adapter read the export",
        bool(result.rows) and not result.errors,
        f"{len(result.rows)} rows, {len(result.errors)} bad",
    )
    (member,) = [m for m in world.plan.discoms() if m.discom_code == discom.code]
    auth = acting_as(world.plan, member.name, world.passphrase, world.plan.directory.host)
    with case.timed("registry import"):
        grid = _post_rows(http, registry, grid_rows(discom), auth)
        people = _post_rows(http, registry, result.rows, auth)
        links = _post_rows(http, registry, dt_links(discom), auth)
    failed = grid["failed"] + people["failed"] + links["failed"]
    imported = case.check(
        f"{discom.code}: registry imported grid, consumers and DT links",
        failed == 0,
        f"{grid['created'] + people['created']} created, {failed} failed",
    )
    case.point("adapter ran", adapter_ok and imported, "CIS exports of both discoms imported")
    again = _post_rows(http, registry, result.rows, auth)
    case.check(
        f"{discom.code}: re-import is idempotent",
        again["created"] == 0 and again["updated"] == 0,
        f"{again['unchanged']} unchanged",
    )
    feeder = http.get(
        f"{registry}/resolve",
        params={"scheme": "scada_tag", "scope": discom.code, "value": f"{discom.code}-F1"},
    ).json()["ies_id"]
    meters = http.get(
        f"{registry}/identities", params={"under": feeder, "type": "meter", "limit": 1000}
    ).json()["items"]
    dts = len(discom.dt_codes())  # connections go round-robin over DTs; F1 has the first
    expected = len([n for n in range(discom.consumers) if n % dts < discom.dts_per_feeder])
    case.check(
        f"{discom.code}: topology answers 'which meters are on feeder F1'",
        len(meters) == expected,
        f"{len(meters)} meters (expected {expected})",
    )
    case.counts["identities created"] = case.counts.get("identities created", 0) + (
        grid["created"] + people["created"]
    )
    return len(result.rows)


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    http = world.http
    bank = world.plan.member("bank")
    discoms = world.plan.discoms()
    bar_identity(case, world, [*discoms, bank, world.plan.directory])
    rows = 0
    issued_total = collected = verified = 0
    passports: dict[str, list[tuple[str, Any]]] = {}
    for member in discoms:
        assert member.discom_code is not None
        seed = discom_seed(member.discom_code)
        rows += onboard_from_cis(case, world, seed)
        held: list[tuple[str, Any]] = []
        for consumer in seed.network().consumers[:SAMPLE]:
            holder = wallet(world, f"{seed.code}-{consumer.number}")
            with case.timed("issue"):
                issued = http.post(
                    f"{member.url}/back-office/passports",
                    json={"consumerNumber": consumer.number, "holder": holder.did},
                )
            if issued.status_code != 201:
                case.check(f"{seed.code}: passport for {consumer.number}", False, issued.text[:200])
                continue
            issued_total += 1
            body = issued.json()
            with case.timed("wallet pull"):
                collected_response = pull(http, body["delivery"])
            if collected_response.text == body["verifiableCredential"]:
                collected += 1
                world.record("ElectricityCredential", collected_response.text)
            held.append((consumer.number, (holder, collected_response.text)))
        passports[member.name] = held
        case.check(
            f"{seed.code}: passports issued and collected through the pull URI",
            len(held) == SAMPLE and collected >= len(held),
            f"{len(held)} issued",
        )
        # The bank verifies every passport on its own (signature, did:web key, trust
        # registry, revocation registry), then one shown to it in a presentation.
        for number, (_holder, credential) in held:
            with case.timed("bank verify"):
                verdict = http.post(f"{bank.url}/credentials/verify",
                                    json={"verifiableCredential": credential}).json()  # fmt: skip
            if verdict.get("verified"):
                verified += 1
            else:
                case.check(f"{seed.code}: bank verifies {number}", False, str(verdict)[:300])
        if held:
            holder, credential = held[0][1]
            with case.timed("presentation"):
                shown = show(world, bank, holder, [credential])
            case.check(
                f"{seed.code}: the bank verifies a passport shown to it (challenge, holder)",
                bool(shown.get("verified")),
                "; ".join(shown.get("errors", [])) or f"holder {holder.did[:28]}…",
            )
    world.shared["passports"] = passports
    expected = SAMPLE * len(discoms)
    case.point("credential issued or exchange completed",
               issued_total == expected and collected == expected,
               f"{issued_total} ElectricityCredentials issued, {collected} collected")  # fmt: skip
    case.point("counterparty verified", verified == expected and all(c.passed for c in case.checks),
               f"the bank verified {verified} of {expected}")  # fmt: skip
    case.counts.update({"CIS rows read": rows, "credentials issued": issued_total,
                        "verified by the bank": verified})  # fmt: skip
    case.seconds = time.perf_counter() - started
    return case
