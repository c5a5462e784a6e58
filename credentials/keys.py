"""Keys: generation, public-key codecs, and private-key custody behind a port.

A participant's private keys never leave its custody: callers ask the custody to
*sign* (or to agree a shared secret), they never receive the key. The default
custody is a directory of PKCS#8 files, each encrypted with the best scheme
``cryptography`` offers under a passphrase from settings and written with mode
0600 inside a 0700 directory; an HSM or a cloud KMS plugs in behind the same
:class:`KeyCustody` protocol (IES conformance checklist item 12: keys in a KMS/HSM).
"""

from __future__ import annotations

import base64
import os
import re
import stat
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class KeyAlgorithm(StrEnum):
    """What a key is for: Beckn signing, Beckn encryption, credential issuing."""

    ED25519 = "Ed25519"
    X25519 = "X25519"
    P256 = "P-256"

    @property
    def can_sign(self) -> bool:
        return self is not KeyAlgorithm.X25519


PrivateKey = ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | x25519.X25519PublicKey | ec.EllipticCurvePublicKey


class KeyError_(Exception):  # noqa: N801 - the builtin KeyError is taken
    """Root of custody failures."""


class KeyExists(KeyError_):
    """A key id is used once: overwriting a private key would orphan every signature."""


class UnknownKey(KeyError_):
    """No key with that id in this custody."""


class WrongKeyType(KeyError_):
    """The key cannot do what was asked (an X25519 key cannot sign)."""


class InvalidPublicKey(ValueError):
    """Bytes that are not a public key of the expected algorithm."""


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    key_id: str
    algorithm: KeyAlgorithm
    raw: bytes  # Ed25519/X25519: the 32 raw bytes; P-256: the 65-byte uncompressed point

    @property
    def b64(self) -> str:
        """Standard base64 of the raw key: the Beckn ``signing_public_key`` form."""
        return base64.b64encode(self.raw).decode()


# Key ids end up in file names and in Beckn keyIds ("sub|key|ed25519"): no separators.
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


def check_key_id(key_id: str) -> str:
    if not _KEY_ID.match(key_id):
        raise ValueError(f"key id {key_id!r}: 1-128 of A-Z a-z 0-9 . _ - (no separators)")
    return key_id


def generate(algorithm: KeyAlgorithm) -> PrivateKey:
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm is KeyAlgorithm.X25519:
        return x25519.X25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def algorithm_of(key: PrivateKey | PublicKey) -> KeyAlgorithm:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return KeyAlgorithm.ED25519
    if isinstance(key, x25519.X25519PrivateKey | x25519.X25519PublicKey):
        return KeyAlgorithm.X25519
    if isinstance(key.curve, ec.SECP256R1):
        return KeyAlgorithm.P256
    raise InvalidPublicKey(f"unsupported curve {key.curve.name}")


def raw_public(key: PrivateKey | PublicKey) -> bytes:
    public = key.public_key() if not isinstance(key, PublicKey) else key
    if isinstance(public, ec.EllipticCurvePublicKey):
        return public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public(algorithm: KeyAlgorithm, raw: bytes) -> PublicKey:
    try:
        if algorithm is KeyAlgorithm.ED25519:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        if algorithm is KeyAlgorithm.X25519:
            return x25519.X25519PublicKey.from_public_bytes(raw)
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise InvalidPublicKey(f"not a raw {algorithm.value} public key: {exc}") from exc


def decode_b64_key(algorithm: KeyAlgorithm, text: str) -> bytes:
    """Base64 (standard or url-safe, padded or not) of a raw public key, checked."""
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except ValueError as exc:
        raise InvalidPublicKey("not base64") from exc
    load_public(algorithm, raw)
    return raw


