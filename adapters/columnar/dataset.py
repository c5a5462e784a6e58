"""Interval data as Parquet, partitioned ``state=/discom=/day=`` (hive layout).

The layout is the unit of work of a discom's nightly runs: one day of one discom is
validated, aggregated and billed together, and a state's regulator reads one state.
Each dataset has a fixed schema (:data:`RAW`, :data:`READINGS`, :data:`ISSUES`), checked
on every read from each file's footer, so a file from another tool, cut short or with
a renamed column is refused with its path before any engine touches it.

Writes are atomic per partition: files are written under ``_staging/`` (ignored by
readers, as Spark and DuckDB ignore ``_``-prefixed paths) and renamed into place only
when the whole write succeeded; a failed write leaves no partition half-written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from adapters.columnar.errors import ColumnarFileInvalid, ColumnarSchemaMismatch, PartitionInvalid

PARTITION_COLUMNS = ("state", "discom", "day")
_TS = pa.timestamp("us", tz="UTC")

RAW = pa.schema(
    [
        ("meter", pa.string()),
        ("at", _TS),  # when the block closed, as the meter stamped it
        ("import_kwh", pa.float64()),
        ("export_kwh", pa.float64()),
        ("row", pa.int64()),  # position in the source stream: orders clock and duplicate checks
    ]
)
"""Blocks as read from the HES/MDM, before VEE: the adapters' landing format."""

READINGS = pa.schema(
    [
        ("meter", pa.string()),
        ("slot", pa.int64()),
        ("start", _TS),
        ("import_kwh", pa.float64()),
        ("export_kwh", pa.float64()),
        ("quality", pa.string()),  # adapters.vee.Quality
        ("method", pa.string()),
        ("reason", pa.string()),
        ("original_import_kwh", pa.float64()),
        ("original_export_kwh", pa.float64()),
    ]
)
"""Blocks after VEE, each with its quality flag, as ``adapters.vee.Reading``."""

ISSUES = pa.schema([("meter", pa.string()), ("kind", pa.string()), ("count", pa.int64())])
"""What VEE found per meter-day, as counts of ``adapters.vee.Issue`` kinds."""

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True, order=True)
class Partition:
    state: str
    discom: str
    day: str  # ISO date, local (IST) day of the meters' data

    def __post_init__(self) -> None:
        for name in PARTITION_COLUMNS:
            value = getattr(self, name)
            if not isinstance(value, str) or not _SEGMENT.match(value) or ".." in value:
                raise PartitionInvalid(f"{name}={value!r} is not a valid partition value")

    @property
    def relative(self) -> Path:
        return Path(f"state={self.state}", f"discom={self.discom}", f"day={self.day}")


@dataclass(frozen=True, slots=True)
class PartitionFile:
    partition: Partition
    path: Path


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    norm = {pa.large_string(): pa.string(), pa.string_view(): pa.string()}
    return bool(norm.get(a, a) == norm.get(b, b))


def check_file(path: Path, schema: pa.Schema) -> None:
    """Refuse a file whose footer is unreadable or whose columns differ from ``schema``."""
    try:
        found = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ColumnarFileInvalid(f"not a readable Parquet file ({exc})", file=str(path)) from None
    got = {f.name: f.type for f in found if f.name not in PARTITION_COLUMNS}
    want = {f.name: f.type for f in schema}
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted(n for n in set(want) & set(got) if not _same_type(got[n], want[n]))
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"unexpected columns {extra}")
        if wrong:
            parts.append(
                "wrong types " + ", ".join(f"{n}: {got[n]} (expected {want[n]})" for n in wrong)
            )
        raise ColumnarSchemaMismatch("; ".join(parts), file=str(path))


@dataclass(frozen=True, slots=True)
class Dataset:
    """A directory of hive-partitioned Parquet files sharing one fixed schema."""

    root: Path
    schema: pa.Schema

    def partitions(
        self,
        *,
        states: Iterable[str] | None = None,
        discoms: Iterable[str] | None = None,
        days: Iterable[str] | None = None,
    ) -> list[Partition]:
        """Partitions present, pruned by directory name (no file is opened)."""
        wanted = [set(x) if x is not None else None for x in (states, discoms, days)]
        found: list[Partition] = []
        if not self.root.is_dir():
            return found
        for state_dir in _children(self.root, "state"):
            state = state_dir.name.split("=", 1)[1]
            if wanted[0] is not None and state not in wanted[0]:
                continue
            for discom_dir in _children(state_dir, "discom"):
                discom = discom_dir.name.split("=", 1)[1]
                if wanted[1] is not None and discom not in wanted[1]:
                    continue
                for day_dir in _children(discom_dir, "day"):
                    day = day_dir.name.split("=", 1)[1]
                    if wanted[2] is None or day in wanted[2]:
                        found.append(Partition(state, discom, day))
        return sorted(found)

    def files(self, partitions: Sequence[Partition], *, check: bool = True) -> list[PartitionFile]:
        """The Parquet files of ``partitions``, each footer checked against the schema."""
        out = []
        for partition in partitions:
            for path in sorted((self.root / partition.relative).glob("*.parquet")):
                if check:
                    check_file(path, self.schema)
                out.append(PartitionFile(partition, path))
        return out

    def batches(
        self, partitions: Sequence[Partition], *, batch_size: int = 65_536
    ) -> Iterator[tuple[Partition, pa.RecordBatch]]:
        """Stream the rows of ``partitions`` a record batch at a time (flat memory)."""
        for item in self.files(partitions):
            try:
                reader = pq.ParquetFile(item.path)
                for batch in reader.iter_batches(batch_size=batch_size):
                    yield item.partition, batch
            except (pa.ArrowInvalid, OSError) as exc:
                raise ColumnarFileInvalid(f"unreadable ({exc})", file=str(item.path)) from None

    def writer(self, *, replace: bool = False) -> PartitionedWriter:
        return PartitionedWriter(self, replace=replace)


