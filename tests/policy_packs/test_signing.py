"""Signatures: an unsigned, altered, or wrongly signed pack is never evaluated."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_packs.errors import PackSignatureInvalid, PackUnsigned
from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, load_catalogue, load_pack
from policy_packs.signing import (
    SIGNATURE_FILE,
    load_private_key,
    pack_digest,
    public_key_text,
    sign_pack,
    verify_pack,
)

from .conftest import TEST_KEYS, resign

KA = SHIPPED_PACKS / "in-ka" / "1.0.0"


def test_every_shipped_pack_is_signed_by_its_author(catalogue):
    for pack in catalogue.packs:
        assert (pack.folder / SIGNATURE_FILE).is_file()
        assert pack.signature.author == pack.manifest.author
        assert pack.digest == pack_digest(pack.folder)


def test_the_digest_is_sha256_over_the_sha256sum_listing_of_every_file_but_the_signature():
    """The canonical form of docs/policy.md, recomputed independently."""
    lines = sorted(
        (path.relative_to(KA).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest())
        for path in KA.rglob("*")
        if path.is_file() and path.name != SIGNATURE_FILE
    )
    listing = "".join(f"{digest}  {name}\n" for name, digest in lines).encode()
    assert pack_digest(KA) == "sha256:" + hashlib.sha256(listing).hexdigest()


@pytest.mark.parametrize(
    "relative", ["policy/p2p_trade.rego", "data/params.json", "manifest.yaml", "tests/cases.json"]
)
def test_one_changed_byte_in_any_file_is_refused(pack_copy, keyring, relative):
    folder = pack_copy("in-ka", "1.0.0")
    load_pack(folder, keyring)  # the copy itself is good
    path = folder / relative
    data = bytearray(path.read_bytes())
    index = data.index(b"0")  # a digit, as an attacker moving a limit would change
    data[index] = ord("9")
    path.write_bytes(bytes(data))
    with pytest.raises(PackSignatureInvalid, match="differ from what was signed"):
        load_pack(folder, keyring)


def test_an_added_file_is_refused(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    (folder / "policy" / "backdoor.rego").write_text("package ies.ka.v1.extra\nimport rego.v1\n")
    with pytest.raises(PackSignatureInvalid):
        load_pack(folder, keyring)


def test_an_unsigned_pack_is_refused(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    (folder / SIGNATURE_FILE).unlink()
    with pytest.raises(PackUnsigned):
        load_pack(folder, keyring)


def test_one_bad_pack_stops_the_whole_catalogue_from_loading(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    pack_copy("in-national", "1.0.0")
    (folder / SIGNATURE_FILE).unlink()
    with pytest.raises(PackUnsigned):
        load_catalogue(folder.parent.parent, keyring)


def test_a_regulator_cannot_sign_another_states_pack(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("regulators:kerc", "regulators:merc"))
    resign(folder, "merc")
    with pytest.raises(PackSignatureInvalid, match="may not sign packs for IN-KA"):
        load_pack(folder, keyring)


def test_a_signature_by_someone_other_than_the_manifest_author_is_refused(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    resign(folder, "merc")
    with pytest.raises(PackSignatureInvalid, match="manifest names"):
        load_pack(folder, keyring)


def test_an_untrusted_key_is_refused_even_with_a_valid_signature(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    author = "did:web:sandbox.ies.local:regulators:kerc"
    sign_pack(folder, author, "kerc-sandbox-2024", Ed25519PrivateKey.generate())
    with pytest.raises(PackSignatureInvalid, match="does not verify"):
        load_pack(folder, keyring)
    sign_pack(folder, author, "kerc-laptop", Ed25519PrivateKey.generate())
    with pytest.raises(PackSignatureInvalid, match="no trusted key"):
        load_pack(folder, keyring)


def test_a_tampered_signature_value_is_refused(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    signature = json.loads((folder / SIGNATURE_FILE).read_text())
    value = signature["signature"]
    signature["signature"] = ("A" if value[0] != "A" else "B") + value[1:]
    (folder / SIGNATURE_FILE).write_text(json.dumps(signature))
    with pytest.raises(PackSignatureInvalid):
        load_pack(folder, keyring)


def test_the_author_re_signing_a_changed_pack_makes_it_loadable_again(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    params = folder / "data" / "params.json"
    params.write_text(
        params.read_text().replace(
            '"price_ceiling_inr_per_kwh": 7.5', '"price_ceiling_inr_per_kwh": 7.75'
        )
    )
    with pytest.raises(PackSignatureInvalid):
        load_pack(folder, keyring)
    resign(folder, "kerc")
    assert (
        load_pack(folder, keyring).data["params"]["p2p_trade"]["price_ceiling_inr_per_kwh"] == 7.75
    )


def test_a_symbolic_link_in_a_pack_is_refused(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    (folder / "data" / "elsewhere.json").symlink_to(folder / "data" / "params.json")
    with pytest.raises(PackSignatureInvalid, match="symbolic link"):
        load_pack(folder, keyring)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_byte_flip_anywhere_is_refused(tmp_path_factory, keyring, data):
    folder = tmp_path_factory.mktemp("flip") / "pack"
    shutil.copytree(KA, folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SIGNATURE_FILE)
    path: Path = data.draw(st.sampled_from(files))
    content = bytearray(path.read_bytes())
    index = data.draw(st.integers(0, len(content) - 1))
    content[index] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(content))
    with pytest.raises(PackSignatureInvalid):
        verify_pack(folder, "did:web:sandbox.ies.local:regulators:kerc", "IN-KA", keyring)


def test_each_trusted_sandbox_author_has_exactly_one_named_test_key():
    assert TEST_KEYS.name == "test-only-private-keys"
    entries = json.loads(SHIPPED_KEYRING.read_text())["authors"]
    by_name = {entry["author"].rsplit(":", 1)[1]: entry for entry in entries}
    assert sorted(by_name) == sorted(p.stem for p in TEST_KEYS.glob("*.pem"))
    for name, entry in by_name.items():
        public = load_private_key(TEST_KEYS / f"{name}.pem").public_key()
        assert public_key_text(public) == entry["public_key"], name
