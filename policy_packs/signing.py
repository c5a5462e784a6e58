"""Pack digests and Ed25519 signatures, pure and without I/O beyond reading the pack.

Canonical form (docs/policy.md): every regular file of the pack folder except
``signature.json``, by its POSIX path relative to the folder, sorted by the UTF-8
bytes of that path; one line per file, ``<sha256 hex of the file's bytes>  <path>\\n``
(the format of ``sha256sum``); the pack digest is ``sha256:`` + the SHA-256 of those
lines. The author signs ``ies-policy-pack/v1\\n<digest>`` with Ed25519. Bytes are taken
as they are (no newline normalisation): what was signed is exactly what is evaluated.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from pydantic import BaseModel, ConfigDict, Field

from policy_packs.errors import PackSignatureInvalid, PackUnsigned

SIGNATURE_FILE = "signature.json"
SIGNING_CONTEXT = b"ies-policy-pack/v1\n"
ALGORITHM = "Ed25519"


def canonical_listing(folder: Path) -> bytes:
    """The lines the digest is taken over (see module docstring)."""
    entries: list[tuple[bytes, str]] = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            # A link could point outside the signed folder and change under the signature.
            raise PackSignatureInvalid(f"pack contains a symbolic link: {relative}")
        if not path.is_file() or relative == SIGNATURE_FILE:
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        entries.append((relative.encode(), f"{digest}  {relative}\n"))
    entries.sort(key=lambda entry: entry[0])
    return "".join(line for _, line in entries).encode()


def pack_digest(folder: Path) -> str:
    return "sha256:" + hashlib.sha256(canonical_listing(folder)).hexdigest()


class PackSignature(BaseModel):
    """``signature.json``: who signed which digest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: str = Field(pattern=f"^{ALGORITHM}$")
    author: str
    key_id: str
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    signature: str


@dataclass(frozen=True)
class TrustedKey:
    """A public key an author signs packs with, and the jurisdictions it may sign for."""

    author: str
    key_id: str
    public_key: Ed25519PublicKey
    jurisdictions: frozenset[str]


class TrustedAuthors(Protocol):
    """Where the engine learns which keys may sign packs (a keyring now, the directory later)."""

    def key_for(self, author: str, key_id: str) -> TrustedKey | None: ...


class KeyringEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    author: str
    key_id: str
    public_key: str = Field(description="Raw Ed25519 public key, base64url without padding")
    jurisdictions: tuple[str, ...] = Field(min_length=1)
    name: str | None = None


class Keyring(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    authors: tuple[KeyringEntry, ...]


class FileKeyring:
    """Trusted authors from a JSON file (the sandbox's test regulators ship one)."""

    def __init__(self, path: Path) -> None:
        keyring = Keyring.model_validate_json(path.read_bytes())
        self._keys = {
            (entry.author, entry.key_id): TrustedKey(
                author=entry.author,
                key_id=entry.key_id,
                public_key=Ed25519PublicKey.from_public_bytes(_b64decode(entry.public_key)),
                jurisdictions=frozenset(entry.jurisdictions),
            )
            for entry in keyring.authors
        }

    def key_for(self, author: str, key_id: str) -> TrustedKey | None:
        return self._keys.get((author, key_id))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: Ed25519PublicKey) -> str:
    return _b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def sign_pack(folder: Path, author: str, key_id: str, key: Ed25519PrivateKey) -> PackSignature:
    """Sign the pack as it is now and write ``signature.json`` beside its files."""
    digest = pack_digest(folder)
    signature = PackSignature(
        algorithm=ALGORITHM,
        author=author,
        key_id=key_id,
        digest=digest,
        signature=_b64encode(key.sign(SIGNING_CONTEXT + digest.encode())),
    )
    text = json.dumps(signature.model_dump(), indent=2) + "\n"
    (folder / SIGNATURE_FILE).write_text(text, encoding="utf-8")
    return signature


def verify_pack(
    folder: Path, author: str, jurisdiction: str, trusted: TrustedAuthors
) -> PackSignature:
    """The pack's signature if it binds exactly these bytes to a trusted author.

    Refuses: no signature; a digest that is not the files' digest (an altered pack);
    a signer other than the manifest's author; a key the trust source does not know;
    a key not entitled to the pack's jurisdiction (MERC cannot sign Karnataka's pack);
    a signature that does not verify.
    """
    path = folder / SIGNATURE_FILE
    if not path.is_file():
        raise PackUnsigned(f"pack {folder.name} has no {SIGNATURE_FILE}")
    try:
        signature = PackSignature.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise PackSignatureInvalid(f"{SIGNATURE_FILE} is malformed: {exc}") from exc
    actual = pack_digest(folder)
    if actual != signature.digest:
        raise PackSignatureInvalid(
            "the pack's files differ from what was signed", signed=signature.digest, actual=actual
        )
    if signature.author != author:
        raise PackSignatureInvalid(
            f"signed by {signature.author}, but the manifest names {author} as author"
        )
    trusted_key = trusted.key_for(signature.author, signature.key_id)
    if trusted_key is None:
        raise PackSignatureInvalid(
            f"no trusted key {signature.key_id!r} for author {signature.author}"
        )
    if jurisdiction not in trusted_key.jurisdictions:
        raise PackSignatureInvalid(f"{signature.author} may not sign packs for {jurisdiction}")
    try:
        trusted_key.public_key.verify(
            _b64decode(signature.signature), SIGNING_CONTEXT + actual.encode()
        )
    except (InvalidSignature, ValueError) as exc:
        raise PackSignatureInvalid("the signature does not verify") from exc
    return signature
