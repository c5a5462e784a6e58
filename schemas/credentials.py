"""Verifiable credentials of the stack: the IES families and our own, as W3C VC DM 2.0.

One pydantic model per credential type is the single declaration of its shape:
``schemas.generate`` writes its JSON Schema and its JSON-LD context from here, and
``credentials`` issues and verifies against what is shipped.

IES types (ElectricityCredential v1.2, MeterDataCredential v0.6,
MeterDataRequestCredential v0.1) follow the official schemas in ies-accelerator
(tests prove every credential we issue validates against them). Our own types
(consent receipt, asset certification, installer licence, P2P trading permission)
are what IES needs and does not define; each wraps its claims in one subject
property (``consentReceipt``, ``assetCertification``...), as MeterDataCredential
wraps ``meterData``.

Two constraints of the official schemas shape everything here:

* ``credentialStatus`` is one *object* of type ``dediregistry`` for the IES types
  (the EnergyCredential base and ElectricityCredential v1.2 both say so), so an
  IES credential carries its DeDi revocation entry only; our own types carry a
  list: the DeDi entry and Bitstring Status List entries (revocation, suspension).
* ``proof`` must carry ``proofValue`` when present: JsonWebSignature2020's ``jws``
  does not satisfy it, so IES types are secured with VC-JOSE or Ed25519Signature2020.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

VC_V2 = "https://www.w3.org/ns/credentials/v2"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
JWS_2020 = "https://w3id.org/security/suites/jws-2020/v1"
IES_CONTEXT_BASE = "https://india-energy-stack.github.io/ies-accelerator/schemas/"
OUR_CONTEXT_BASE = "https://ies-stack.org/schemas/"
DEG_VOCAB = "https://schema.nfh.global/deg#"
IES_VOCAB = "https://india-energy-stack.github.io/ies-accelerator/schemas/ies#"
OUR_VOCAB = "https://ies-stack.org/vocab#"
ENERGY_CREDENTIAL_CONTEXT = "https://schema.nfh.global/EnergyCredential/v2.0/context.jsonld"

Uri = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$", max_length=2000)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
UrnUuid = Annotated[
    str,
    StringConstraints(
        pattern=r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ),
]
StateCode = Annotated[str, StringConstraints(pattern=r"^IN-[A-Z]{2}$")]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ------------------------------------------------------------------ common parts


class IdRef(_Shape):
    """An identity the issuer holds from another authority (e.g. its SERC licence)."""

    issued_by: Uri = Field(alias="issuedBy")
    subject_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+:[A-Za-z0-9X_-]+$")] = (
        Field(alias="subjectId")
    )


class Issuer(_Shape):
    id: Uri
    name: Text
    license_number: Text | None = Field(default=None, alias="licenseNumber")
    id_ref: IdRef | None = Field(default=None, alias="idRef")


class DediStatusEntry(_Shape):
    """IES revocation: a record per credential in the issuer's ``vc-revocation-registry``.

    ``id`` is the DeDi *lookup* of this credential's hash (200 = revoked, 404 = valid);
    ``statusListCredential`` the registry. ``dedi`` is accepted as the type (seen in
    the field); we emit ``dediregistry``, the type the official schemas require.
    """

    id: Annotated[str, StringConstraints(pattern=r"^https?://\S+/dedi/lookup/\S+$")]
    type: Literal["dediregistry", "dedi"]
    status_purpose: Literal["revocation", "suspension"] = Field(alias="statusPurpose")
    status_list_credential: Uri = Field(alias="statusListCredential")


class BitstringStatusEntry(_Shape):
    """W3C Bitstring Status List v1.0 §2.1 BitstringStatusListEntry."""

    id: Uri
    type: Literal["BitstringStatusListEntry"]
    status_purpose: Literal["revocation", "suspension"] = Field(alias="statusPurpose")
    status_list_index: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")] = Field(
        alias="statusListIndex"
    )
    status_list_credential: Uri = Field(alias="statusListCredential")


class Proof(_Open):
    """A Data Integrity proof (Ed25519Signature2020: proofValue; JsonWebSignature2020: jws)."""

    type: Text
    created: datetime
    verification_method: Uri = Field(alias="verificationMethod")
    proof_purpose: Literal["assertionMethod", "authentication"] = Field(alias="proofPurpose")
    proof_value: Text | None = Field(default=None, alias="proofValue")
    jws: Text | None = None
    challenge: Text | None = None
    domain: Text | None = None


class IesProof(Proof):
    """The proof shape the IES schemas require: ``proofValue`` is mandatory."""

    proof_value: Text = Field(alias="proofValue")


class QuantitativeValue(_Shape):
    value: float
    unit: Literal[
        "W", "kW", "MW", "Wh", "kWh", "MWh", "kVA", "MVA", "kVAR", "MVAR", "V", "kV", "A", "h"
    ]


class GeoJsonGeometry(_Open):
    type: Literal[
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ]
    coordinates: list[Any] | None = None


class PostalAddress(_Shape):
    street_address: str | None = Field(default=None, alias="streetAddress")
    extended_address: str | None = Field(default=None, alias="extendedAddress")
    address_locality: str | None = Field(default=None, alias="addressLocality")
    address_region: str | None = Field(default=None, alias="addressRegion")
    postal_code: str | None = Field(default=None, alias="postalCode")
    address_country: str | None = Field(default=None, alias="addressCountry")


class Location(_Shape):
    geo: GeoJsonGeometry
    address: PostalAddress | None = None


class _Credential(BaseModel):
    """W3C VC DM 2.0 §4: what every credential of the stack has."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # The type name, its contexts and the subject property our context scopes.
    credential_type: ClassVar[str]
    schema_id: ClassVar[str]
    context_url: ClassVar[str]
    ies: ClassVar[bool] = False

    context: list[Uri] = Field(alias="@context", min_length=2)
    id: UrnUuid
    type: list[Text] = Field(min_length=2)
    issuer: Issuer
    valid_from: datetime = Field(alias="validFrom")
    valid_until: datetime | None = Field(default=None, alias="validUntil")


