"""What can go wrong reading a discom's systems: every failure says where (file, line,
byte offset) so that an operator can find the bad record."""

from __future__ import annotations

from kernel.problems import Problem


class AdapterProblem(Problem):
    """Root of the adapters' errors."""


class DlmsDecodeError(AdapterProblem):
    slug = "dlms-decode-failed"
    title = "A DLMS/COSEM buffer could not be decoded"
    status = 422
    beckn_code = "40000"
    description = "The A-XDR bytes are cut short or malformed; `offset` is where decoding stopped."

    def __init__(self, detail: str, *, offset: int, **extensions: object) -> None:
        super().__init__(f"{detail} (at byte {offset})", offset=offset, **extensions)
        self.offset = offset


class ProfileShapeError(AdapterProblem):
    slug = "dlms-profile-shape"
    title = "A profile buffer does not match its capture objects"
    status = 422
    beckn_code = "40000"
    description = "A row has the wrong number or type of columns for the profile's capture objects."


class CisColumnsMissing(AdapterProblem):
    slug = "cis-columns-missing"
    title = "A CIS extract lacks columns its mapping needs"
    status = 422
    beckn_code = "40000"
    description = "The header of the file (line 1) lacks columns named in the discom's mapping."


class CisRowInvalid(AdapterProblem):
    slug = "cis-row-invalid"
    title = "A CIS extract row is not valid"
    status = 422
    beckn_code = "40000"
    description = "A row has a value its mapping cannot read; `file` and `line` say which."


class MappingConfigInvalid(AdapterProblem):
    slug = "adapter-config-invalid"
    title = "An adapter configuration file is not valid"
    status = 422
    beckn_code = "40000"
    description = "A discom's column mapping or VEE configuration failed validation."


class MeterDataNotAvailable(AdapterProblem):
    slug = "meter-data-not-available"
    title = "No data for this meter and period"
    status = 404
    beckn_code = "40400"
    description = "The source holds no readings for the meter in the requested period."
