"""Claims to issue: the IES types' subjects come from the official examples (read from
../shared at test time), ours are written here."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.oracles import IES as IES_ROOT
from tests.oracles import errors, retrieve_deg, strict_validator
from tests.oracles import load as _load

IES = IES_ROOT / "schemas"
IES_URL = "https://india-energy-stack.github.io/ies-accelerator/schemas/"

OFFICIAL = {
    "ElectricityCredential": "ElectricityCredential/v1.2",
    "MeterDataCredential": "MeterDataCredential/v0.6",
    "MeterDataRequestCredential": "MeterDataRequestCredential/v0.1",
}


def _retrieve(uri: str) -> Resource[Any]:
    """deg/README: each schema.nfh.global URL is a file there; EnergyCredential/v2.0 is
    an OpenAPI envelope whose root constrains nothing, so its components' schema is
    registered instead (check_refs.py --strict)."""
    if uri.startswith(IES_URL):
        return DRAFT202012.create_resource(_load(IES / uri[len(IES_URL) :]))
    resource = retrieve_deg(uri)
    if uri.rstrip("/").endswith("/EnergyCredential/v2.0"):
        return DRAFT202012.create_resource(
            resource.contents["components"]["schemas"]["EnergyCredential"]
        )
    return resource


@cache
def official_validator(credential_type: str) -> Draft202012Validator:
    schema = _load(IES / OFFICIAL[credential_type] / "schema.json")
    return strict_validator(schema, Registry(retrieve=_retrieve))  # type: ignore[call-arg]


def official_errors(credential_type: str, credential: Any) -> list[str]:
    return errors(official_validator(credential_type), credential)


def official_example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = _load(IES / name)
    return document


def electricity_subjects() -> dict[str, dict[str, Any]]:
    """The connection record, the sub-metering and the parallel-metering variants."""
    folder = "ElectricityCredential/v1.2/examples/"
    return {
        variant: official_example(folder + file)["credentialSubject"]
        for variant, file in (
            ("single", "example.json"),
            ("submetering", "example-submetering.json"),
            ("parallel", "example-parallel-metering.json"),
        )
    }


def subjects(holder: str) -> dict[str, dict[str, Any]]:
    """One subject per credential type (the holder's DID as the subject where it is theirs)."""
    electricity = electricity_subjects()["single"]
    meter = official_example("MeterDataCredential/v0.6/examples/example-monthly-profile.json")
    request = official_example("MeterDataRequestCredential/v0.1/examples/example.json")
    kw = {"value": 5, "unit": "kW"}
    return {
        "ElectricityCredential": {**electricity, "id": holder},
        "MeterDataCredential": {**meter["credentialSubject"], "id": holder},
        "MeterDataRequestCredential": request["credentialSubject"],
        "ConsentReceiptCredential": {
            "id": holder,
            "consentReceipt": {
                "consentId": "c-7d1f3a",
                "status": "ACTIVE",
                "purpose": {"code": "101", "text": "Loan underwriting on energy use"},
                "dataPrincipal": holder,
                "dataConsumer": "did:web:bank.example",
                "dataProvider": "did:web:discom-a.example",
                "consentManager": "did:web:cm.example",
                "dataTypes": ["MonthlyProfile", "CustomerBillingSummary"],
                "dateRangeFrom": "2025-04-01T00:00:00+05:30",
                "dateRangeTo": "2026-03-31T23:59:59+05:30",
                "granularity": "P1M",
                "frequency": {"unit": "MONTH", "value": 1},
                "dataLife": {"unit": "MONTH", "value": 6},
                "grantedAt": "2026-04-01T10:00:00+05:30",
                "expiresAt": "2027-04-01T10:00:00+05:30",
                "legalBasis": "DPDP Act 2023 s.6 consent",
                "jurisdiction": "IN",
                "withdrawalUri": "https://cm.example/consents/c-7d1f3a/revoke",
            },
        },
        "AssetCertificationCredential": {
            "id": "did:web:discom-a.example:assets:inverter:INV-0042",
            "assetCertification": {
                "assetType": "INVERTER",
                "make": "Delta",
                "model": "RPI M6A",
                "serialNumber": "DLT-2026-000042",
                "ratedPower": kw,
                "standards": ["IS 16221-2", "IEC 62109-1"],
                "certificateNumber": "BIS-R-41012345",
                "testLaboratory": "NABL lab TC-9876",
                "testedAt": "2026-02-01T09:00:00+05:30",
                "result": "pass",
            },
        },
        "InstallerLicenceCredential": {
            "id": "did:web:installer.example",
            "installerLicence": {
                "licenceNumber": "MH-EI-2026-0099",
                "holderName": "Surya Installers Pvt Ltd",
                "licenceClass": "Electrical contractor class A",
                "assetTypes": ["SOLAR_PV", "INVERTER", "BESS"],
                "states": ["IN-MH"],
                "issuingAuthority": "Electrical Inspectorate, Maharashtra",
            },
        },
        "DERCredential": {
            "id": holder,
            "derConnection": {
                "derId": "DER-1000-0000-0000-0001",
                "connectionId": "CNX-1000-0000-0000-0002",
                "meterId": "MTR-1000-0000-0000-0003",
                "transformerId": "DTR-1000-0000-0000-0004",
                "assetType": "SOLAR_PV",
                "capacity": kw,
                "scheme": "NET_METERING",
                "commissioningDate": "2026-03-01T00:00:00+05:30",
                "state": "IN-MH",
                "applicationNumber": "DERAPP-MSEDCL-000001",
                "policyPack": "in-mh@2.0.0",
                "energyResources": [
                    {
                        "id": "DER-1000-0000-0000-0001",
                        "type": "SOLAR_PV",
                        "attributes": {
                            "ratedPower": kw,
                            "commissioningDate": "2026-03-01T00:00:00+05:30",
                        },
                        "parentResources": ["CNX-1000-0000-0000-0002"],
                    },
                    {
                        "id": "MTR-1000-0000-0000-0003",
                        "type": "METER",
                        "attributes": {"serialNumber": "BM-1", "energyDirection": "Bidirectional"},
                        "parentResources": ["DER-1000-0000-0000-0001"],
                    },
                ],
            },
        },
        "P2PTradingPermissionCredential": {
            "id": holder,
            "tradingPermission": {
                "customerNumber": "DISCOM-2025-00987654",
                "meterIds": ["did:web:discom-a.example:assets:meter:MET-EXPORT-001"],
                "platforms": ["did:web:p2p.example"],
                "maxExport": kw,
                "state": "IN-MH",
                "programme": "MERC P2P pilot 2026",
            },
        },
    }
