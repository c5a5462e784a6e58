"""Key custody in a PKCS#11 token (an HSM, or SoftHSM2 in the sandbox and the tests).

The private key is generated inside the token as a non-extractable, sensitive object
and never leaves it: :meth:`Pkcs11Custody.sign` sends the message in and gets the
signature out, which is what the :class:`~credentials.keys.KeyCustody` port promises.
A discom plugs its own HSM in by pointing ``IES_PKCS11_LIBRARY`` at the vendor's
module; nothing else changes, so rotation (a new key id, published beside the old
one) works as it does with the file store.

Curve25519 key agreement (the Beckn encryption key) is not offered by many tokens,
SoftHSM2 2.6 among them (no ``CKM_EC_MONTGOMERY_KEY_PAIR_GEN``). Such keys go to the
``agreement`` custody when one is given (the encrypted file store), and are refused
with :class:`~credentials.keys.WrongKeyType` otherwise: better a clear refusal than an
encryption key silently kept in software when the operator asked for an HSM.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto.core import OctetString
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import NoSuchKey, PKCS11Error
from pkcs11.util.ec import encode_named_curve_parameters
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from credentials.keys import (
    KeyAlgorithm,
    KeyCustody,
    KeyError_,
    KeyExists,
    PublicKeyInfo,
    UnknownKey,
    WrongKeyType,
    check_key_id,
)
from kernel.settings import ServiceSettings

ED25519_OID = "1.3.101.112"  # RFC 8410
P256_CURVE = "secp256r1"


class TokenError(KeyError_):
    """The token refused or failed an operation (wrong PIN, no such token, device error)."""


class Pkcs11Settings(ServiceSettings):
    """Which PKCS#11 module and token hold the keys, and the user PIN that opens it."""

    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    pkcs11_library: Path = Path("/usr/lib/softhsm/libsofthsm2.so")
    pkcs11_token: str = "ies"  # noqa: S105 - the token's label, not a secret
    pkcs11_pin: SecretStr = SecretStr("")
    pkcs11_label_prefix: str = ""


@dataclass
class _OpenToken:
    key: tuple[str, str]
    session: Any
    pin_digest: bytes
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


_TOKENS: dict[tuple[str, str], _OpenToken] = {}
_TOKENS_LOCK = threading.Lock()


def _open_token(library: Path, token_label: str, pin: str) -> _OpenToken:
    """One logged-in session per token per process: PKCS#11 login is per application,
    so a second ``C_Login`` fails (CKR_USER_ALREADY_LOGGED_IN) and a ``C_Logout`` from
    one custody would log every other out."""
    key = (str(library), token_label)
    with _TOKENS_LOCK:
        token = _TOKENS.get(key)
        if token is None:
            try:
                lib = pkcs11.lib(str(library))
                session = lib.get_token(token_label=token_label).open(user_pin=pin, rw=True)
            except (PKCS11Error, RuntimeError) as exc:
                raise TokenError(
                    f"cannot open token {token_label!r} in {library}: {exc!r}"
                ) from exc
            token = _TOKENS[key] = _OpenToken(key, session, _digest(pin))
        elif not hmac.compare_digest(token.pin_digest, _digest(pin)):
            # The token is already open in this process; a wrong PIN must not ride on it.
            raise TokenError(f"cannot open token {token_label!r} in {library}: wrong PIN")
        token.users += 1
        return token


def _digest(pin: str) -> bytes:
    return hashlib.sha256(pin.encode()).digest()


def _release_token(token: _OpenToken) -> None:
    with _TOKENS_LOCK:
        token.users -= 1
        if token.users == 0:
            del _TOKENS[token.key]
            with token.lock:
                token.session.close()


