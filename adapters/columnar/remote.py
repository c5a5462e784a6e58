"""The participant's side of the columnar path: the same ports, answered by the worker.

Nothing here imports the engine (``duckdb``, ``ibis``, ``pyspark``): a service that also
decides policy (regopy) uses these classes, and the engine runs in
:class:`adapters.columnar.worker.ColumnarWorker`'s process.

- :class:`ColumnarHesArchive`: a :class:`adapters.hes.HesArchive` whose block load is
  landed and validated in the worker's lake (in the background, from construction);
  every validated day it serves (``interval_data`` for the consented MeterData,
  ``export_import`` for P2P settlement and bills) comes from there. Billing registers
  and events are not interval data and stay with the archive.
- :class:`ColumnarFeeders`: the metered side of a feeder's energy (billed = import -
  export, export, meters) from ``aggregates.feeder_billed_energy`` over the feeders'
  landed meters: what DER visibility and AT&C losses read.
"""

from __future__ import annotations

import atexit
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Literal

import structlog

from adapters import vee
from adapters.columnar.errors import ColumnarWorkerFailed
from adapters.columnar.worker import ColumnarWorker
from adapters.hes import HesArchive
from adapters.synthetic import Network
from kernel.settings import ServiceSettings

log = structlog.get_logger("adapters.columnar")


class _Landing:
    """A landing started in a background thread; callers wait for it."""

    def __init__(self, worker: ColumnarWorker, flow: str, *args: object, **kwargs: object) -> None:
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(worker, flow, args, kwargs), daemon=True
        )
        self._thread.start()

    def _run(
        self, worker: ColumnarWorker, flow: str, args: tuple[object, ...], kwargs: dict[str, object]
    ) -> None:
        try:
            landed = worker.call(flow, *args, **kwargs)
            log.info("columnar lake landed", flow=flow, lake=args[0], size=landed, pid=worker.pid)
        except BaseException as exc:  # handed to every later caller
            self._error = exc
            log.error("columnar landing failed", flow=flow, lake=args[0], error=str(exc))
        finally:
            self._done.set()

    def wait(self, timeout: float = 120.0) -> None:
        if not self._done.wait(timeout):
            raise ColumnarWorkerFailed("the meter data is still being landed", retry=True)
        if self._error is not None:
            raise ColumnarWorkerFailed(f"landing the meter data failed: {self._error}")


class ColumnarHesArchive(HesArchive):
    """``archive``'s ports with the validated days served by the columnar worker."""

    def __init__(
        self,
        archive: HesArchive,
        worker: ColumnarWorker,
        *,
        state: str,
        discom: str,
        key: str | None = None,
    ) -> None:
        self.__dict__.update(archive.__dict__)  # the same buffers, config, step, zone
        self.worker = worker
        self.key = key or f"hes-{discom}-{uuid.uuid4().hex[:8]}"
        self._landing = _Landing(worker, "hes_land", self.key, archive, state=state, discom=discom)

    def wait_landed(self, timeout: float = 120.0) -> None:
        self._landing.wait(timeout)

    def _days(self, serial: str, start: datetime, end: datetime) -> Iterator[vee.VeeResult]:
        self._archive(serial)  # an unknown meter: the same MeterDataNotAvailable as before
        self._landing.wait()
        days: list[vee.VeeResult] = self.worker.call("hes_days", self.key, serial, start, end)
        yield from days


class ColumnarFeeders:
    """Per-feeder metered energy from the feeders' meters, validated in the worker."""

    def __init__(
        self,
        worker: ColumnarWorker,
        networks: Sequence[Network],
        first: date,
        last: date,
        *,
        state: str,
        discom: str,
        key: str | None = None,
    ) -> None:
        self.worker = worker
        self.key = key or f"feeders-{discom}-{uuid.uuid4().hex[:8]}"
        self._landing = _Landing(
            worker,
            "feeders_land",
            self.key,
            list(networks),
            first,
            last,
            state=state,
            discom=discom,
        )

    def wait_landed(self, timeout: float = 120.0) -> None:
        self._landing.wait(timeout)

    def metered(self, start: datetime, end: datetime) -> dict[str, object]:
        """``{feeder: flows.FeederMetered}`` over ``start``..``end``."""
        self._landing.wait()
        found: dict[str, object] = self.worker.call("feeders_metered", self.key, start, end)
        return found


class ColumnarFlowSettings(ServiceSettings):
    """``IES_METERDATA_FLOWS``: ``python`` (the per-meter path in the service, the
    default) or ``columnar`` (a :class:`ColumnarWorker` per service running the engine
    that ``IES_METERDATA_ENGINE`` names, DuckDB by default)."""

    meterdata_flows: Literal["python", "columnar"] = "python"


_WORKER: ColumnarWorker | None = None
_WORKER_LOCK = threading.Lock()


def shared_worker() -> ColumnarWorker:
    """This process's columnar worker, started once and closed at exit (the child also
    ends by itself when this process does: its input closes)."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None:
            _WORKER = ColumnarWorker()
            atexit.register(_WORKER.close)
        return _WORKER


def columnar_enabled() -> bool:
    return ColumnarFlowSettings().meterdata_flows == "columnar"


def columnar_archive(archive: HesArchive, *, state: str, discom: str) -> HesArchive:
    """``archive`` itself, or, with ``IES_METERDATA_FLOWS=columnar``, the same archive
    with its validated days served by the columnar worker."""
    if not columnar_enabled():
        return archive
    return ColumnarHesArchive(archive, shared_worker(), state=state, discom=discom)
