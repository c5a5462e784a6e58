"""One run's shared state: the target, the kit's identities and receiver, the wire.

Checks talk to the target only through a :class:`Session`: it signs with the kit's
keys (``protocol.signing``), posts over real HTTP with a bounded timeout, judges the
target's Ack with the stack's own ``protocol.sending.judge_ack``, and remembers what
each exchange produced so several items can judge one exchange without repeating it.
Every transport failure becomes :class:`~sandbox.conformance.model.Unjudgeable` with
a one-line reason (down, slow, garbage), never a traceback.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from protocol.client import new_context
from protocol.envelope import Context
from protocol.errors import AckRefused
from protocol.sending import AckPolicy, AckVerdict, Prepared, judge_ack, sign_body
from protocol.signing import digest_value
from registry.directory.keys import KeyLookup
from sandbox.conformance.identity import KitIdentity, KitKey
from sandbox.conformance.model import Evidence, Failed, Unjudgeable, clip
from sandbox.conformance.receiver import Arrival, KitReceiver

SUBSCRIBERS = "subscribers.beckn.one"


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # the participant's base URL (its web host)
    role: str
    subscriber_id: str
    network: str
    hosts: dict[str, str] = field(default_factory=dict)  # DNS for did:web in a sandbox
    data_subject: object | None = None  # checks_consent.DataSubject, for a data provider


@dataclass(slots=True)
class Sent:
    """One message the kit posted and what came back."""

    prepared: Prepared
    url: str
    status: int | None
    body: bytes
    signature_header: str | None
    ack: AckVerdict | None
    ack_problem: str | None  # why the Ack could not be trusted, if it could not
    failure: str | None  # transport failure

    def evidence(self, label: str) -> Evidence:
        sent = f"POST {self.url}\nAuthorization: {self.prepared.authorization}\n\n"
        answer = (
            f"HTTP {self.status}\nSignature: {self.signature_header}\n\n{clip(self.body, 1500)}"
            if self.failure is None
            else self.failure
        )
        return Evidence(label, clip(sent.encode() + self.prepared.body, 3000), answer,
                        self.prepared.digest)  # fmt: skip

    @property
    def nack_code(self) -> str | None:
        return self.ack.error_code if self.ack is not None else None


class Session:
    def __init__(
        self,
        target: Target,
        kit: KitIdentity,
        receiver: KitReceiver,
        http: httpx.Client,
        directory: httpx.Client,
        lookup: KeyLookup,
        *,
        callback_wait: float = 5.0,
    ) -> None:
        self.target = target
        self.kit = kit
        self.receiver = receiver
        self.http = http
        self.directory = directory
        self.lookup = lookup
        self.callback_wait = callback_wait
        self._memo: dict[str, Any] = {}
        self._lock = threading.RLock()

    # -------------------------------------------------------------- memo

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        """The value of ``make`` computed once per run (an exchange several items judge);
        a failure is remembered too, so every item that needs it reports the same cause."""
        with self._lock:
            if name not in self._memo:
                try:
                    self._memo[name] = ("ok", make())
                except Exception as exc:
                    self._memo[name] = ("error", exc)
            kind, value = self._memo[name]
        if kind == "error":
            raise value
        return value

    # -------------------------------------------------------------- HTTP

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.get(url, **kwargs)
        except httpx.TimeoutException:
            raise Unjudgeable(f"GET {url}: no answer within the kit's timeout") from None
        except httpx.HTTPError as exc:
            raise Unjudgeable(f"GET {url}: unreachable ({type(exc).__name__}: {exc})") from None

    def json_of(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise Unjudgeable(
                f"{what}: the answer is not JSON (HTTP {response.status_code}: "
                f"{clip(response.text, 120)!r})"
            ) from None

    # -------------------------------------------------------------- directory

    def subscriber_records(self, subscriber_id: str | None = None) -> list[dict[str, Any]]:
        """The live subscriber records of ``subscriber_id`` (the target's by default)."""
        wanted = subscriber_id or self.target.subscriber_id
        path = f"/dedi/query/{quote(wanted, safe=':')}/{SUBSCRIBERS}"
        try:
            response = self.directory.get(path)
        except httpx.HTTPError as exc:
            raise Unjudgeable(f"the directory is unreachable: {exc}") from None
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise Unjudgeable(f"the directory answered {response.status_code} to {path}")
        data = self.json_of(response, path).get("data", {})
        return [
            r
            for r in data.get("records", [])
            if r.get("state") == "live" and r.get("details", {}).get("subscriber_id") == wanted
        ]

    def subscriber_record(self) -> dict[str, Any]:
        def find() -> dict[str, Any]:
            records = [
                r
                for r in self.subscriber_records()
                if r["details"].get("status", "SUBSCRIBED") == "SUBSCRIBED"
            ]
            if not records:
                raise Failed(
                    f"no live subscriber record of {self.target.subscriber_id} in the directory"
                )
            return records[-1]

        record: dict[str, Any] = self.once("subscriber-record", find)
        return record

    @property
    def beckn_url(self) -> str:
        details = self.subscriber_record()["details"]
        return str(details.get("url") or details.get("subscriber_url")).rstrip("/")

    # -------------------------------------------------------------- signed messages

    def document(self, action: str, key: KitKey, message: dict[str, Any], *,
                 message_id: str | None = None, transaction_id: str | None = None,
                 answering: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """A Beckn document from the kit (as ``key``) to the target."""
        if action.startswith("on_"):
            asked = answering or {}
            context = new_context(
                action, network_id=self.target.network,
                bap_id=asked.get("bapId", self.target.subscriber_id),
                bap_uri=asked.get("bapUri", self.beckn_url),
                bpp_id=key.subscriber_id, bpp_uri=self.kit.url_of(key),
                transaction_id=transaction_id or asked.get("transactionId"),
                message_id=message_id or asked.get("messageId"),
            )  # fmt: skip
        else:
            context = new_context(
                action, network_id=self.target.network, bap_id=key.subscriber_id,
                bap_uri=self.kit.url_of(key), transaction_id=transaction_id,
                message_id=message_id,
            )  # fmt: skip
            if self.target.role != "gateway":
                context["bppId"] = self.target.subscriber_id
                context["bppUri"] = self.beckn_url
        return {"context": context, "message": message}

    def sign(self, document: dict[str, Any], key: KitKey, *, created: int | None = None,
             ttl: int = 30) -> Prepared:  # fmt: skip
        body = json.dumps(document, separators=(",", ":")).encode()
        context = Context.model_validate(document["context"])
        when = created if created is not None else int(time.time())
        return sign_body(context, body, key, when, ttl)

    def post(self, prepared: Prepared, key: KitKey, *, body: bytes | None = None,
             log: bool = True) -> Sent:  # fmt: skip
        """POST ``prepared`` (or other ``body`` bytes under its signature: a tampered
        message) to the target's Beckn endpoint for its action; judge the Ack."""
        url = f"{self.beckn_url}/{prepared.action}"
        raw = prepared.body if body is None else body
        if log:
            context = json.loads(prepared.body)["context"]
            self.receiver.log_sent(key, self.target.subscriber_id, prepared.action, context,
                                   prepared.digest, prepared.signature)  # fmt: skip
        headers = {"Authorization": prepared.authorization, "Content-Type": "application/json"}
        try:
            response = self.http.post(url, content=raw, headers=headers)
        except httpx.TimeoutException:
            return Sent(prepared, url, None, b"", None, None, None,
                        f"no answer within the kit's timeout from {url}")  # fmt: skip
        except httpx.HTTPError as exc:
            return Sent(prepared, url, None, b"", None, None, None,
                        f"{url} is unreachable ({type(exc).__name__})")  # fmt: skip
        signature = response.headers.get("signature")
        sent_as = Prepared(prepared.action, prepared.context, raw, digest_value(raw),
                           prepared.authorization)  # fmt: skip
        try:
            ack = judge_ack(response.content, signature, sent_as, self.target.subscriber_id,
                            self.lookup, AckPolicy.STRICT)  # fmt: skip
            problem = None
        except AckRefused as exc:
            ack, problem = None, exc.detail
        return Sent(prepared, url, response.status_code, response.content, signature, ack,
                    problem, None)  # fmt: skip

    def send(self, action: str, key: KitKey, message: dict[str, Any], **kwargs: Any) -> Sent:
        return self.post(self.sign(self.document(action, key, message, **kwargs), key), key)

    def callbacks(self, message_id: str, *, wait: float | None = None,
                  count: int = 1) -> list[Arrival]:  # fmt: skip
        """What arrived at the kit's endpoints for ``message_id`` (waiting up to ``wait``)."""
        return self.receiver.wait_for(
            lambda a: a.message_id == message_id, self.callback_wait if wait is None else wait,
            count,
        )  # fmt: skip


def require_ack(sent: Sent, label: str) -> None:
    """A legitimate message must be ACKed, with an Ack the kit could verify."""
    evidence = [sent.evidence(label)]
    if sent.failure is not None:
        raise Unjudgeable(sent.failure, evidence)
    if sent.ack is None:
        raise Failed(
            f"{label}: HTTP {sent.status} from {sent.url}, not a signed Ack the kit can "
            f"trust ({clip(sent.ack_problem or '', 200)})",
            evidence,
        )
    if sent.ack.status != "ACK":
        hint = " (is the kit registered in this network?)" if sent.ack.error_code == "40105" else ""
        raise Failed(f"{label}: NACK {sent.ack.error_code}: {sent.ack.error_message}{hint}",
                     evidence)  # fmt: skip


def new_id() -> str:
    return str(uuid.uuid4())
