"""DER Visibility: per-feeder DER aggregates with no personal data.

Each discom publishes, for the head-end window, one signed document per discom:
per feeder, the DTs and connections under it, its DER count and capacity by kind
(the registry's topology and the discom's net-metering register), its 15-minute
peak, its flows each way and the prosumers' export share (SCADA integrated totals
and meter data). Cells over fewer than k DERs are withheld. The regulator, the
counterparty, fetches each document, checks its signature against the discom's
subscriber record in the directory (and that a tampered copy fails), that it names
every feeder the registry holds for the discom, that every shown cell has at least k
DERs, and that nothing in it is personal: no field outside the published shape and
no value of the discom's consumer records (names, numbers, phones, e-mails, meter
serials, pincodes, coordinates, registry ids of consumers, connections and meters).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from protocol.signing import verify
from registry.directory.client import HttpKeyLookup
from sandbox.legacy import write_extract
from sandbox.participants.discom_der import K_ANONYMITY
from sandbox.plan import Member
from sandbox.seed import DiscomSeed, discom_seed
from sandbox.usecases import UseCase, World
from sandbox.usecases.common import bar_identity

NAME = "DER Visibility"
# Every key the published document may hold: anything else could carry personal data.
PUBLISHED_KEYS = frozenset(
    {
        "@context",
        "@type",
        "discom",
        "state",
        "period",
        "from",
        "to",
        "generatedAt",
        "suppression",
        "rule",
        "k",
        "sources",
        "netMeteringRegisterRows",
        "unplacedRows",
        "feeders",
        "feeder",
        "feederId",
        "distributionTransformers",
        "connections",
        "der",
        "count",
        "capacityKw",
        "withheld",
        "byKind",
        "kind",
        "telemetry",
        "peakLoadKw",
        "forwardKwh",
        "reverseKwh",
        "reverseFlowBlocks",
        "reverseFlowShare",
        "derExportKwh",
        "derExportShare",
        "exportWithheld",
    }
)


def personal_values(seed: DiscomSeed, folder: Path) -> set[str]:
    """Every personal value of the discom's consumer records, from its CIS export (what
    the registry was seeded with): identifiers, names, contacts, serials, places."""
    import csv

    mapping = seed.mapping
    path = folder / f"{seed.code}-cis.csv"
    folder.mkdir(parents=True, exist_ok=True)
    write_extract(seed.network(), mapping, seed.place, path)
    columns = [
        mapping.consumer.legacy_id,
        mapping.connection.legacy_id,
        mapping.consumer.name,
        mapping.consumer.phone,
        mapping.consumer.email,
        mapping.connection.contract,
        mapping.meter.serial,
        mapping.address.pincode,
        mapping.address.lat,
        mapping.address.lon,
    ]
    found: set[str] = set()
    with path.open(newline="", encoding=mapping.encoding) as handle:
        for row in csv.DictReader(handle, delimiter=mapping.delimiter):
            found |= {row[c] for c in columns if c and row.get(c)}
    return found


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for value in node.values() for k in _keys(value)}
    if isinstance(node, list):
        return {k for value in node for k in _keys(value)}
    return set()


def personal_found(document: dict[str, Any], body: str, personal: set[str]) -> list[str]:
    """Personal values in the document: any leaf equal to one, or any long one inside
    the body's text (a name or a serial inside a longer string)."""
    leaves = {str(leaf) for leaf in _leaves(document)}
    hits = {p for p in personal if p in leaves}
    hits |= {p for p in personal if len(p) >= 8 and p in body}
    return sorted(hits)


def registry_ids(http: httpx.Client, feeder_ids: list[str]) -> set[str]:
    """The registry ids of every consumer-side record under the feeders."""
    found: set[str] = set()
    for feeder in feeder_ids:
        for kind in ("connection", "meter", "consumer"):
            page = http.get("/identities", params={"type": kind, "under": feeder, "limit": 1000})
            if page.status_code == 200:
                found |= {i["id"] for i in page.json()["items"]}
    return found