class Pkcs11Custody:
    """Keys as token objects labelled ``{prefix}{key id}``, through one shared session.

    A PKCS#11 session is not safe to share between threads, and signing is fast next
    to everything around it, so one long-lived session behind a lock is enough; a
    deployment that needs more throughput runs more service processes.
    """

    def __init__(
        self,
        library: Path,
        token_label: str,
        pin: str,
        *,
        label_prefix: str = "",
        agreement: KeyCustody | None = None,
    ) -> None:
        if not pin:
            raise TokenError("a PKCS#11 user PIN is required")
        self._shared = _open_token(library, token_label, pin)
        self._lock = self._shared.lock
        self._session = self._shared.session
        self.prefix = label_prefix
        self.agreement = agreement
        self._open = True

    @classmethod
    def from_settings(
        cls, settings: Pkcs11Settings, agreement: KeyCustody | None = None
    ) -> Pkcs11Custody:
        return cls(
            settings.pkcs11_library,
            settings.pkcs11_token,
            settings.pkcs11_pin.get_secret_value(),
            label_prefix=settings.pkcs11_label_prefix,
            agreement=agreement,
        )

    def close(self) -> None:
        """Let go of the token; its session ends with the last custody using it."""
        if self._open:
            self._open = False
            _release_token(self._shared)

    @contextmanager
    def _token(self) -> Iterator[Any]:
        with self._lock:
            try:
                yield self._session
            except PKCS11Error as exc:
                raise TokenError(f"the token refused: {exc!r}") from exc

    def _label(self, key_id: str) -> str:
        return f"{self.prefix}{check_key_id(key_id)}"

    def _find(self, session: Any, key_id: str, cls: ObjectClass) -> Any | None:
        try:
            return session.get_key(object_class=cls, label=self._label(key_id))
        except NoSuchKey:
            return None

    def create(self, key_id: str, algorithm: KeyAlgorithm) -> PublicKeyInfo:
        if algorithm is KeyAlgorithm.X25519:
            if self.agreement is None:
                raise WrongKeyType("this token offers no X25519 key agreement")
            if self.prefix + key_id in self._token_labels():
                raise KeyExists(f"key id {key_id!r} already exists")
            return self.agreement.create(key_id, algorithm)
        if self.agreement is not None and key_id in self.agreement.key_ids():
            raise KeyExists(f"key id {key_id!r} already exists")
        label = self._label(key_id)
        if algorithm is KeyAlgorithm.ED25519:
            key_type, curve = KeyType.EC_EDWARDS, ED25519_OID
        else:
            key_type, curve = KeyType.EC, P256_CURVE
        with self._token() as session:
            if self._find(session, key_id, ObjectClass.PRIVATE_KEY) is not None:
                raise KeyExists(f"key id {key_id!r} already exists")
            params = session.create_domain_parameters(
                key_type, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
            )
            public, _private = params.generate_keypair(
                store=True,
                label=label,
                id=label.encode(),
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                },
            )
            raw = _raw_point(public[Attribute.EC_POINT])
        return PublicKeyInfo(key_id, algorithm, raw)

    def public_key(self, key_id: str) -> PublicKeyInfo:
        with self._token() as session:
            public = self._find(session, key_id, ObjectClass.PUBLIC_KEY)
            if public is not None:
                algorithm = (
                    KeyAlgorithm.ED25519
                    if public.key_type == KeyType.EC_EDWARDS
                    else KeyAlgorithm.P256
                )
                return PublicKeyInfo(key_id, algorithm, _raw_point(public[Attribute.EC_POINT]))
        if self.agreement is not None:
            return self.agreement.public_key(key_id)
        raise UnknownKey(f"no key {key_id!r}")

    def sign(self, key_id: str, message: bytes) -> bytes:
        """Ed25519 through CKM_EDDSA; P-256 as ES256: SHA-256 here, CKM_ECDSA in the
        token, whose output is already the 64-byte r||s JOSE wants."""
        with self._token() as session:
            private = self._find(session, key_id, ObjectClass.PRIVATE_KEY)
            if private is None:
                if self.agreement is not None and key_id in self.agreement.key_ids():
                    raise WrongKeyType("an X25519 key agrees secrets; it does not sign")
                raise UnknownKey(f"no key {key_id!r}")
            if private.key_type == KeyType.EC_EDWARDS:
                signature: bytes = private.sign(message, mechanism=Mechanism.EDDSA)
            else:
                digest = hashlib.sha256(message).digest()
                signature = private.sign(digest, mechanism=Mechanism.ECDSA)
        return signature

    def agree(self, key_id: str, peer_public: bytes) -> bytes:
        if self.agreement is None:
            raise WrongKeyType("this token offers no X25519 key agreement")
        return self.agreement.agree(key_id, peer_public)

    def _token_labels(self) -> list[str]:
        with self._token() as session:
            found = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
            return [str(obj.label) for obj in found]

    def key_ids(self) -> list[str]:
        ours = [label.removeprefix(self.prefix) for label in self._token_labels()
                if label.startswith(self.prefix)]  # fmt: skip
        extra = self.agreement.key_ids() if self.agreement is not None else []
        return sorted({*ours, *extra})


def _raw_point(ec_point: bytes) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 v2.40 §2.3.3);
    some modules return the bare point, which is passed through."""
    try:
        inner = OctetString.load(ec_point).native
    except (ValueError, TypeError):
        return ec_point
    return inner if isinstance(inner, bytes) and len(inner) in (32, 65) else ec_point
