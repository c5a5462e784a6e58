"""Who can sign in to the console: the sandbox's personas.

The sandbox seeds a few consumers of each discom (the first ones of its synthetic
network, whose meters its head-end system holds), each discom's operator, the P2P
platform's operator, the rooftop solar installer and the regulator. Each is a sign-in
account keyed by its persona key (``sandbox/console/signin.py``); a page is chosen by
persona key in its path, and only the signed-in persona's pages answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sandbox.plan import Plan
from sandbox.seed import HES_METERS, discom_seed

CONSUMERS_PER_DISCOM = 3  # within the HES sample: each has a load curve
assert CONSUMERS_PER_DISCOM <= HES_METERS

Kind = Literal["consumer", "discom", "p2p", "regulator", "installer"]


@dataclass(frozen=True, slots=True)
class Persona:
    key: str  # in the page paths: "mh-1", "discom-mh", "regulator"
    kind: Kind
    title: str
    member: str  # the participant the persona belongs to (a consumer: its discom)
    discom_code: str | None = None
    number: str | None = None  # a consumer's number in its discom's CIS
    meter: str | None = None


def personas(plan: Plan) -> list[Persona]:
    out: list[Persona] = []
    for discom in plan.discoms():
        assert discom.discom_code is not None
        seed = discom_seed(discom.discom_code)
        short = discom.name.removeprefix("discom-")
        for n, consumer in enumerate(seed.network().consumers[:CONSUMERS_PER_DISCOM], 1):
            solar = ", rooftop solar" if consumer.solar_kw > 0 else ""
            out.append(
                Persona(
                    f"{short}-{n}",
                    "consumer",
                    f"Consumer {consumer.number} ({discom.discom_code}{solar})",
                    discom.name,
                    discom.discom_code,
                    consumer.number,
                    consumer.meter_serial,
                )
            )
    for discom in plan.discoms():
        out.append(
            Persona(
                discom.name,
                "discom",
                f"{discom.discom_code} operator",
                discom.name,
                discom.discom_code,
            )
        )
    names = {m.name for m in plan.members}
    if "p2p" in names:
        out.append(Persona("p2p", "p2p", "P2P platform operator", "p2p"))
    if "installer" in names:
        out.append(Persona("installer", "installer", "Rooftop solar installer", "installer"))
    if "regulator" in names:
        out.append(Persona("regulator", "regulator", "Regulator (SERC)", "regulator"))
    return out


def legacy_scheme(discom_code: str) -> str:
    return discom_seed(discom_code).mapping.consumer.legacy_scheme
