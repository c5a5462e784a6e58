"""Bitstring Status Lists as a verifier sees them: served signed by the issuer, fetched
from the issuer's own host, cached for a TTL, refused when they are not the issuer's."""

from __future__ import annotations

import pytest

from credentials.dedi import HttpStatusLists
from credentials.ports import Unavailable
from credentials.proofs import read_jwt
from credentials.statuslist import get_bit

from .conftest import ISSUER, ISSUER_HOST, CredStack
from .samples import subjects


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_verifiers_cache_status_lists_for_their_ttl(creds: CredStack) -> None:
    issued = creds.issue(
        "ConsentReceiptCredential", subjects(creds.holder.did)["ConsentReceiptCredential"]
    )
    entry = read_jwt(issued.json()["verifiableCredential"]).payload["credentialStatus"][1]
    index, url = int(entry["statusListIndex"]), entry["statusListCredential"]
    assert url == f"https://{ISSUER_HOST}/credentials/status-lists/{ISSUER_HOST}/revocation"
    clock = Clock()
    lists = HttpStatusLists(
        creds.lists.hosts, creds.lists.client, creds.ports.keys, ttl=300, monotonic=clock
    )
    first = lists.status_list(url)
    assert (first.issuer, first.purpose, get_bit(first.bitstring, index)) == (
        ISSUER,
        "revocation",
        False,
    )
    assert len(first.bitstring) * 8 == 131_072
    creds.http.post(
        "/credentials/status", json={"credentialId": issued.json()["id"], "status": "revoked"}
    )
    clock.now += 299
    assert not get_bit(lists.status_list(url).bitstring, index)  # still the cached list
    assert lists.fetches == 1
    clock.now += 2
    assert get_bit(lists.status_list(url).bitstring, index)
    assert lists.fetches == 2


def test_a_status_list_off_the_issuers_host_or_not_a_list_is_refused(creds: CredStack) -> None:
    with pytest.raises(Unavailable, match="not on a host"):
        creds.lists.status_list("https://elsewhere.example/credentials/status-lists/x/revocation")
    with pytest.raises(Unavailable, match="answered 404"):
        creds.lists.status_list(
            f"https://{ISSUER_HOST}/credentials/status-lists/nobody.example/revocation"
        )