# ------------------------------------------------------------------ ElectricityCredential v1.2

ResourceKind = Literal[
    "METER",
    "SOLAR_PV",
    "SOLAR",
    "WIND",
    "HYDRO",
    "BIOGAS",
    "CHP",
    "FUEL_CELL",
    "BESS",
    "BATTERY",
    "EV_CHARGER",
    "EV_V2G",
    "INVERTER",
    "SMART_HVAC",
    "SMART_WATER_HEATER",
    "CONTROLLABLE_LOAD",
    "DT",
    "BUS",
    "FEEDER",
    "MICROGRID",
]


class ResourceAttributes(_Open):
    """The attribute bag of an energy resource: the common fields typed, the rest open
    (as EnergyResourceCommon/v1.1 leaves it)."""

    make: str | None = None
    model: str | None = None
    serial_number: Text | None = Field(default=None, alias="serialNumber")
    rated_power: QuantitativeValue | None = Field(default=None, alias="ratedPower")
    max_export: QuantitativeValue | None = Field(default=None, alias="maxExport")
    max_import: QuantitativeValue | None = Field(default=None, alias="maxImport")
    storage_capacity: QuantitativeValue | None = Field(default=None, alias="storageCapacity")
    commissioning_date: datetime | None = Field(default=None, alias="commissioningDate")
    location: Location | None = None
    meter_capability: Literal["AMI", "AMR", "MANUAL"] | None = Field(
        default=None, alias="meterCapability"
    )
    energy_direction: Literal["Forward", "Reverse", "Bidirectional"] | None = Field(
        default=None, alias="energyDirection"
    )


class EnergyResource(_Shape):
    id: Text
    type: ResourceKind
    attributes: ResourceAttributes | None = None
    parent_resources: list[Text] | None = Field(default=None, alias="parentResources")
    sub_resources: list[Text] | None = Field(default=None, alias="subResources")


class ConsumptionProfile(_Shape):
    meter_id: Text = Field(alias="meterId")
    sanctioned_load: QuantitativeValue = Field(alias="sanctionedLoad")
    sanctioned_export_load: QuantitativeValue | None = Field(
        default=None, alias="sanctionedExportLoad"
    )
    billing_cycle_day: int | None = Field(default=None, alias="billingCycleDay", ge=1, le=31)
    contract_max_demand: QuantitativeValue | None = Field(default=None, alias="contractMaxDemand")
    tariff_category_code: Text = Field(alias="tariffCategoryCode")
    premises_type: Literal["Residential", "Commercial", "Industrial", "Agricultural"] | None = (
        Field(default=None, alias="premisesType")
    )
    connection_type: Literal["Single-phase", "Three-phase"] | None = Field(
        default=None, alias="connectionType"
    )
    payment_mode: Literal["PREPAID", "POSTPAID"] | None = Field(
        default=None, alias="paymentMode"
    )  # same order as schemas.meterdata: typing caches equal Literals
    service_status: Literal["active", "suspended", "closed"] | None = Field(
        default=None, alias="serviceStatus"
    )


