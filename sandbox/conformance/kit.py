"""A whole conformance run: the kit's receiver and identity up, the items run, a report.

``conform`` is what ``ies conformance run`` calls and what the tests call: it never
raises for anything the target does (down, slow, garbage are report lines), only for
a kit that cannot stand up at all (its own registration refused).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from adapters.synthetic import IST
from consent.signatures import SigningIdentity
from credentials.keys import EncryptedFileCustody
from registry.directory.client import HttpKeyLookup
from sandbox.conformance.checks_beckn import ITEMS as BECKN_ITEMS
from sandbox.conformance.checks_consent import ITEMS as CONSENT_ITEMS
from sandbox.conformance.checks_consent import DataSubject
from sandbox.conformance.checks_consent_manager import ITEMS as MANAGER_ITEMS
from sandbox.conformance.checks_credentials import ITEMS as CREDENTIAL_ITEMS
from sandbox.conformance.identity import (
    KIT_DOMAIN,
    KitIdentity,
    new_identity,
    register_in_sandbox,
    stored_identity,
)
from sandbox.conformance.model import ROLES, Item, Report
from sandbox.conformance.receiver import KitReceiver, free_port
from sandbox.conformance.runner import Progress, run_items, unreachable
from sandbox.conformance.session import Session, Target
from sandbox.consumer_signin import consumer_session
from sandbox.legacy import hes_window
from sandbox.machine_auth import acting_as
from sandbox.plan import BECKN_KEY, DATA_NETWORK, P2P_NETWORK, Plan
from sandbox.seed import discom_seed

ALL_ITEMS: tuple[Item, ...] = BECKN_ITEMS + CREDENTIAL_ITEMS + CONSENT_ITEMS + MANAGER_ITEMS


def items_for(role: str) -> list[Item]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return [item for item in ALL_ITEMS if item.applies_to(role)]


@dataclass(slots=True)
class Sandbox:
    """A running sandbox the kit may register itself in."""

    plan: Plan
    passphrase: str

    @classmethod
    def at(cls, data_dir: Path, passphrase: str) -> Sandbox:
        return cls(Plan.read(data_dir / "plan.json"), passphrase)

    def data_subject(self, provider: str, http: httpx.Client) -> DataSubject | None:
        """A discom's first consumer, its meter and the days its HES holds, for the
        data-provider items (None for a participant that is not a discom)."""
        member = next((m for m in self.plan.discoms() if m.host == provider), None)
        if member is None or member.discom_code is None or member.state is None:
            return None
        seed = discom_seed(member.discom_code)
        consumer = seed.network().consumers[0]
        found = http.get(f"{self.plan.directory.url}/resolve", params={
            "scheme": seed.mapping.consumer.legacy_scheme, "scope": seed.code,
            "value": consumer.number, "type": "consumer"})  # fmt: skip
        if found.status_code != 200:
            return None
        first, last = hes_window(datetime.now(IST).date())
        manager, consumer_id = self.plan.member("consent").url, str(found.json()["ies_id"])
        return DataSubject(manager, consumer_id, consumer.meter_serial, first,
                           (last - first).days + 1, member.state,
                           sign_in=self.consumer_sign_in(manager, consumer_id))  # fmt: skip

    def consumer_sign_in(self, manager_url: str, consumer_id: str) -> Callable[[], dict[str, str]]:
        """The consumer signs in at the manager with a one-time code read off the
        sandbox's inbox (their "phone"), as they would in person: no backdoor."""
        inbox = self.plan.data_dir / "inbox"
        return lambda: consumer_session(manager_url, inbox, consumer_id)

    def manager_subject(self, http: httpx.Client, manager_url: str) -> DataSubject | None:
        """For the consent-manager items: the first discom's data subject at the manager
        under test, with that discom's signing identity (from the sandbox's key store)
        for the kit to play the data provider the manager serves."""
        discom = next(iter(self.plan.discoms()), None)
        subject = self.data_subject(discom.host, http) if discom is not None else None
        if discom is None or subject is None:
            return None
        custody = EncryptedFileCustody(self.plan.key_dir(discom.name), self.passphrase.encode())
        url = manager_url.rstrip("/")
        return replace(subject, consent_manager_url=url,
                       provider=SigningIdentity(discom.host, BECKN_KEY, custody),
                       sign_in=self.consumer_sign_in(url, subject.consumer_id))  # fmt: skip

    def subscriber_at(self, url: str) -> str | None:
        for member in self.plan.members:
            if member.url.rstrip("/") == url.rstrip("/"):
                return member.host
        return None