def sign_with(key: PrivateKey, message: bytes) -> bytes:
    """Ed25519: the 64-byte signature; P-256: ES256's 64-byte r||s (RFC 7518 §3.4)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    raise WrongKeyType("an X25519 key agrees secrets; it does not sign")


def verify_with(algorithm: KeyAlgorithm, raw_public_key: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        public = load_public(algorithm, raw_public_key)
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(sig, msg)
            return True
        if isinstance(public, ec.EllipticCurvePublicKey) and len(sig) == 64:
            der = encode_dss_signature(int.from_bytes(sig[:32]), int.from_bytes(sig[32:]))
            public.verify(der, msg, ec.ECDSA(hashes.SHA256()))
            return True
    except (InvalidSignature, InvalidPublicKey):
        return False
    return False


@runtime_checkable
class KeyCustody(Protocol):
    """Where a participant's private keys live. Nothing here hands a private key out."""

    def create(self, key_id: str, algorithm: KeyAlgorithm) -> PublicKeyInfo:
        """Generate and keep a new key; :class:`KeyExists` if the id is taken."""
        ...

    def public_key(self, key_id: str) -> PublicKeyInfo: ...

    def sign(self, key_id: str, message: bytes) -> bytes: ...

    def agree(self, key_id: str, peer_public: bytes) -> bytes:
        """X25519 shared secret with a peer's raw public key."""
        ...

    def key_ids(self) -> list[str]: ...


class KeySettings(ServiceSettings):
    """Where the file custody keeps keys and the passphrase that encrypts them."""

    model_config = SettingsConfigDict(env_prefix="IES_", extra="ignore")

    key_dir: Path = Path("var/keys")
    key_passphrase: SecretStr = SecretStr("")


class EncryptedFileCustody:
    """PKCS#8 files encrypted at rest (BestAvailableEncryption), mode 0600, one per key.

    Decrypted keys are kept in memory after first use: the scrypt-based key
    derivation costs tens of milliseconds, which the hot signing path must not pay.
    """

    def __init__(self, directory: Path, passphrase: bytes) -> None:
        if len(passphrase) < 12:
            raise ValueError("the key passphrase must be at least 12 bytes")
        self.directory = directory
        self._passphrase = passphrase
        self._loaded: dict[str, PrivateKey] = {}
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)

    @classmethod
    def from_settings(cls, settings: KeySettings) -> EncryptedFileCustody:
        return cls(settings.key_dir, settings.key_passphrase.get_secret_value().encode())

    def _path(self, key_id: str) -> Path:
        return self.directory / f"{check_key_id(key_id)}.pem"

    def create(self, key_id: str, algorithm: KeyAlgorithm) -> PublicKeyInfo:
        path = self._path(key_id)
        key = generate(algorithm)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        try:
            # O_EXCL: a second create under the same id fails instead of overwriting.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise KeyExists(f"key id {key_id!r} already exists") from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        with self._lock:
            self._loaded[key_id] = key
        return PublicKeyInfo(key_id, algorithm, raw_public(key))

    def _key(self, key_id: str) -> PrivateKey:
        key = self._loaded.get(key_id)
        if key is not None:
            return key
        path = self._path(key_id)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise UnknownKey(f"no key {key_id!r}") from exc
        if mode & 0o077:
            raise PermissionError(f"{path} is readable by others (mode {mode:o}); refusing")
        loaded = serialization.load_pem_private_key(data, password=self._passphrase)
        if not isinstance(
            loaded,
            ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey,
        ):
            raise WrongKeyType(f"{key_id!r} is not an Ed25519, X25519 or P-256 key")
        with self._lock:
            self._loaded[key_id] = loaded
        return loaded

    def public_key(self, key_id: str) -> PublicKeyInfo:
        key = self._key(key_id)
        return PublicKeyInfo(key_id, algorithm_of(key), raw_public(key))

    def sign(self, key_id: str, message: bytes) -> bytes:
        return sign_with(self._key(key_id), message)

    def agree(self, key_id: str, peer_public: bytes) -> bytes:
        key = self._key(key_id)
        if not isinstance(key, x25519.X25519PrivateKey):
            raise WrongKeyType(f"{key_id!r} is not an X25519 key")
        peer = load_public(KeyAlgorithm.X25519, peer_public)
        assert isinstance(peer, x25519.X25519PublicKey)
        return key.exchange(peer)

    def key_ids(self) -> list[str]:
        return sorted(path.stem for path in self.directory.glob("*.pem"))
