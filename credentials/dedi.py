"""The directory (DeDi) and issuers' status lists, over HTTP: the adapters behind the
verifier's ports and the issuer's revocation writes.

``credentials`` and ``registry`` are independent building blocks: everything here
speaks the directory's public HTTP API (DeDi lookup/query, signed writes with a
``DeDi-Signature`` detached JWS). Answers are cached for a TTL (the directory's
``max-age`` by default): a revocation is seen at most that late, the trade every
DeDi client makes; ``invalidate`` drops what a writer just changed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from credentials.codecs import b64u
from credentials.did import jwk_to_raw
from credentials.keys import InvalidPublicKey, PublicKeyInfo
from credentials.ports import (
    Authorisation,
    IssuerKeys,
    KeyNotDeclared,
    StatusListView,
    StatusRecord,
    Unavailable,
)
from credentials.proofs import ProofInvalid, read_jwt, verify_jwt
from credentials.statuslist import StatusListInvalid, decode
from credentials.verify import REVOCATION_REGISTRY, parse_instant

KEY_REGISTRY = "key"
TRUST_PREFIX = (
    "vc:"  # a participant_role record's domains name the types: "vc:ElectricityCredential"
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class _TtlCache:
    def __init__(self, ttl: float, monotonic: Callable[[], float]) -> None:
        self.ttl = ttl
        self.monotonic = monotonic
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None or self.monotonic() >= entry[0]:
            return False, None
        return True, entry[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = (self.monotonic() + self.ttl, value)

    def drop(self, key: Any) -> None:
        with self._lock:
            self._entries.pop(key, None)


@dataclass(frozen=True, slots=True)
class KeyHistory:
    """What the issuer's ``key`` registry says of one key at one instant."""

    registry_exists: bool
    key: PublicKeyInfo | None