@dataclass(slots=True)
class RunOptions:
    target: str
    role: str
    directory: str
    subscriber_id: str
    network: str = DATA_NETWORK
    hosts: dict[str, str] = field(default_factory=dict)
    sandbox: Sandbox | None = None
    kit_dir: Path | None = None
    kit_port: int | None = None
    kit_url: str | None = None  # the kit's public callback base (behind a tunnel or proxy)
    kit_bind: str = "127.0.0.1"
    kit_domain: str = KIT_DOMAIN
    timeout: float = 5.0
    callback_wait: float = 5.0
    overall_seconds: float = 120.0
    only: Sequence[str] = ()
    data_subject: DataSubject | None = None


def _probe(url: str, timeout: float) -> str | None:
    """Why ``url`` cannot be judged at all, or None when it answers HTTP."""
    try:
        with httpx.Client(timeout=timeout) as http:
            http.get(url)
    except httpx.TimeoutException:
        return f"{url} did not answer within {timeout:.0f} s"
    except httpx.HTTPError as exc:
        return f"{url} is unreachable ({type(exc).__name__}: {exc})"
    return None


def conform(options: RunOptions, progress: Progress | None = None) -> Report:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    items = items_for(options.role)
    if options.only:
        items = [i for i in items if any(i.id.startswith(prefix) for prefix in options.only)]
    port = options.kit_port or free_port()
    base = options.kit_url or f"http://127.0.0.1:{port}"
    kit: KitIdentity = (
        stored_identity(options.kit_dir, base, options.kit_domain)
        if options.kit_dir is not None
        else new_identity(base, options.kit_domain)
    )

    def report(outcomes: list) -> Report:  # type: ignore[type-arg]
        return Report(options.target, options.role, options.subscriber_id, started_at,
                      time.monotonic() - started, outcomes, kit.describe())  # fmt: skip

    reason = _probe(options.target, options.timeout)
    if reason is not None:
        return report(unreachable(items, reason))
    with (
        httpx.Client(timeout=options.timeout) as http,
        httpx.Client(base_url=options.directory, timeout=options.timeout) as directory,
    ):
        data_subject = options.data_subject
        if options.sandbox is not None:
            register_in_sandbox(kit, options.sandbox.plan, options.sandbox.passphrase, directory)
            if data_subject is None and options.role == "data-provider":
                data_subject = options.sandbox.data_subject(options.subscriber_id, http)
            if data_subject is None and options.role == "consent-manager":
                data_subject = options.sandbox.manager_subject(http, options.target)
            if options.role == "credential-issuer":
                # Issuing and revoking need the issuer's own machine token (issue 15): the
                # kit, holding the run's passphrase, acts as the issuer's back office.
                plan = options.sandbox.plan
                (member,) = [m for m in plan.members if m.host == options.subscriber_id]
                http.auth = acting_as(plan, member.name, options.sandbox.passphrase, member.host)
        lookup = HttpKeyLookup(directory, default_ttl=5.0)
        receiver = KitReceiver(port, lookup, frozenset({DATA_NETWORK, P2P_NETWORK,
                                                        options.network}))  # fmt: skip
        receiver.bind(kit)
        receiver.start(options.kit_bind)
        try:
            target = Target(options.target.rstrip("/"), options.role, options.subscriber_id,
                            options.network, options.hosts, data_subject)  # fmt: skip
            session = Session(target, kit, receiver, http, directory, lookup,
                              callback_wait=options.callback_wait)  # fmt: skip
            outcomes = run_items(items, session, overall_seconds=options.overall_seconds,
                                 progress=progress)  # fmt: skip
        finally:
            receiver.stop()
    return report(outcomes)
