"""Key custody: encrypted at rest, 0600, duplicate ids refused, keys never handed out."""

from __future__ import annotations

import stat

import pytest

from credentials.keys import (
    EncryptedFileCustody,
    KeyAlgorithm,
    KeyCustody,
    KeyExists,
    KeySettings,
    UnknownKey,
    WrongKeyType,
    verify_with,
)

PASS = b"a passphrase of some length"


def test_keys_are_encrypted_at_rest_with_mode_0600(tmp_path):
    custody = EncryptedFileCustody(tmp_path / "keys", PASS)
    assert isinstance(custody, KeyCustody)
    info = custody.create("k1", KeyAlgorithm.ED25519)
    path = tmp_path / "keys" / "k1.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # A fresh custody (a restart) decrypts with the passphrase and signs the same.
    again = EncryptedFileCustody(tmp_path / "keys", PASS)
    signature = again.sign("k1", b"message")
    assert verify_with(KeyAlgorithm.ED25519, info.raw, signature, b"message")
    assert not verify_with(KeyAlgorithm.ED25519, info.raw, signature, b"messagE")
    with pytest.raises(ValueError, match=r"password|decrypt|Bad"):
        EncryptedFileCustody(tmp_path / "keys", b"the wrong passphrase").sign("k1", b"m")


def test_a_duplicate_key_id_never_overwrites_a_key(tmp_path):
    custody = EncryptedFileCustody(tmp_path, PASS)
    first = custody.create("k1", KeyAlgorithm.ED25519)
    with pytest.raises(KeyExists):
        custody.create("k1", KeyAlgorithm.ED25519)
    assert EncryptedFileCustody(tmp_path, PASS).public_key("k1") == first


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    EncryptedFileCustody(tmp_path, PASS).create("k1", KeyAlgorithm.ED25519)
    (tmp_path / "k1.pem").chmod(0o644)
    with pytest.raises(PermissionError):
        EncryptedFileCustody(tmp_path, PASS).sign("k1", b"m")


def test_p256_signs_es256_and_x25519_only_agrees(tmp_path):
    custody = EncryptedFileCustody(tmp_path, PASS)
    issuer = custody.create("issuer", KeyAlgorithm.P256)
    signature = custody.sign("issuer", b"vc")
    assert len(signature) == 64
    assert verify_with(KeyAlgorithm.P256, issuer.raw, signature, b"vc")
    a = custody.create("a", KeyAlgorithm.X25519)
    b = custody.create("b", KeyAlgorithm.X25519)
    assert custody.agree("a", b.raw) == custody.agree("b", a.raw)
    with pytest.raises(WrongKeyType):
        custody.sign("a", b"m")
    with pytest.raises(UnknownKey):
        custody.sign("nope", b"m")
    assert custody.key_ids() == ["a", "b", "issuer"]


def test_custody_comes_from_settings_and_refuses_a_weak_passphrase(tmp_path):
    settings = KeySettings(key_dir=tmp_path / "k", key_passphrase="twelve chars!")
    assert EncryptedFileCustody.from_settings(settings).key_ids() == []
    with pytest.raises(ValueError, match="12 bytes"):
        EncryptedFileCustody.from_settings(KeySettings(key_dir=tmp_path / "k"))
    with pytest.raises(ValueError, match="key id"):
        EncryptedFileCustody(tmp_path, PASS).create("../escape", KeyAlgorithm.ED25519)
