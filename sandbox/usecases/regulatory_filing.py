"""DISCOM Regulatory Filing: each discom computes its AT&C losses per feeder and files an
ArrFiling v0.5 with the regulator, which decides it with the state's policy pack.

The discoms' staff hand their back offices the CIS's feeder-wise billing and
collection register for the period (``sandbox.legacy.billing_register``); the back
office balances it against the feeders' SCADA input (``discom_filing``), writes the
ArrFiling and sends it signed to the regulator's inbox. MSEDCL's first register
carries a real export slip: one sub-division's units were written in Wh under a kWh
label, so its second feeder bills a thousand times its input. The regulator's pack
refuses that feeder's balance (FIL-006) and asks for corrections; the staff re-extract
the register, and the corrected filing (REVISED) supersedes the first, which the
inbox keeps as version 1 of the docket. BESCOM's filing is acknowledged as filed.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

from adapters.synthetic import IST
from sandbox.legacy import billing_register, feeder_networks, hes_window, net_metered_kwh
from sandbox.plan import Member
from sandbox.seed import discom_seed
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import bar_identity

NAME = "DISCOM Regulatory Filing"
SLIPPING_DISCOM = "MSEDCL"  # its first register has one feeder's units in Wh


def _file(
    case: UseCase, world: World, discom: Member, register: str, supersedes: str | None = None
) -> dict[str, Any] | None:
    body: dict[str, Any] = {"billingRegister": register}
    if supersedes:
        body["supersedes"] = supersedes
    with case.timed("energy audit + file + receipt"):
        response = world.http.post(f"{discom.url}/back-office/filings", json=body)
    if response.status_code != 200:
        case.check(f"{discom.discom_code}: back office files", False, response.text[:300])
        return None
    result: dict[str, Any] = response.json()
    world.record("ArrFiling", result["submission"]["arrFiling"])
    world.record("FilingSubmission", result["submission"])
    if "receipt" not in result:
        case.check(
            f"{discom.discom_code}: the inbox took the filing",
            False,
            str(result.get("problem"))[:300],
        )
        return None
    world.record("FilingReceipt", result["receipt"])
    return result


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    http = world.http
    regulator = world.plan.member("regulator")
    discoms = world.plan.discoms()
    bar_identity(case, world, [*discoms, regulator])
    first, last = hes_window(datetime.now(IST).date())
    acknowledged: list[dict[str, Any]] = []
    receipts_verified = decisions_verified = corrections = 0
    adapter_ok = True
    for discom in discoms:
        assert discom.discom_code is not None
        seed = discom_seed(discom.discom_code)
        with case.timed("CIS billing register"):
            networks = feeder_networks(seed.network(), seed.feeders_tags(), seed.dts_per_feeder)
            metered = net_metered_kwh(networks, first, last)
            slip = seed.feeders_tags()[-1] if seed.code == SLIPPING_DISCOM else None
            register = billing_register(networks, metered, first, last, wrong_unit=slip)
        result = _file(case, world, discom, register)
        if result is None:
            adapter_ok = False
            continue
        audit = result["audit"]
        adapter_ok &= case.check(
            f"{seed.code}: every feeder's input read from SCADA totals through the port",
            all(sum(a["intervals"].values()) == 96 * ((last - first).days + 1) for a in audit)
            and any("rolled-over" in a["intervals"] for a in audit)
            and any("estimated" in a["intervals"] for a in audit),
            "; ".join(f"{a['feeder']}: {a['intervals']}, {a['bills']} bills" for a in audit),
        )
        receipts_verified += _receipt_verified(case, result, regulator)
        receipt = result["receipt"]
        if slip is not None:
            codes = {v["code"] for v in receipt["decision"]["violations"]}
            case.check(
                f"{seed.code}: the pack asks for corrections of {slip}'s energy balance",
                receipt["status"] == "CORRECTIONS_REQUESTED"
                and codes == {"FIL-006"}
                and slip in receipt["decision"]["violations"][0]["message"],
                "; ".join(v["message"] for v in receipt["decision"]["violations"])[:300],
            )
            decisions_verified += _decision_logged(case, world, regulator, receipt)
            corrections += 1
            with case.timed("CIS billing register"):
                register = billing_register(networks, metered, first, last)
            result = _file(case, world, discom, register, supersedes=receipt["id"])
            if result is None:
                continue
            receipts_verified += _receipt_verified(case, result, regulator)
            receipt = result["receipt"]
            case.check(
                f"{seed.code}: the corrected filing is REVISED and supersedes the first",
                result["submission"]["arrFiling"]["filingType"] == "REVISED"
                and receipt["supersedes"] == result["submission"]["supersedes"]
                and receipt["version"] == 2,
            )
        case.check(
            f"{seed.code}: acknowledged, AT&C loss {receipt['atc_loss_pct']} %",
            receipt["status"] == "ACKNOWLEDGED" and receipt["decision"]["allow"],
            ", ".join(f"{f['feeder']} {f['atc_loss_pct']} %" for f in receipt["feeders"]),
        )
        decisions_verified += _decision_logged(case, world, regulator, receipt)
        if receipt["status"] == "ACKNOWLEDGED":
            acknowledged.append(receipt)
    with case.timed("regulator reads the inbox"):
        history_ok = _history(case, world, regulator, acknowledged)
        unsigned = http.post(f"{regulator.url}/filings", json={"arrFiling": {}})
    case.check(
        "the inbox refuses an unsigned filing",
        unsigned.status_code == 401,
        f"{unsigned.status_code} {unsigned.json().get('type')}",
    )
    expected = len(discoms)
    case.point(
        "adapter ran",
        adapter_ok,
        "CIS billing registers read; feeder input from SCADA totals (roll-over, gap)",
    )
    case.point(
        "credential issued or exchange completed",
        len(acknowledged) == expected and history_ok,
        f"{len(acknowledged)} of {expected} filings acknowledged, {corrections} after a correction",
    )
    sent = expected + corrections
    case.point(
        "counterparty verified",
        receipts_verified == sent and decisions_verified == sent,
        f"the regulator verified {sent} signed filings and logged {decisions_verified} "
        f"pack decisions; the discoms verified {receipts_verified} signed receipts",
    )
    case.counts.update(
        {
            "filings sent": sent,
            "acknowledged": len(acknowledged),
            "corrections requested": corrections,
            "receipts verified": receipts_verified,
        }
    )
    case.seconds = time.perf_counter() - started
    return case


def _receipt_verified(case: UseCase, result: dict[str, Any], regulator: Member) -> int:
    """The discom checked the commission's signature on the receipt (its directory key)."""
    by = result.get("receiptVerified", {}).get("by")
    return int(case.check(f"receipt signed by {regulator.host}", by == regulator.host, str(by)))


