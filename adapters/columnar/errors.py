"""What can go wrong with a columnar meter-data store: every error names the file."""

from __future__ import annotations

from adapters.errors import AdapterProblem


class ColumnarFileInvalid(AdapterProblem):
    slug = "columnar-file-invalid"
    title = "A Parquet file of the meter-data store cannot be read"
    status = 422
    beckn_code = "40000"
    description = "The file is not Parquet (cut short, overwritten) or its footer is unreadable."

    def __init__(self, detail: str, *, file: str, **extensions: object) -> None:
        super().__init__(f"{file}: {detail}", file=file, **extensions)
        self.file = file


class ColumnarSchemaMismatch(AdapterProblem):
    slug = "columnar-schema-mismatch"
    title = "A partition of the meter-data store has the wrong schema"
    status = 422
    beckn_code = "40000"
    description = "A file's columns or types differ from the dataset's fixed schema."

    def __init__(self, detail: str, *, file: str, **extensions: object) -> None:
        super().__init__(f"{file}: {detail}", file=file, **extensions)
        self.file = file


class DuplicateReadings(AdapterProblem):
    slug = "columnar-duplicate-readings"
    title = "The same readings were landed twice, in different files"
    status = 409
    beckn_code = "40900"
    description = (
        "A meter's reading for one instant is in more than one file of a partition: the "
        "same export was landed twice. `files` names them; remove one before processing."
    )

    def __init__(self, detail: str, *, files: list[str], **extensions: object) -> None:
        super().__init__(f"{detail}: {', '.join(files)}", files=files, **extensions)
        self.files = files


class PartitionInvalid(AdapterProblem):
    slug = "columnar-partition-invalid"
    title = "Rows do not belong to a valid partition"
    status = 422
    beckn_code = "40000"
    description = "A row's state, discom or day is empty or not a safe path segment."


class ColumnarWorkerFailed(AdapterProblem):
    slug = "columnar-worker-failed"
    title = "The meter-data engine's worker process failed"
    status = 503
    beckn_code = "50300"
    description = (
        "The process that runs the columnar engine beside the service stopped or raised "
        "an error that is named in the detail; the next request starts it again."
    )
