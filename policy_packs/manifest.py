"""The pack manifest: what a regulator declares about a pack, validated once at load.

A manifest names the pack (id, version, jurisdiction, programme), when it is in force,
who wrote it (a directory identity), which Rego package root its modules live under,
and for every rule the code the Rego emits, the human-readable intent and the
regulation clause it encodes. The engine joins a violation's code to this entry, so the
clause a refusal cites always comes from the signed manifest.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Domain = Literal[
    "onboarding",
    "p2p_trade",
    "consent",
    "meter_data_sharing",
    "filing",
    "der_connection",
]
DOMAINS: tuple[Domain, ...] = (
    "onboarding",
    "p2p_trade",
    "consent",
    "meter_data_sharing",
    "filing",
    "der_connection",
)

NATIONAL = "IN"
# ISO 3166-2:IN subdivision codes (IN-MH, IN-KA, …) or "IN" for the national default.
JURISDICTION_PATTERN = r"^IN(-[A-Z]{2})?$"
_REGO_PATH = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_DID = re.compile(r"^did:web:[A-Za-z0-9.\-_%:]+$")


class Citation(BaseModel):
    """The public instrument a rule encodes, as precisely as the author is sure of."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str = Field(min_length=3, description="Title of the act, rules or regulations")
    clause: str | None = Field(
        default=None, description="Clause, rule or section; absent when not pinned down"
    )
    note: str | None = Field(
        default=None, description="Where the value or clause is uncertain, say so here"
    )

    def render(self) -> str:
        return f"{self.instrument}, {self.clause}" if self.clause else self.instrument


class Rule(BaseModel):
    """One rule of a pack: the code its Rego emits and what it means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,3}-[0-9]{3}$")
    domain: Domain
    intent: str = Field(min_length=10)
    cites: tuple[Citation, ...] = Field(min_length=1)

    @property
    def clause(self) -> str:
        return "; ".join(citation.render() for citation in self.cites)


class Manifest(BaseModel):
    """``manifest.yaml`` (or ``manifest.json``) at the root of a pack folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{1,62}$")
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")
    title: str = Field(min_length=3)
    jurisdiction: str = Field(pattern=JURISDICTION_PATTERN)
    programme: str = Field(min_length=2)
    effective_from: dt.date
    effective_to: dt.date | None = Field(
        default=None, description="Last day in force (inclusive); open-ended when absent"
    )
    author: str = Field(description="The author's directory identity (did:web)")
    rego_package: str = Field(
        description="Package root: every module is `<rego_package>.<domain>`; unique per "
        "pack version so that all packs load side by side into one OPA"
    )
    domains: tuple[Domain, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = Field(min_length=1)
    note: str | None = None

    @field_validator("author")
    @classmethod
    def _author_is_did_web(cls, value: str) -> str:
        if not _DID.match(value):
            raise ValueError("author must be a did:web identity")
        return value

    @field_validator("rego_package")
    @classmethod
    def _package_is_rego_path(cls, value: str) -> str:
        if not _REGO_PATH.match(value):
            raise ValueError("rego_package must be dotted lower-case identifiers")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        codes = [rule.code for rule in self.rules]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"rule codes declared twice: {duplicates}")
        if len(set(self.domains)) != len(self.domains):
            raise ValueError("a domain is listed twice")
        stray = sorted({rule.code for rule in self.rules if rule.domain not in self.domains})
        if stray:
            raise ValueError(f"rules for domains the pack does not cover: {stray}")
        bare = sorted(set(self.domains) - {rule.domain for rule in self.rules})
        if bare:
            raise ValueError(f"domains without any rule: {bare}")
        return self

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def rule(self, code: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.code == code), None)

    def decision_path(self, domain: str) -> str:
        """The Rego document that holds a domain's decision (OPA Data API path, dotted)."""
        return f"{self.rego_package}.{domain}.decision"


class PackCase(BaseModel):
    """One of a pack's own tests: an input and the decision the pack must reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=3)
    domain: Domain
    input: dict[str, object]
    allow: bool
    violations: tuple[str, ...] = Field(
        default=(), description="Exactly the rule codes the decision must cite"
    )

    @model_validator(mode="after")
    def _allow_means_no_violation(self) -> PackCase:
        if self.allow == bool(self.violations):
            raise ValueError("an allowed case lists no violations; a denied case lists some")
        return self


class PackCases(BaseModel):
    """``tests/*.json`` in a pack folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: tuple[PackCase, ...] = Field(min_length=1)
