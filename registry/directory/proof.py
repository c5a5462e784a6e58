"""Domain proof: does the claimed domain publish the challenge the directory issued?

IES proves a namespace with a DNS TXT record. The sandbox has no DNS of its own, so
two adapters stand behind the :class:`DomainProof` port: the claimant publishes the
token at ``/.well-known/dedi-challenge`` on its own host (fetched over loopback
through a host -> base-URL map, with the domain in the ``Host`` header), or as a
TXT entry ``_dedi-challenge.{domain}`` in a sandbox DNS-like map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import httpx

WELL_KNOWN_PATH = "/.well-known/dedi-challenge"
TXT_PREFIX = "_dedi-challenge."


class DomainProof(Protocol):
    method: str

    def published(self, domain: str) -> list[str]:
        """Every token the domain publishes (empty when it publishes none)."""
        ...


class WellKnownProof:
    method = "well-known"

    def __init__(self, hosts: Mapping[str, str], client: httpx.Client) -> None:
        self.hosts = hosts  # kept by reference: the sandbox adds hosts as it starts them
        self.client = client

    def published(self, domain: str) -> list[str]:
        base = self.hosts.get(domain.lower())
        if base is None:
            return []
        try:
            response = self.client.get(
                base.rstrip("/") + WELL_KNOWN_PATH, headers={"Host": domain}, follow_redirects=False
            )
        except httpx.HTTPError:
            return []
        if response.status_code != 200 or len(response.content) > 4096:
            return []
        return [line.strip() for line in response.text.splitlines() if line.strip()]


class TxtRecordProof:
    method = "txt"

    def __init__(self, records: Mapping[str, Sequence[str]]) -> None:
        self.records = records

    def published(self, domain: str) -> list[str]:
        return [value.strip() for value in self.records.get(TXT_PREFIX + domain.lower(), ())]