def _publication(
    world: World, case: UseCase, discom: Member, keys: HttpKeyLookup, registry: httpx.Client
) -> dict[str, Any] | None:
    assert discom.discom_code is not None
    seed = discom_seed(discom.discom_code)
    code = seed.code
    with case.timed("publish"):
        got = world.http.get(f"{discom.url}/der-visibility/feeders")
    if not case.check(
        f"{code}: aggregates published",
        got.status_code == 200,
        f"{got.status_code}, {len(got.content)} bytes",
    ):
        return None
    body, header = got.content, got.headers.get("Signature")
    document: dict[str, Any] = got.json()
    world.record("der:aggregates", document)
    world.record("der:signed", {"signature": header, "body": body.decode()})
    with case.timed("verify"):
        try:
            verdict = verify(header, body, keys)
            signed = verdict.params.subscriber_id == discom.host
            detail = f"signed by {verdict.params.key_ref}"
        except Exception as exc:  # the precise refusal is the detail
            signed, detail = False, f"{type(exc).__name__}: {exc}"
    case.check(f"{code}: the discom's signature verifies (directory key)", signed, detail)
    tampered = body.replace(b'"connections":', b'"connections":1', 1)
    try:
        verify(header, tampered, keys)
        refused = False
    except Exception:
        refused = True
    case.check(f"{code}: a tampered copy does not verify", refused, "one figure changed")

    feeder_ids = []
    for tag in seed.feeders_tags():
        resolved = registry.get(
            "/resolve", params={"scheme": "scada_tag", "scope": code, "value": tag}
        )
        feeder_ids.append(resolved.json()["ies_id"] if resolved.status_code == 200 else tag)
    published = document.get("feeders") or []
    case.check(
        f"{code}: every registry feeder published",
        sorted(f["feederId"] for f in published) == sorted(feeder_ids),
        f"{len(published)} feeders",
    )
    extra = _keys(document) - PUBLISHED_KEYS
    personal = personal_values(seed, world.scratch / "der-visibility")
    personal |= registry_ids(registry, feeder_ids)
    hits = personal_found(document, body.decode(), personal)
    case.check(
        f"{code}: no personal field or value",
        not extra and not hits and len(personal) > 0,
        f"extra keys {sorted(extra)}; values {hits[:5]}"
        if extra or hits
        else f"none of {len(personal)} personal values appears",
    )
    cells = [c for f in published for c in [f["der"], *f["der"]["byKind"]]]
    small = [c for c in cells if not c["withheld"] and (c["count"] or 0) < K_ANONYMITY]
    hidden = [c for c in cells if c["withheld"] and (c["count"], c["capacityKw"]) != (None, None)]
    case.check(
        f"{code}: cells under k = {K_ANONYMITY} withheld",
        not small and not hidden,
        f"{sum(c['withheld'] for c in cells)} of {len(cells)} cells withheld",
    )
    case.counts["DER cells shown"] = case.counts.get("DER cells shown", 0) + sum(
        not c["withheld"] for c in cells
    )
    case.counts["DER cells withheld (< k)"] = case.counts.get("DER cells withheld (< k)", 0) + sum(
        c["withheld"] for c in cells
    )
    case.counts["feeders published"] = case.counts.get("feeders published", 0) + len(published)
    return document if signed else None


def play(world: World) -> UseCase:
    case = UseCase(NAME)
    started = time.perf_counter()
    discoms = world.plan.discoms()
    regulator = world.plan.member("regulator")
    bar_identity(case, world, [*discoms, regulator])
    registry = httpx.Client(base_url=world.plan.directory.url, timeout=10)
    keys = HttpKeyLookup(registry)
    documents = [_publication(world, case, d, keys, registry) for d in discoms]
    registry.close()
    verified = [d for d in documents if d is not None]
    sources_ok = all(
        d["sources"]["netMeteringRegisterRows"] > 0
        and d["sources"]["unplacedRows"] == 0
        and all(f["telemetry"]["forwardKwh"] > 0 for f in d["feeders"])
        for d in verified
    )
    rows = sum(d["sources"]["netMeteringRegisterRows"] for d in verified)
    case.point(
        "adapter ran",
        len(verified) == len(discoms) and sources_ok,
        f"{rows} net-metering rows placed on feeders through the registry; SCADA "
        "integrated totals read through the feeder-energy port",
    )
    case.point(
        "credential issued or exchange completed",
        len(verified) == len(discoms),
        f"{len(verified)} signed publications fetched",
    )
    case.point(
        "counterparty verified",
        len(verified) == len(discoms) and all(c.passed for c in case.checks),
        "the regulator checked signature, tamper, feeders, k and personal data",
    )
    case.counts["signatures verified"] = len(verified)
    case.seconds = time.perf_counter() - started
    return case