class CustomerProfile(_Shape):
    customer_number: Text = Field(alias="customerNumber")
    id_ref: IdRef | None = Field(default=None, alias="idRef")
    energy_resources: list[EnergyResource] = Field(alias="energyResources", min_length=1)
    consumption_profiles: list[ConsumptionProfile] | None = Field(
        default=None, alias="consumptionProfiles", min_length=1
    )


class CareOf(_Shape):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    relationship: Literal["parent", "spouse", "guardian", "sibling", "child", "other"] | None = None


class CustomerDetails(_Shape):
    """The personal part (DPDP Act 2023: personal data, disclosed with the credential only)."""

    full_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        alias="fullName"
    )
    care_of: CareOf | None = Field(default=None, alias="careOf")
    installation_address: Location = Field(alias="installationAddress")
    service_connection_date: datetime = Field(alias="serviceConnectionDate")


class ElectricitySubject(_Shape):
    id: Uri | None = None
    customer_profile: CustomerProfile = Field(alias="customerProfile")
    customer_details: CustomerDetails | None = Field(default=None, alias="customerDetails")


class ElectricityCredential(_Credential):
    """The consumer's connection record (Consumer Energy Passport)."""

    credential_type = "ElectricityCredential"
    schema_id = "ElectricityCredential/v1.2"
    context_url = f"{IES_CONTEXT_BASE}ElectricityCredential/v1.2/context.jsonld"
    ies = True

    credential_status: DediStatusEntry | None = Field(default=None, alias="credentialStatus")
    credential_subject: ElectricitySubject = Field(alias="credentialSubject")
    proof: IesProof | None = None


# ------------------------------------------------------------------ MeterDataCredential v0.6

MeterDataPayload = Annotated[
    dict[str, Any] | list[dict[str, Any]],
    WithJsonSchema({"$ref": f"{OUR_CONTEXT_BASE}MeterData/v0.6/schema.json"}),
]


class MeterDataSubject(_Shape):
    id: Uri | None = None
    meter_data: MeterDataPayload = Field(alias="meterData")


class EnergyIssuer(Issuer):
    """EnergyCredential v2.0: the issuer names its regulatory licence."""

    license_number: Text = Field(alias="licenseNumber")


class MeterDataCredential(_Credential):
    """Attested meter data (Consumer Meter Digest), issued by the data provider."""

    credential_type = "MeterDataCredential"
    schema_id = "MeterDataCredential/v0.6"
    context_url = f"{IES_CONTEXT_BASE}MeterDataCredential/v0.6/context.jsonld"
    ies = True

    issuer: EnergyIssuer
    credential_status: DediStatusEntry | None = Field(default=None, alias="credentialStatus")
    credential_subject: MeterDataSubject = Field(alias="credentialSubject")
    proof: IesProof | None = None


# ------------------------------------------------------------------ MeterDataRequestCredential v0.1


class MeterDataRequest(_Open):
    """MeterDataRequest v0.6, as far as the credential needs it; the request's own schema
    (protocol's) checks the rest."""

    resources: list[Text] | None = None
    scope: Text | None = None
    from_: datetime | None = Field(default=None, alias="from")
    duration: Text | None = None


class MeterDataRequestSubject(_Shape):
    id: Uri | None = None
    meter_data_request: MeterDataRequest = Field(alias="meterDataRequest")


class MeterDataRequestCredential(_Credential):
    """The requester's authorisation to ask for meter data, carried in ``confirm``."""

    credential_type = "MeterDataRequestCredential"
    schema_id = "MeterDataRequestCredential/v0.1"
    context_url = f"{IES_CONTEXT_BASE}MeterDataRequestCredential/v0.1/context.jsonld"
    ies = True

    issuer: EnergyIssuer
    credential_status: DediStatusEntry | None = Field(default=None, alias="credentialStatus")
    credential_subject: MeterDataRequestSubject = Field(alias="credentialSubject")
    proof: IesProof | None = None


# ------------------------------------------------------------------ our own types

OurStatus = list[DediStatusEntry | BitstringStatusEntry]


class Duration(_Shape):
    unit: Literal["HOUR", "DAY", "MONTH", "YEAR", "INF"]
    value: int = Field(ge=0)


class ConsentPurpose(_Shape):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
    text: Text


