"""Loading, verifying and choosing packs: a pack is evaluated only after all of this holds.

A pack folder (``packs/<pack-id>/<version>/``) holds ``manifest.yaml`` (or
``manifest.json``), ``policy/*.rego`` (Rego v1, packages under the manifest's
``rego_package``), ``data/*.json`` (mounted at ``data.<rego_package>.<file stem>``),
``tests/*.json`` (the pack's own cases) and ``signature.json``. The signature is checked
first, over the exact bytes, before anything in the pack is parsed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kernel.yamlio import load_yaml
from policy_packs.errors import NoPackInForce, PackInvalid, PackNotFound
from policy_packs.manifest import NATIONAL, Manifest, PackCase, PackCases
from policy_packs.regolint import package_of, v1_errors
from policy_packs.signing import PackSignature, TrustedAuthors, verify_pack

SHIPPED_PACKS = Path(__file__).parent / "packs"
SHIPPED_KEYRING = Path(__file__).parent / "keys" / "trusted_authors.json"


@dataclass(frozen=True)
class Pack:
    """A verified pack: its manifest, sources, data and own cases, and the signed digest."""

    manifest: Manifest
    folder: Path
    digest: str
    signature: PackSignature
    modules: Mapping[str, str]
    data: Mapping[str, Any]
    cases: tuple[PackCase, ...] = field(default=())

    @property
    def key(self) -> str:
        return self.manifest.key

    def data_document(self) -> dict[str, Any]:
        """The pack's data files nested under its package root, as one base document."""
        document: dict[str, Any] = dict(self.data)
        for segment in reversed(self.manifest.rego_package.split(".")):
            document = {segment: document}
        return document


def read_manifest(folder: Path) -> Manifest:
    for name, parse in (("manifest.yaml", load_yaml), ("manifest.json", json.loads)):
        path = folder / name
        if path.is_file():
            try:
                return Manifest.model_validate(parse(path.read_text(encoding="utf-8")))
            except (ValidationError, ValueError, yaml.YAMLError) as exc:
                raise PackInvalid(f"{path}: {exc}", errors=[str(exc)]) from exc
    raise PackInvalid(f"{folder} has no manifest.yaml or manifest.json")


def load_pack(folder: Path, trusted: TrustedAuthors) -> Pack:
    """Verify the signature, then parse and check everything the pack holds."""
    manifest = read_manifest(folder)
    signature = verify_pack(folder, manifest.author, manifest.jurisdiction, trusted)
    errors: list[str] = []
    modules: dict[str, str] = {}
    packages: set[str] = set()
    for path in sorted((folder / "policy").glob("*.rego")):
        relative = path.relative_to(folder).as_posix()
        source = path.read_text(encoding="utf-8")
        modules[relative] = source
        errors.extend(f"{relative}: {error}" for error in v1_errors(source))
        package = package_of(source)
        if package is None or not package.startswith(manifest.rego_package + "."):
            errors.append(f"{relative}: package {package} is not under {manifest.rego_package}")
        elif package is not None:
            packages.add(package)
    for domain in manifest.domains:
        if f"{manifest.rego_package}.{domain}" not in packages:
            errors.append(f"no module declares package {manifest.rego_package}.{domain}")
    data: dict[str, Any] = {}
    for path in sorted((folder / "data").glob("*.json")):
        if path.stem in {package.rsplit(".", 1)[-1] for package in packages}:
            errors.append(f"data/{path.name} would collide with the module of the same name")
        try:
            data[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            errors.append(f"data/{path.name}: {exc}")
    cases: list[PackCase] = []
    for path in sorted((folder / "tests").glob("*.json")):
        try:
            cases.extend(PackCases.model_validate_json(path.read_bytes()).cases)
        except ValidationError as exc:
            errors.append(f"tests/{path.name}: {exc}")
    for case in cases:
        if case.domain not in manifest.domains:
            errors.append(f"case {case.name!r} is for a domain the pack does not cover")
        unknown = [code for code in case.violations if manifest.rule(code) is None]
        if unknown:
            errors.append(f"case {case.name!r} expects undeclared rules {unknown}")
    if errors:
        raise PackInvalid(f"pack {manifest.key} is not valid", errors=errors)
    return Pack(
        manifest=manifest,
        folder=folder,
        digest=signature.digest,
        signature=signature,
        modules=modules,
        data=data,
        cases=tuple(cases),
    )


def pack_folders(root: Path) -> Iterator[Path]:
    """Every ``<pack-id>/<version>/`` folder under ``root`` that has a manifest."""
    for manifest in sorted(root.glob("*/*/manifest.*")):
        if manifest.name in {"manifest.yaml", "manifest.json"}:
            yield manifest.parent


class Catalogue:
    """The verified packs, and which one is in force for a jurisdiction, domain and date."""

    def __init__(self, packs: Iterable[Pack]) -> None:
        self._packs: dict[str, Pack] = {}
        for pack in packs:
            if pack.key in self._packs:
                raise PackInvalid(f"pack {pack.key} is loaded twice")
            self._packs[pack.key] = pack
        self._check_no_overlap()

    def _check_no_overlap(self) -> None:
        """Two packs of one jurisdiction in force on the same day for one domain is an error."""
        packs = sorted(self._packs.values(), key=lambda p: p.manifest.effective_from)
        for index, first in enumerate(packs):
            for second in packs[index + 1 :]:
                a, b = first.manifest, second.manifest
                if a.jurisdiction != b.jurisdiction or not set(a.domains) & set(b.domains):
                    continue
                if a.effective_to is None or a.effective_to >= b.effective_from:
                    raise PackInvalid(f"packs {a.key} and {b.key} are in force on the same days")

    @property
    def packs(self) -> tuple[Pack, ...]:
        return tuple(self._packs.values())

    def get(self, pack_id: str, version: str) -> Pack:
        pack = self._packs.get(f"{pack_id}@{version}")
        if pack is None:
            raise PackNotFound(f"no pack {pack_id}@{version}")
        return pack

    def in_force(self, on: dt.date) -> list[Pack]:
        return sorted(
            (pack for pack in self._packs.values() if pack.manifest.in_force(on)),
            key=lambda pack: (pack.manifest.jurisdiction, pack.manifest.id),
        )

    def select(self, jurisdiction: str, domain: str, on: dt.date) -> Pack:
        """The jurisdiction's pack in force on ``on``, else the national default's."""
        for candidate in (jurisdiction, NATIONAL):
            for pack in self._packs.values():
                m = pack.manifest
                if m.jurisdiction == candidate and domain in m.domains and m.in_force(on):
                    return pack
        raise NoPackInForce(
            f"no pack for {domain} in force in {jurisdiction} (or {NATIONAL}) on {on}",
            jurisdiction=jurisdiction,
            domain=domain,
            as_of=on.isoformat(),
        )

    def by_package_root(self, path: str) -> Pack | None:
        """The pack whose ``rego_package`` prefixes a dotted document path."""
        for pack in self._packs.values():
            root = pack.manifest.rego_package
            if path == root or path.startswith(root + "."):
                return pack
        return None


def load_catalogue(root: Path, trusted: TrustedAuthors) -> Catalogue:
    return Catalogue(load_pack(folder, trusted) for folder in pack_folders(root))
