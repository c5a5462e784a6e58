"""Everything the registry can refuse, each with its own problem type."""

from __future__ import annotations

from kernel.problems import Problem


class RegistryProblem(Problem):
    """Root of the registry's errors."""


class InvalidIdentifier(RegistryProblem):
    slug = "invalid-identifier"
    title = "The identifier is malformed"
    status = 400
    beckn_code = "40001"
    description = "Wrong shape or a failed Verhoeff check digit: refused before any lookup."


class UnknownEntityType(RegistryProblem):
    slug = "unknown-entity-type"
    title = "Unknown entity type"
    status = 400
    beckn_code = "40002"
    description = "The type (or identifier prefix) is not one the registry knows."


class IdentityNotFound(RegistryProblem):
    slug = "identity-not-found"
    title = "No such identity"
    status = 404
    beckn_code = "40401"
    description = "The identifier is well formed but was never issued by this registry."


class LegacyIdNotFound(RegistryProblem):
    slug = "legacy-id-not-found"
    title = "The legacy identifier is not mapped"
    status = 404
    beckn_code = "40402"
    description = "No mapping from this legacy identifier was valid at the time asked."


class AmbiguousLegacyId(RegistryProblem):
    slug = "ambiguous-legacy-id"
    title = "The legacy identifier names identities of several types"
    status = 409
    beckn_code = "40903"
    description = (
        "Ask again with `type`: the source system uses the number for more than one thing."
    )


class DuplicateLegacyId(RegistryProblem):
    slug = "duplicate-legacy-id"
    title = "The legacy identifier is already mapped"
    status = 409
    beckn_code = "40901"
    description = (
        "A legacy identifier maps to one IES identity at a time; it is already mapped to "
        "another identity for an overlapping period."
    )


class InvalidTopology(RegistryProblem):
    slug = "invalid-topology"
    title = "The network relation is not allowed"
    status = 422
    beckn_code = "42201"
    description = (
        "Relations follow the network: meter -> connection -> distribution transformer -> "
        "feeder -> substation; a DER or EV charger sits behind a connection."
    )


class InvalidAttributes(RegistryProblem):
    slug = "invalid-attributes"
    title = "Attributes do not fit the entity type"
    status = 422
    beckn_code = "42202"
    description = "Each type has its own attributes; `errors` lists every one that failed."


class PersonalDataNotAllowed(RegistryProblem):
    slug = "personal-data-not-allowed"
    title = "Personal data is not allowed here"
    status = 422
    beckn_code = "42203"
    description = (
        "Identities, addresses and legacy identifiers carry no name, phone or Aadhaar "
        "number; personal data is kept apart and only for consumers."
    )


class IdentityRetired(RegistryProblem):
    slug = "identity-retired"
    title = "The identity is retired"
    status = 409
    beckn_code = "40902"
    description = "A retired identity is kept for history but takes no new relations."


class ImportFormatError(RegistryProblem):
    slug = "import-format-error"
    title = "The import file cannot be read"
    status = 400
    beckn_code = "40003"
    description = (
        "The file as a whole is unreadable (wrong columns, unknown content type, "
        "not UTF-8); row-level problems are reported per row instead."
    )


class ImportRejected(RegistryProblem):
    slug = "import-rejected"
    title = "The import was rejected and nothing was written"
    status = 422
    beckn_code = "42204"
    description = "An atomic import met broken rows; the report lists them and no row was kept."


class ForeignDiscom(RegistryProblem):
    slug = "foreign-discom"
    title = "The record belongs to another discom"
    status = 403
    beckn_code = "40301"
    description = (
        "A discom writes only its own records: an identity whose address names its discom "
        "code, related only to its own records. Creating, changing, retiring, relating or "
        "importing another discom's records (or records that name no discom) is refused "
        "and changes nothing; in a bulk import the row is reported with this reason."
    )
