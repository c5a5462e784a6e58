"""Keys in a PKCS#11 token (SoftHSM2): they sign like the file store's, never leave the
token, and the port's refusals hold. The exchange, directory and credential suites run
again with every participant's keys in the token (``IES_TEST_CUSTODY=pkcs11``)."""

from __future__ import annotations

import uuid

import pytest
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive

from credentials.keys import (
    EncryptedFileCustody,
    KeyAlgorithm,
    KeyExists,
    UnknownKey,
    WrongKeyType,
    verify_with,
)
from tests.hsm import CUSTODY, PIN, SOFTHSM_LIBRARY, softhsm_available, softhsm_token

# SoftHSM2's library and regopy's corrupt each other's heap in one process (a policy
# decision aborts later in the same pytest run), so the token is only loaded in the
# test command's PKCS#11 pass, which runs no policy decisions.
pytestmark = [
    pytest.mark.skipif(not softhsm_available(), reason="softhsm2 is not installed"),
    pytest.mark.skipif(CUSTODY != "pkcs11", reason="runs in the PKCS#11 pass (IES_TEST_CUSTODY)"),
]


@pytest.fixture
def custody():
    from credentials.pkcs11 import Pkcs11Custody

    hsm = Pkcs11Custody(SOFTHSM_LIBRARY, softhsm_token(), PIN, label_prefix=f"{uuid.uuid4().hex}-")
    yield hsm
    hsm.close()


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ED25519, KeyAlgorithm.P256])
def test_token_keys_sign_and_the_signatures_verify_with_the_published_key(custody, algorithm):
    info = custody.create("k1", algorithm)
    assert len(info.raw) == (32 if algorithm is KeyAlgorithm.ED25519 else 65)
    signature = custody.sign("k1", b"the signing string")
    assert verify_with(algorithm, info.raw, signature, b"the signing string")
    assert not verify_with(algorithm, info.raw, signature, b"another signing string")
    assert custody.public_key("k1") == info


def test_the_private_key_is_sensitive_and_cannot_be_read_out_of_the_token(custody):
    custody.create("k1", KeyAlgorithm.ED25519)
    with custody._token() as session:
        private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=custody._label("k1"))
        assert private[Attribute.EXTRACTABLE] is False
        with pytest.raises(AttributeSensitive):
            private[Attribute.VALUE]


def test_keys_outlive_the_session_and_rotation_keeps_both_keys_signing(custody):
    from credentials.pkcs11 import Pkcs11Custody

    old = custody.create("k1", KeyAlgorithm.ED25519)
    custody.close()
    reopened = Pkcs11Custody(SOFTHSM_LIBRARY, softhsm_token(), PIN, label_prefix=custody.prefix)
    new = reopened.create("k2", KeyAlgorithm.ED25519)  # rotation: a new id beside the old
    assert reopened.key_ids() == ["k1", "k2"]
    assert verify_with(KeyAlgorithm.ED25519, old.raw, reopened.sign("k1", b"m"), b"m")
    assert verify_with(KeyAlgorithm.ED25519, new.raw, reopened.sign("k2", b"m"), b"m")
    reopened.close()


def test_refusals_match_the_file_store(custody, tmp_path):
    custody.create("k1", KeyAlgorithm.ED25519)
    with pytest.raises(KeyExists):
        custody.create("k1", KeyAlgorithm.P256)
    with pytest.raises(UnknownKey):
        custody.sign("nope", b"m")
    with pytest.raises(ValueError, match="no separators"):
        custody.create("../escape", KeyAlgorithm.ED25519)
    with pytest.raises(WrongKeyType):  # no X25519 in SoftHSM2, and no fallback given
        custody.create("enc", KeyAlgorithm.X25519)


def test_x25519_goes_to_the_agreement_custody_when_one_is_given(tmp_path):
    from credentials.pkcs11 import Pkcs11Custody

    hsm = Pkcs11Custody(
        SOFTHSM_LIBRARY, softhsm_token(), PIN, label_prefix=f"{uuid.uuid4().hex}-",
        agreement=EncryptedFileCustody(tmp_path, b"correct horse battery staple"),
    )  # fmt: skip
    hsm.create("sig", KeyAlgorithm.ED25519)
    enc = hsm.create("enc", KeyAlgorithm.X25519)
    assert hsm.public_key("enc") == enc
    assert hsm.key_ids() == ["enc", "sig"]
    with pytest.raises(WrongKeyType):
        hsm.sign("enc", b"m")
    with pytest.raises(KeyExists):
        hsm.create("enc", KeyAlgorithm.ED25519)
    hsm.close()


def test_a_wrong_pin_or_token_is_a_clear_error():
    from credentials.pkcs11 import Pkcs11Custody, TokenError

    softhsm_token()
    with pytest.raises(TokenError, match="cannot open token"):
        Pkcs11Custody(SOFTHSM_LIBRARY, softhsm_token(), "000000")
    with pytest.raises(TokenError, match="cannot open token"):
        Pkcs11Custody(SOFTHSM_LIBRARY, "no-such-token", PIN)
    with pytest.raises(TokenError, match="PIN is required"):
        Pkcs11Custody(SOFTHSM_LIBRARY, softhsm_token(), "")


def test_a_wrong_pin_cannot_ride_on_a_session_already_open_in_the_process(custody):
    from credentials.pkcs11 import Pkcs11Custody, TokenError

    custody.create("k1", KeyAlgorithm.ED25519)  # the token is open and logged in
    with pytest.raises(TokenError, match="wrong PIN"):
        Pkcs11Custody(SOFTHSM_LIBRARY, softhsm_token(), "000000", label_prefix=custody.prefix)