class ConsentReceipt(_Shape):
    """Account Aggregator artefact fields plus what ISO/IEC TS 27560 requires of a record."""

    consent_id: Text = Field(alias="consentId")
    status: Literal["ACTIVE", "PAUSED", "REVOKED", "EXPIRED"]
    purpose: ConsentPurpose
    data_principal: Uri = Field(alias="dataPrincipal")
    data_consumer: Uri = Field(alias="dataConsumer")
    data_provider: Uri = Field(alias="dataProvider")
    consent_manager: Uri = Field(alias="consentManager")
    data_types: list[Text] = Field(alias="dataTypes", min_length=1)
    date_range_from: datetime = Field(alias="dateRangeFrom")
    date_range_to: datetime = Field(alias="dateRangeTo")
    granularity: Literal["PT15M", "PT30M", "PT1H", "P1D", "P1M"]
    frequency: Duration
    data_life: Duration = Field(alias="dataLife")
    granted_at: datetime = Field(alias="grantedAt")
    expires_at: datetime = Field(alias="expiresAt")
    legal_basis: Text = Field(alias="legalBasis")
    jurisdiction: Text
    withdrawal_uri: Uri = Field(alias="withdrawalUri")


class ConsentReceiptSubject(_Shape):
    id: Uri
    consent_receipt: ConsentReceipt = Field(alias="consentReceipt")


class _OurCredential(_Credential):
    credential_status: OurStatus | None = Field(default=None, alias="credentialStatus")
    proof: Proof | None = None


class ConsentReceiptCredential(_OurCredential):
    """The consent manager's signed receipt of a consent the consumer gave (DPDP Act 2023)."""

    credential_type = "ConsentReceiptCredential"
    schema_id = "ConsentReceiptCredential/v1.0"
    context_url = f"{OUR_CONTEXT_BASE}ConsentReceiptCredential/v1.0/context.jsonld"

    credential_subject: ConsentReceiptSubject = Field(alias="credentialSubject")


class AssetCertification(_Shape):
    # SOLAR_PV: a PV module (the panels), certified like an inverter or a battery.
    asset_type: Literal["INVERTER", "SOLAR_PV", "BESS", "EV_CHARGER"] = Field(alias="assetType")
    asset_id: Text | None = Field(default=None, alias="assetId")
    make: Text
    model: Text
    serial_number: Text = Field(alias="serialNumber")
    rated_power: QuantitativeValue = Field(alias="ratedPower")
    storage_capacity: QuantitativeValue | None = Field(default=None, alias="storageCapacity")
    standards: list[Text] = Field(min_length=1)
    certificate_number: Text = Field(alias="certificateNumber")
    test_laboratory: Text = Field(alias="testLaboratory")
    tested_at: datetime = Field(alias="testedAt")
    result: Literal["pass", "conditional"]


class AssetCertificationSubject(_Shape):
    id: Uri
    asset_certification: AssetCertification = Field(alias="assetCertification")


class AssetCertificationCredential(_OurCredential):
    """A test laboratory's attestation that an inverter, PV module, BESS or EV charger
    (one serial number) meets its standards."""

    credential_type = "AssetCertificationCredential"
    schema_id = "AssetCertificationCredential/v1.0"
    context_url = f"{OUR_CONTEXT_BASE}AssetCertificationCredential/v1.0/context.jsonld"

    credential_subject: AssetCertificationSubject = Field(alias="credentialSubject")


class InstallerLicence(_Shape):
    licence_number: Text = Field(alias="licenceNumber")
    holder_name: Text = Field(alias="holderName")
    licence_class: Text = Field(alias="licenceClass")
    asset_types: list[Literal["SOLAR_PV", "INVERTER", "BESS", "EV_CHARGER"]] = Field(
        alias="assetTypes", min_length=1
    )
    states: list[StateCode] = Field(min_length=1)
    issuing_authority: Text = Field(alias="issuingAuthority")


class InstallerLicenceSubject(_Shape):
    id: Uri
    installer_licence: InstallerLicence = Field(alias="installerLicence")


class InstallerLicenceCredential(_OurCredential):
    """A licensing body's licence for an installer (who may install what, where)."""

    credential_type = "InstallerLicenceCredential"
    schema_id = "InstallerLicenceCredential/v1.0"
    context_url = f"{OUR_CONTEXT_BASE}InstallerLicenceCredential/v1.0/context.jsonld"

    credential_subject: InstallerLicenceSubject = Field(alias="credentialSubject")


