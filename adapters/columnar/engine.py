"""The dataframe engine, chosen by configuration: embedded DuckDB or a Spark cluster.

Every heavy operation is one Ibis expression (``adapters.columnar.vee``,
``adapters.columnar.aggregates``); this module only opens the backend, reads the
checked Parquet files into it and writes or streams results out. ``IES_METERDATA_ENGINE``
picks ``duckdb`` (the default: in-process, spills to disk past ``IES_METERDATA_MEMORY``)
or ``spark`` (``IES_SPARK_MASTER``: ``local[2]`` in the tests, ``spark://host:7077`` on a
cluster). Spark is an optional extra (``pip install ies[spark]``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from adapters.columnar.dataset import (
    PARTITION_COLUMNS,
    Dataset,
    Partition,
    PartitionedWriter,
    PartitionFile,
)
from adapters.columnar.errors import DuplicateReadings
from kernel.settings import ServiceSettings

if TYPE_CHECKING:
    from ibis.backends import BaseBackend


class MeterDataSettings(ServiceSettings):
    """``IES_METERDATA_ENGINE``, ``IES_SPARK_MASTER``, ``IES_METERDATA_MEMORY``…"""

    meterdata_engine: Literal["duckdb", "spark"] = "duckdb"
    meterdata_memory: str = "1GB"  # DuckDB spills to disk beyond this
    meterdata_threads: int = 0  # 0: one per core
    # One VEE query per meter-hash bucket of about this many raw rows (~20,000 meters
    # x 96 blocks): the unit of work whose memory stays flat however big the day is.
    meterdata_bucket_rows: int = 2_000_000
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 8
    # Local mode runs the executor inside the driver: its heap is the tasks' memory. 1g ran
    # out of execution memory (hash aggregate -> sort -> window) on ~2M-row buckets.
    spark_driver_memory: str = "2g"


_SPARK_CONF = {
    # No network beyond loopback, no web UI, no progress bars in logs.
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.adaptive.enabled": "true",
}


class Engine:
    """An Ibis backend plus the reading and writing around it."""

    def __init__(
        self,
        name: Literal["duckdb", "spark"],
        con: BaseBackend,
        scratch: Path,
        *,
        bucket_rows: int = 2_000_000,
    ) -> None:
        self.name = name
        self.con = con
        self._scratch = scratch
        self.bucket_rows = bucket_rows
        self._cached: list[Any] = []

    @property
    def spark(self) -> Any:
        return getattr(self.con, "_session", None)

    def read(self, dataset: Dataset, files: Sequence[PartitionFile]) -> ir.Table:
        """The files as one table with ``state``, ``discom``, ``day`` as strings."""
        paths = [str(f.path) for f in files]
        if not paths:
            empty = pa.schema(
                [*dataset.schema, *(pa.field(c, pa.string()) for c in PARTITION_COLUMNS)]
            )
            return ibis.memtable(empty.empty_table())
        if self.name == "duckdb":
            table = self.con.read_parquet(
                paths, hive_partitioning=True, hive_types_autocast=False, union_by_name=False
            )
        else:
            frame = (
                self.spark.read.option("basePath", str(dataset.root))
                .option("recursiveFileLookup", "false")
                .parquet(*paths)
            )
            name = f"ies_{uuid.uuid4().hex}"
            frame.createOrReplaceTempView(name)
            table = self.con.table(name)
        columns = [*dataset.schema.names]
        return table.select(
            *[table[c] for c in columns],
            *[table[c].cast("string").name(c) for c in PARTITION_COLUMNS],
        )

    def read_file(self, path: Path, schema: pa.Schema) -> ir.Table:
        """One unpartitioned Parquet file (a topology extract, a feeder input table),
        its footer checked against ``schema``."""
        from adapters.columnar.dataset import check_file

        check_file(path, schema)
        if self.name == "duckdb":
            return self.con.read_parquet(str(path))
        name = f"ies_{uuid.uuid4().hex}"
        self.spark.read.parquet(str(path)).createOrReplaceTempView(name)
        return self.con.table(name)

    def read_checked(
        self, dataset: Dataset, partitions: Sequence[Partition], *, unique: Sequence[str] = ()
    ) -> ir.Table:
        """Read ``partitions`` after checking each footer and, where a partition has more
        than one file, that no ``unique`` key appears in two of them (a double landing)."""
        return self.read(dataset, self.checked_files(dataset, partitions, unique=unique))

    def checked_files(
        self, dataset: Dataset, partitions: Sequence[Partition], *, unique: Sequence[str] = ()
    ) -> list[PartitionFile]:
        """``read_checked``'s checks without the read: the files, every footer checked
        and no ``unique`` key in two files of one partition."""
        files = dataset.files(partitions)
        if unique:
            self._refuse_cross_file_duplicates(dataset, files, unique)
        return files

    @contextlib.contextmanager
    def buckets(
        self, dataset: Dataset, files: Sequence[PartitionFile], count: int, *, key: str = "meter"
    ) -> Iterator[Iterator[ir.Table]]:
        """The rows of ``files`` (one partition) in ``count`` buckets by the hash of
        ``key``, one table per non-empty bucket (without partition columns).

        One streamed pass writes every bucket to scratch Parquet (the engine's own
        partitioned write), so each bucket's query then reads only its rows: the day is
        read twice in all, however many buckets, instead of once per bucket. A bucket's
        files are deleted once the next is asked for.
        """
        if count <= 1:
            yield iter([self.read(dataset, files).select(*dataset.schema.names)])
            return
        target = self._scratch / f"buckets-{uuid.uuid4().hex}"
        names = ", ".join(f'"{c}"' for c in dataset.schema.names)
        paths = [str(f.path) for f in files]
        try:
            if self.name == "duckdb":
                listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
                # Only our own file paths (quotes doubled), schema names and an int.
                query = f'SELECT {names}, hash("{key}") % {count} AS bucket '
                query += f"FROM read_parquet([{listed}], hive_partitioning = false)"
                self.con.raw_sql(
                    f"COPY ({query}) TO '{target}' "
                    "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (bucket))"
                )
            else:
                frame = self.spark.read.parquet(*paths).selectExpr(
                    *dataset.schema.names, f"pmod(hash(`{key}`), {count}) AS bucket"
                )
                frame.write.partitionBy("bucket").parquet(str(target))

            def tables() -> Iterator[ir.Table]:
                for directory in sorted(target.glob("bucket=*")):
                    found = sorted(str(p) for p in directory.glob("*.parquet"))
                    if not found:
                        continue
                    if self.name == "duckdb":
                        table = self.con.read_parquet(found, hive_partitioning=False)
                    else:
                        name = f"ies_{uuid.uuid4().hex}"
                        self.spark.read.parquet(*found).createOrReplaceTempView(name)
                        table = self.con.table(name)
                    yield table.select(*dataset.schema.names)
                    shutil.rmtree(directory, ignore_errors=True)

            yield tables()
        finally:
            shutil.rmtree(target, ignore_errors=True)

    def _refuse_cross_file_duplicates(
        self, dataset: Dataset, files: Sequence[PartitionFile], unique: Sequence[str]
    ) -> None:
        by_partition: dict[Partition, list[PartitionFile]] = {}
        for item in files:
            by_partition.setdefault(item.partition, []).append(item)
        for group in by_partition.values():
            if len(group) < 2:
                continue  # duplicates within one file are VEE's business, not a landing error
            tables = [
                self.read(dataset, [item]).select(*unique).distinct().mutate(file=ibis.literal(n))
                for n, item in enumerate(group)
            ]
            union = ibis.union(*tables)
            clash = (
                union.group_by(list(unique))
                .aggregate(
                    files=union.file.nunique(), first=union.file.min(), last=union.file.max()
                )
                .filter(lambda t: t.files > 1)
                .limit(1)
            )
            found = self.to_pyarrow(clash).to_pylist()
            if found:
                row = found[0]
                key = ", ".join(f"{k}={row[k]}" for k in unique)
                raise DuplicateReadings(
                    f"reading {key} is in more than one file",
                    files=[str(group[row["first"]].path), str(group[row["last"]].path)],
                )

    def checkpoint(self, table: ir.Table) -> ir.Table:
        """Spark: persist a table several branches of a plan read (each branch would
        otherwise recompute its lineage). DuckDB plans shared subqueries itself."""
        if self.name == "spark":
            cached = table.cache()
            self._cached.append(cached)
            return cached
        return table

    def release(self) -> None:
        """Spark: drop the tables ``checkpoint`` persisted (after a bucket is written,
        so that executors' memory holds one bucket, not the night)."""
        while self._cached:
            self._cached.pop().release()

    def to_pyarrow(self, expr: ir.Table) -> pa.Table:
        """A small result (aggregates, one meter's readings) as an Arrow table."""
        return self.con.to_pyarrow(expr)

    def batches(self, expr: ir.Table, *, chunk: int = 65_536) -> Iterator[pa.RecordBatch]:
        """A large result streamed in record batches (DuckDB streams; Spark goes
        partition by partition through ``toLocalIterator`` so the driver holds one)."""
        if self.name == "duckdb":
            yield from self.con.to_pyarrow_batches(expr, chunk_size=chunk)
            return
        frame = self._spark_frame(expr)
        schema = expr.schema().to_pyarrow()
        rows: list[dict[str, Any]] = []
        for row in frame.toLocalIterator(prefetchPartitions=False):
            rows.append(row.asDict())
            if len(rows) >= chunk:
                yield pa.RecordBatch.from_pylist(rows, schema=schema)
                rows = []
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    def _spark_frame(self, expr: ir.Table) -> Any:
        return self.spark.sql(self.con.compile(expr))

    def write(self, expr: ir.Table, writer: PartitionedWriter) -> None:
        """Let the engine write ``expr`` partitioned into the writer's staging area (no
        rows through Python); the writer publishes partitions on commit."""
        schema = writer.dataset.schema
        columns = [*schema.names, *PARTITION_COLUMNS]
        target = writer.staging / f"engine-{uuid.uuid4().hex}"
        if self.name == "duckdb":
            sql = self.con.compile(expr.select(*columns))
            self.con.raw_sql(
                f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, "
                f"PARTITION_BY ({', '.join(PARTITION_COLUMNS)}), WRITE_PARTITION_COLUMNS false)"
            )
        else:
            frame = self._spark_frame(expr.select(*columns))
            frame.write.partitionBy(*PARTITION_COLUMNS).parquet(str(target))
        for path in sorted(target.rglob("*.parquet")):
            rel = path.relative_to(target)
            dest = writer.staging / rel.parent / f"part-{uuid.uuid4().hex}.parquet"
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
        shutil.rmtree(target, ignore_errors=True)

    def close(self) -> None:
        if self.name == "duckdb":
            self.con.disconnect()
        shutil.rmtree(self._scratch, ignore_errors=True)


_SPARK_SESSION: Any = None


def connect(settings: MeterDataSettings | None = None) -> Engine:
    """Open the configured engine (a Spark session is built once per process)."""
    settings = settings or MeterDataSettings()
    scratch = Path(tempfile.mkdtemp(prefix="ies-meterdata-"))
    if settings.meterdata_engine == "duckdb":
        config: dict[str, Any] = {
            "memory_limit": settings.meterdata_memory,
            "temp_directory": str(scratch),
            "preserve_insertion_order": False,
        }
        if settings.meterdata_threads:
            config["threads"] = settings.meterdata_threads
        return Engine(
            "duckdb",
            ibis.duckdb.connect(**config),
            scratch,
            bucket_rows=settings.meterdata_bucket_rows,
        )
    return Engine(
        "spark",
        ibis.pyspark.connect(_spark_session(settings, scratch)),
        scratch,
        bucket_rows=settings.meterdata_bucket_rows,
    )


def _spark_session(settings: MeterDataSettings, scratch: Path) -> Any:
    global _SPARK_SESSION
    if _SPARK_SESSION is None:
        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            SparkSession.builder.master(settings.spark_master)
            .appName("ies-meterdata")
            .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
            .config("spark.driver.memory", settings.spark_driver_memory)
            .config("spark.local.dir", str(scratch))
        )
        for key, value in _SPARK_CONF.items():
            builder = builder.config(key, value)
        _SPARK_SESSION = builder.getOrCreate()
        _SPARK_SESSION.sparkContext.setLogLevel("ERROR")
    return _SPARK_SESSION