def _children(directory: Path, key: str) -> list[Path]:
    prefix = f"{key}="
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_dir() and p.name.startswith(prefix) and len(p.name) > len(prefix)
    )


@dataclass
class PartitionedWriter:
    """Stream batches into partitions; publish each partition by a rename on commit.

    One Parquet file per partition per write (row groups as batches arrive), so memory
    holds one batch, not the data. ``replace=True`` swaps a partition's whole content
    (a re-run of the nightly VEE); otherwise the new file joins those already there.
    """

    dataset: Dataset
    replace: bool = False
    _staging: Path = field(init=False)
    _open: dict[Partition, pq.ParquetWriter] = field(init=False, default_factory=dict)
    _done: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self._staging = self.dataset.root / "_staging" / uuid.uuid4().hex
        self._staging.mkdir(parents=True)

    @property
    def staging(self) -> Path:
        """Where engines that write partitioned output themselves put their files."""
        return self._staging

    def write(self, partition: Partition, data: pa.RecordBatch | pa.Table) -> None:
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        table = table.select(self.dataset.schema.names).cast(self.dataset.schema)
        writer = self._open.get(partition)
        if writer is None:
            target = self._staging / partition.relative / f"part-{uuid.uuid4().hex}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(target, self.dataset.schema, compression="zstd")
            self._open[partition] = writer
        writer.write_table(table)

    def write_rows(self, data: pa.RecordBatch | pa.Table) -> None:
        """Write rows that carry their own ``state``, ``discom`` and ``day`` columns."""
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        keys = table.select(list(PARTITION_COLUMNS)).group_by(list(PARTITION_COLUMNS)).aggregate([])
        for key in keys.to_pylist():
            mask = pc.and_(
                pc.and_(
                    pc.equal(table["state"], key["state"]), pc.equal(table["discom"], key["discom"])
                ),
                pc.equal(table["day"], key["day"]),
            )
            self.write(Partition(key["state"], key["discom"], key["day"]), table.filter(mask))

    def commit(self) -> list[Partition]:
        """Check what was staged, then publish partition by partition (one rename each)."""
        for writer in self._open.values():
            writer.close()
        self._open.clear()
        staged: dict[Partition, list[Path]] = {}
        for path in sorted(self._staging.rglob("*.parquet")):
            rel = path.relative_to(self._staging).parts
            if len(rel) != 4:
                continue
            values = [p.split("=", 1)[1] for p in rel[:3]]
            check_file(path, self.dataset.schema)
            staged.setdefault(Partition(*values), []).append(path)
        for partition, paths in sorted(staged.items()):
            self._publish(partition, paths)
        self._done = True
        shutil.rmtree(self._staging, ignore_errors=True)
        return sorted(staged)

    def _publish(self, partition: Partition, paths: list[Path]) -> None:
        final = self.dataset.root / partition.relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if self.replace or not final.exists():
            # Build the whole partition beside its place, then swap it in with renames.
            fresh = final.parent / f".{final.name}.{uuid.uuid4().hex}"
            fresh.mkdir()
            for path in paths:
                os.replace(path, fresh / f"part-{uuid.uuid4().hex}.parquet")
            old = final.parent / f".{final.name}.old-{uuid.uuid4().hex}"
            if final.exists():
                os.replace(final, old)
            os.replace(fresh, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            for path in paths:  # each file appears whole, by one rename
                os.replace(path, final / f"part-{uuid.uuid4().hex}.parquet")

    def abort(self) -> None:
        for writer in self._open.values():
            with contextlib.suppress(OSError, pa.ArrowException):  # keep the first error
                writer.close()
        self._open.clear()
        shutil.rmtree(self._staging, ignore_errors=True)
        self._done = True

    def __enter__(self) -> PartitionedWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()