class PermittedDer(_Shape):
    """A DER the prosumer sells from, as the DERCredential the platform verified says."""

    der_id: Text = Field(alias="derId")  # the registry's persistent DER-… id
    credential: Uri  # the DERCredential's id
    issuer: Uri  # the discom that connected it
    capacity: QuantitativeValue
    scheme: Literal["NET_METERING", "NET_BILLING", "GROSS_METERING"]


class TradingPermission(_Shape):
    """``maxExport`` is what the prosumer may sell: with ``exportBasis``
    ``verified_der`` it is bounded by the ``ders`` whose DERCredentials the platform
    verified; with ``declared`` it is the prosumer's own declaration (no DER shown)."""

    customer_number: Text = Field(alias="customerNumber")
    meter_ids: list[Text] = Field(alias="meterIds", min_length=1)
    platforms: list[Uri] = Field(min_length=1)
    max_export: QuantitativeValue = Field(alias="maxExport")
    max_import: QuantitativeValue | None = Field(default=None, alias="maxImport")
    export_basis: Literal["verified_der", "declared"] | None = Field(
        default=None, alias="exportBasis"
    )
    ders: list[PermittedDer] | None = Field(default=None, min_length=1)
    state: StateCode
    programme: Text
    policy_pack: Text | None = Field(default=None, alias="policyPack")


class TradingPermissionSubject(_Shape):
    id: Uri
    trading_permission: TradingPermission = Field(alias="tradingPermission")


class P2PTradingPermissionCredential(_OurCredential):
    """The discom's permission for a prosumer to trade peer to peer, within limits."""

    credential_type = "P2PTradingPermissionCredential"
    schema_id = "P2PTradingPermissionCredential/v1.0"
    context_url = f"{OUR_CONTEXT_BASE}P2PTradingPermissionCredential/v1.0/context.jsonld"

    credential_subject: TradingPermissionSubject = Field(alias="credentialSubject")


class DerConnection(_Shape):
    """A DER the discom connected: the registry's IDs, what it is, how it is metered.

    ``energyResources`` are DEG EnergyResource entries (SOLAR_PV, BESS, INVERTER and the
    bidirectional METER), so a P2P platform or a bank reads the assets in the same
    vocabulary the ElectricityCredential uses."""

    der_id: Text = Field(alias="derId")  # the registry's persistent DER-… id
    connection_id: Text = Field(alias="connectionId")
    meter_id: Text = Field(alias="meterId")  # the bidirectional meter's MTR-… id
    transformer_id: Text = Field(alias="transformerId")
    asset_type: Literal["SOLAR_PV", "BESS", "SOLAR_PV_WITH_STORAGE", "WIND", "OTHER"] = Field(
        alias="assetType"
    )
    capacity: QuantitativeValue
    storage_capacity: QuantitativeValue | None = Field(default=None, alias="storageCapacity")
    scheme: Literal["NET_METERING", "NET_BILLING", "GROSS_METERING"]
    commissioning_date: datetime = Field(alias="commissioningDate")
    state: StateCode
    application_number: Text = Field(alias="applicationNumber")
    policy_pack: Text = Field(alias="policyPack")  # id@version the approval was decided by
    energy_resources: list[EnergyResource] = Field(alias="energyResources", min_length=1)


class DerConnectionSubject(_Shape):
    id: Uri
    der_connection: DerConnection = Field(alias="derConnection")


class DERCredential(_OurCredential):
    """The discom's record that a consumer's DER is connected: asset, capacity, metering
    scheme and commissioning date, for a P2P platform or a bank to verify."""

    credential_type = "DERCredential"
    schema_id = "DERCredential/v1.0"
    context_url = f"{OUR_CONTEXT_BASE}DERCredential/v1.0/context.jsonld"

    credential_subject: DerConnectionSubject = Field(alias="credentialSubject")


CREDENTIAL_MODELS: tuple[type[_Credential], ...] = (
    ElectricityCredential,
    MeterDataCredential,
    MeterDataRequestCredential,
    ConsentReceiptCredential,
    AssetCertificationCredential,
    InstallerLicenceCredential,
    P2PTradingPermissionCredential,
    DERCredential,
)
CREDENTIAL_TYPES: dict[str, type[_Credential]] = {m.credential_type: m for m in CREDENTIAL_MODELS}


# ------------------------------------------------------------------ JSON-LD contexts
#
# Written by the project (the IES context files cannot be used as they are: the
# ElectricityCredential one redefines the protected ``credentialStatus`` of the VC v2
# context, which a conforming processor must refuse, and they ``@import`` files no
# host serves). Terms map to the IRIs the IES contexts give them, so a graph is the
# same graph whichever side expanded it. Large payloads that have their own schema
# (meterData, meterDataRequest, GeoJSON geometry) are JSON literals (``@json``): every
# byte is signed, in JCS canonical form, and no nested context is loaded.