class DediReader:
    """Reads the directory: revocation records, the trust registry, issuers' key history."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        trust_namespace: str,
        trust_registry: str = "credential-issuers",
        ttl: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.trust_namespace = trust_namespace
        self.trust_registry = trust_registry
        self.cache = _TtlCache(ttl, monotonic)
        self.requests = 0

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        self.requests += 1
        try:
            return self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the directory is unreachable: {exc}") from exc

    # StatusRegistry
    def status_record(self, namespace: str, credential_hash: str) -> StatusRecord | None:
        key = ("status", namespace, credential_hash)
        hit, value = self.cache.get(key)
        if hit:
            return value  # type: ignore[no-any-return]
        path = f"/dedi/lookup/{quote(namespace, safe=':')}/{REVOCATION_REGISTRY}/{credential_hash}"
        response = self._get(path)
        found: StatusRecord | None
        if response.status_code == 404:
            found = None  # IES: absent means valid
        elif response.status_code == 200:
            data = response.json()["data"]
            purpose = data.get("meta", {}).get("statusPurpose", "revocation")
            details = data.get("details", {})
            found = StatusRecord(
                "suspension" if purpose == "suspension" else "revocation",
                details.get("reason"),
                parse_instant(details.get("revoked_at")),
            )
        else:
            raise Unavailable(f"the directory answered {response.status_code} for {path}")
        self.cache.put(key, found)
        return found

    def invalidate(self, namespace: str, credential_hash: str) -> None:
        self.cache.drop(("status", namespace, credential_hash))

    # TrustRegistry
    def authorisation(
        self, issuer: str, credential_type: str, at: datetime
    ) -> Authorisation | None:
        key = ("trust", issuer, credential_type, at)
        hit, value = self.cache.get(key)
        if hit:
            return value  # type: ignore[no-any-return]
        path = f"/dedi/query/{self.trust_namespace}/{self.trust_registry}"
        params = {"subscriber_id": issuer, "domain": TRUST_PREFIX + credential_type, "at": _iso(at)}
        response = self._get(path, params)
        if response.status_code != 200:
            raise Unavailable(f"the trust registry answered {response.status_code}")
        found: Authorisation | None = None
        for record in response.json()["data"]["records"]:
            details = record["details"]
            valid_from = parse_instant(details.get("valid_from"))
            valid_until = parse_instant(details.get("valid_until"))
            if valid_from is not None and at < valid_from:
                continue
            if valid_until is not None and at >= valid_until:
                continue
            found = Authorisation(
                issuer,
                credential_type,
                f"{self.trust_namespace}/{self.trust_registry}/{record['record_name']}",
                valid_from,
                valid_until,
            )
            break
        self.cache.put(key, found)
        return found

    # the issuer's key registry, as it stood at an instant
    def key_history(self, namespace: str, key_id: str, at: datetime) -> KeyHistory:
        key = ("key", namespace, key_id, at)
        hit, value = self.cache.get(key)
        if hit:
            return value  # type: ignore[no-any-return]
        path = f"/dedi/lookup/{quote(namespace, safe=':')}/{KEY_REGISTRY}/{quote(key_id)}"
        response = self._get(path, {"at": _iso(at)})
        if response.status_code == 404:
            slug = response.json().get("type", "") if response.content else ""
            exists = not str(slug).endswith(("registry-not-found", "namespace-not-found"))
            answer = KeyHistory(exists, None)
        elif response.status_code == 200:
            try:
                details = response.json()["data"]["details"]
                algorithm, raw = jwk_to_raw(details["public_key_jwk"])
            except (KeyError, InvalidPublicKey) as exc:
                raise Unavailable(
                    f"the key record {namespace}/{key_id} is unusable: {exc}"
                ) from exc
            answer = KeyHistory(True, PublicKeyInfo(key_id, algorithm, raw))
        else:
            raise Unavailable(f"the directory answered {response.status_code} for {path}")
        self.cache.put(key, answer)
        return answer


# ------------------------------------------------------------------ signed writes


def sign_write(
    kid: str, sign: Callable[[bytes], bytes], method: str, path: str, body: bytes, now: datetime
) -> str:
    """The directory's ``DeDi-Signature``: a detached JWS over the exact body bytes whose
    protected header binds method, path, time and a one-time ``jti`` (the directory's
    documented wire format; see docs/credentials.md)."""
    header = {
        "alg": "Ed25519",
        "kid": kid,
        "htm": method.upper(),
        "htu": path,
        "iat": int(now.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    protected = b64u(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
    signature = sign(protected.encode() + b"." + b64u(body).encode())
    return f"{protected}..{b64u(signature)}"


class DediWriter:
    """Writes to one issuer's namespace as its owner (the owner key stays in custody)."""

    def __init__(
        self,
        client: httpx.Client,
        namespace: str,
        owner_kid: str,
        sign: Callable[[bytes], bytes],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.owner_kid = owner_kid
        self.sign = sign
        self.clock = clock

    def send(self, method: str, path: str, payload: Any | None = None) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        token = sign_write(self.owner_kid, self.sign, method, path, body, self.clock())
        headers = {"DeDi-Signature": token}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self.client.request(method, path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the directory is unreachable: {exc}") from exc

    def _record_path(self, registry: str, record: str) -> str:
        return f"/dedi/namespaces/{self.namespace}/registries/{registry}/records/{record}"

    def create_registry(self, name: str, record_type: str) -> httpx.Response:
        path = f"/dedi/namespaces/{self.namespace}/registries"
        return self.send("POST", path, {"name": name, "record_type": record_type})

    def publish_key(
        self, key: PublicKeyInfo, jwk: dict[str, str], valid_from: datetime
    ) -> httpx.Response:
        details = {
            "public_key_jwk": jwk,
            "purpose": "assertionMethod",
            "valid_from": _iso(valid_from),
        }
        return self.send(
            "PUT", self._record_path(KEY_REGISTRY, key.key_id), {"details": details, "meta": {}}
        )

    # RevocationWriter
    def mark(self, credential_hash: str, purpose: str, reason: str | None) -> None:
        details: dict[str, Any] = {"reason": reason} if reason else {}
        payload = {"details": details, "meta": {"statusPurpose": purpose}}
        response = self.send(
            "PUT", self._record_path(REVOCATION_REGISTRY, credential_hash), payload
        )
        if response.status_code != 200:
            raise Unavailable(
                "the directory refused the status write: "
                f"{response.status_code} {response.text[:200]}"
            )

    def clear(self, credential_hash: str) -> None:
        response = self.send("DELETE", self._record_path(REVOCATION_REGISTRY, credential_hash))
        if response.status_code not in (200, 404):
            raise Unavailable(f"the directory refused the status delete: {response.status_code}")


# ------------------------------------------------------------------ status lists


class HttpStatusLists:
    """Fetches issuers' Bitstring Status List credentials from their own hosts (through
    the sandbox's host map, never the internet), verifies them, and caches them for
    a TTL (Bitstring Status List §6.2: verifiers cache; the list says how fresh)."""

    def __init__(
        self,
        hosts: Mapping[str, str],
        client: httpx.Client,
        keys: IssuerKeys,
        *,
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.hosts = {h.lower(): base.rstrip("/") for h, base in hosts.items()}
        self.client = client
        self.keys = keys
        self.cache = _TtlCache(ttl, monotonic)
        self.clock = clock
        self.fetches = 0

    def status_list(self, url: str) -> StatusListView:
        hit, value = self.cache.get(url)
        if hit:
            return value  # type: ignore[no-any-return]
        view = self._fetch(url)
        self.cache.put(url, view)
        return view

    def invalidate(self, url: str) -> None:
        self.cache.drop(url)

    def _fetch(self, url: str) -> StatusListView:
        parts = urlsplit(url)
        base = self.hosts.get(parts.netloc.lower())
        if parts.scheme != "https" or base is None:
            raise Unavailable(f"{url} is not on a host this verifier may reach")
        self.fetches += 1
        try:
            response = self.client.get(
                base + parts.path, headers={"Host": parts.netloc, "Accept": "application/vc+jwt"}
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"{url}: {exc}") from exc
        if response.status_code != 200:
            raise Unavailable(f"{url} answered {response.status_code}")
        token = response.text.strip()
        try:
            parts_ = read_jwt(token)
            kid = str(parts_.header.get("kid", ""))
            issued = parse_instant(parts_.payload.get("validFrom")) or self.clock()
            key = self.keys.key_for(kid, issued)
            credential = verify_jwt(token, key).payload
        except (ProofInvalid, KeyNotDeclared) as exc:
            raise Unavailable(f"{url}: the status list does not verify: {exc}") from exc
        issuer = credential.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
        subject = credential.get("credentialSubject") or {}
        if (
            "BitstringStatusListCredential" not in (credential.get("type") or [])
            or credential.get("id") != url
            or not isinstance(issuer_id, str)
            or kid.split("#")[0] != issuer_id
        ):
            raise Unavailable(f"{url} is not a status list credential of its signer")
        valid_until = parse_instant(credential.get("validUntil"))
        if valid_until is not None and self.clock() >= valid_until:
            raise Unavailable(f"{url}: the status list expired at {credential['validUntil']}")
        try:
            bitstring = decode(str(subject.get("encodedList", "")))
        except StatusListInvalid as exc:
            raise Unavailable(f"{url}: {exc}") from exc
        return StatusListView(url, issuer_id, str(subject.get("statusPurpose")), bitstring)