def _decision_logged(
    case: UseCase, world: World, regulator: Member, receipt: dict[str, Any]
) -> int:
    """The regulator's own decision log has the pack's decision on this filing."""
    decision_id = receipt["decision"]["decision_id"]
    found = world.http.get(f"{regulator.url}/policy/decisions/{decision_id}")
    ok = (
        found.status_code == 200
        and found.json()["reference"] == receipt["id"]
        and found.json()["allow"] == receipt["decision"]["allow"]
        and found.json()["pack"]["jurisdiction"] == receipt["jurisdiction"]
    )
    return int(
        case.check(
            f"decision {decision_id[:8]} in the regulator's log",
            ok,
            f"{receipt['decision']['pack_id']}@{receipt['decision']['pack_version']}",
        )
    )


def _history(
    case: UseCase, world: World, regulator: Member, acknowledged: list[dict[str, Any]]
) -> bool:
    """Every acknowledged filing's docket, read back from the inbox: the corrected one
    has both versions, the first SUPERSEDED by the second."""
    ok = True
    for receipt in acknowledged:
        versions = world.http.get(f"{regulator.url}/filings/{receipt['id']}/versions").json()
        items = versions["items"]
        chain = [(i["version"], i["status"]) for i in items]
        expected = [(n, "SUPERSEDED") for n in range(1, receipt["version"])]
        expected.append((receipt["version"], "ACKNOWLEDGED"))
        linked = all(
            a["superseded_by"] == b["id"] and b["supersedes"] == a["id"]
            for a, b in itertools.pairwise(items)
        )
        ok &= case.check(
            f"{receipt['licensee']}: the docket's history", chain == expected and linked, str(chain)
        )
    listed = 0
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = world.http.get(f"{regulator.url}/filings", params=params)
        body = page.json()
        listed += len(body["items"])
        cursor = body.get("next_cursor")
        if not cursor or listed > 50:
            break
    total = sum(r["version"] for r in acknowledged)
    ok &= case.check(
        "the inbox lists every version, page by page",
        listed == total,
        f"{listed} filings listed one per page",
    )
    return ok