XSD = "http://www.w3.org/2001/XMLSchema#"


def base_terms() -> dict[str, Any]:
    """Terms every credential context of the stack defines (issuer and status parts)."""
    status_terms = {
        "@protected": True,
        "statusPurpose": "deg:statusPurpose",
        "statusListCredential": {"@id": "deg:statusListCredential", "@type": "@id"},
    }
    return {
        "@version": 1.1,
        "@protected": True,
        "deg": DEG_VOCAB,
        "ies": IES_VOCAB,
        "iesx": OUR_VOCAB,
        "xsd": XSD,
        "licenseNumber": "deg:licenseNumber",
        "idRef": {
            "@id": "deg:idRef",
            "@context": {
                "issuedBy": {"@id": "deg:issuedBy", "@type": "@id"},
                "subjectId": "deg:subjectId",
            },
        },
        "dediregistry": {"@id": "deg:dediregistry", "@context": status_terms},
        "dedi": {"@id": "deg:dediregistry", "@context": status_terms},
    }


def _dated_terms(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for name, member in node.get("properties", {}).items():
            options = [member, *member.get("anyOf", [])] if isinstance(member, dict) else []
            if any(option.get("format") == "date-time" for option in options):
                found.add(name)
        for value in node.values():
            _dated_terms(value, found)
    elif isinstance(node, list):
        for value in node:
            _dated_terms(value, found)
    return found


def _scoped(vocab: str, model: type[BaseModel], json_terms: tuple[str, ...] = ()) -> dict[str, Any]:
    """A property-scoped context: every term under it in ``vocab``, dates typed."""
    schema = model.model_json_schema(by_alias=True)
    context: dict[str, Any] = {"@vocab": vocab}
    for term in sorted(_dated_terms(schema, set())):
        context[term] = {"@type": "xsd:dateTime"}
    for term in json_terms:
        context[term] = {"@type": "@json"}
    return context


def credential_context(model: type[_Credential]) -> dict[str, Any]:
    """The JSON-LD context of one credential type (shipped under ``schemas/contexts``)."""
    terms = base_terms()
    if model is ElectricityCredential:
        terms["ElectricityCredential"] = "deg:ElectricityCredential"
        for name, part in (
            ("customerProfile", CustomerProfile),
            ("customerDetails", CustomerDetails),
        ):
            scoped = _scoped(DEG_VOCAB, part, ("geo",))
            scoped["parentResources"] = {"@type": "@id"}
            terms[name] = {"@id": f"deg:{name}", "@context": scoped}
    elif model is MeterDataCredential:
        terms["MeterDataCredential"] = "ies:MeterDataCredential"
        terms["meterData"] = {"@id": "ies:meterData", "@type": "@json"}
    elif model is MeterDataRequestCredential:
        terms["MeterDataRequestCredential"] = "ies:MeterDataRequestCredential"
        terms["meterDataRequest"] = {"@id": "ies:meterDataRequest", "@type": "@json"}
    else:
        terms[model.credential_type] = f"iesx:{model.credential_type}"
        subject = model.model_fields["credential_subject"].annotation
        assert isinstance(subject, type)
        assert issubclass(subject, BaseModel)
        for name, field in subject.model_fields.items():
            if name == "id":
                continue
            claims = field.annotation
            assert isinstance(claims, type)
            assert issubclass(claims, BaseModel)
            alias = field.alias or name
            terms[alias] = {"@id": f"iesx:{alias}", "@context": _scoped(OUR_VOCAB, claims)}
    return {"@context": terms}


def energy_credential_context() -> dict[str, Any]:
    """What the IES examples' ``EnergyCredential/v2.0/context.jsonld`` stands for here:
    the issuer and status terms, identical to the ones every type's context defines."""
    return {"@context": base_terms()}


def shipped_contexts(contexts_dir: Any) -> dict[str, Any]:
    """Context URL -> the shipped file (a ``Path`` under ``contexts_dir``) for every
    credential context: each type's, and the EnergyCredential one the IES examples cite."""
    table = {
        m.context_url: contexts_dir / m.schema_id / "context.jsonld" for m in CREDENTIAL_MODELS
    }
    table[ENERGY_CREDENTIAL_CONTEXT] = contexts_dir / "EnergyCredential/v2.0/context.jsonld"
    return table
