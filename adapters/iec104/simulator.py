"""A substation RTU on loopback: a real IEC 60870-5-104 server (c104) that the tests
and the sandbox drive — trips, reclosures, restorations, and feeder load and energy
that follow the synthetic network's meter data (``adapters.synthetic``).

Every value goes out spontaneously with a CP56Time2a time tag from the simulator's
clock (the RTU's own clock, which a test may make jump). Energy registers are
counters of ``kwh_per_count`` that wrap at ``modulus`` like a real register.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import c104

from adapters.iec104.points import FeederPoints, layout


def _utc() -> datetime:
    return datetime.now(UTC)


_QUALITY_BITS = (
    (0x80, c104.Quality.Invalid),
    (0x40, c104.Quality.NonTopical),
    (0x20, c104.Quality.Substituted),
    (0x10, c104.Quality.Blocked),
    (0x01, c104.Quality.Overflow),
)


def quality(bits: int) -> c104.Quality:
    """A QDS from its bits (IV 0x80, NT 0x40, SB 0x20, BL 0x10, OV 0x01)."""
    value = c104.Quality()
    for bit, flag in _QUALITY_BITS:
        if bits & bit:
            value = value | flag  # type: ignore[operator]  # the stub lacks __or__
    return value


def _tag(at: datetime) -> datetime:
    # c104 drops tzinfo without converting: hand it UTC wall time.
    return at.astimezone(UTC).replace(tzinfo=None)


class RtuSimulator:
    """One RTU, one common address, the standard point layout for ``feeders``."""

    def __init__(
        self,
        feeders: list[str],
        *,
        port: int,
        common_address: int = 1,
        double_point: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] = _utc,
        kwh_per_count: float = 0.1,
        modulus: int = 2**31,
        stray_ioa: int = 9999,
    ) -> None:
        self.port = port
        self.common_address = common_address
        self.clock = clock
        self.kwh_per_count = kwh_per_count
        self.modulus = modulus
        self.feeders = {fp.feeder: fp for fp in layout(feeders, double_point=double_point)}
        self.stray_ioa = stray_ioa
        self.counters: dict[tuple[str, str], int] = {}
        self._closed: dict[str, bool] = dict.fromkeys(feeders, True)
        self._server: c104.Server | None = None
        self._points: dict[int, c104.Point] = {}

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        server = c104.Server(ip="127.0.0.1", port=self.port, tick_rate_ms=50)
        station = server.add_station(common_address=self.common_address)
        if station is None:
            raise RuntimeError("c104 refused the station")
        self._points = {}
        for fp in self.feeders.values():
            kind = c104.Type.M_DP_TB_1 if fp.double_point else c104.Type.M_SP_TB_1
            self._add(station, fp.breaker, kind)
            self._add(station, fp.power, c104.Type.M_ME_TF_1)
            self._add(station, fp.energy_import, c104.Type.M_IT_TB_1)
            self._add(station, fp.energy_export, c104.Type.M_IT_TB_1)
            now = _tag(self.clock())
            self._set_breaker(fp, self._closed[fp.feeder], self.clock(), 0)
            self._points[fp.power].info = c104.ShortInfo(actual=0.0, recorded_at=now)
            for ioa, direction in ((fp.energy_import, "import"), (fp.energy_export, "export")):
                self._points[ioa].info = c104.BinaryCounterInfo(
                    counter=self.counters.get((fp.feeder, direction), 0),
                    sequence=c104.UInt5(0),
                    quality=c104.BinaryCounterQuality(),
                    recorded_at=now,
                )
        self._add(station, self.stray_ioa, c104.Type.M_SP_TB_1)
        server.start()
        self._server = server

    def _add(self, station: c104.Station, ioa: int, kind: c104.Type) -> None:
        point = station.add_point(io_address=ioa, type=kind)
        if point is None:
            raise RuntimeError(f"c104 refused IOA {ioa}")
        self._points[ioa] = point

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def clients(self) -> int:
        return 0 if self._server is None else int(self._server.active_connection_count)

    def wait_for_client(self, timeout: float) -> bool:
        """Wait until a client has started data transfer (values sent before are lost,
        as on a real link without a buffer)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server is not None and self._server.has_active_connections:
                return True
            time.sleep(0.02)
        return False

    # ------------------------------------------------------------ breaker

    def _set_breaker(self, fp: FeederPoints, closed: bool, at: datetime, bits: int) -> None:
        point = self._points[fp.breaker]
        qds = quality(bits)
        if fp.double_point:
            state = c104.Double.ON if closed else c104.Double.OFF
            point.info = c104.DoubleInfo(state=state, quality=qds, recorded_at=_tag(at))
        else:
            point.info = c104.SingleInfo(on=closed, quality=qds, recorded_at=_tag(at))

    def _send(self, ioa: int) -> bool:
        return bool(self._points[ioa].transmit(cause=c104.Cot.SPONTANEOUS))

    def breaker(
        self, feeder: str, closed: bool, at: datetime | None = None, *, quality_bits: int = 0
    ) -> bool:
        fp = self.feeders[feeder]
        self._closed[feeder] = closed
        self._set_breaker(fp, closed, at or self.clock(), quality_bits)
        return self._send(fp.breaker)

    def trip(self, feeder: str, at: datetime | None = None) -> bool:
        return self.breaker(feeder, False, at)

    def reclose(self, feeder: str, at: datetime | None = None) -> bool:
        return self.breaker(feeder, True, at)

    def indeterminate(self, feeder: str, at: datetime | None = None) -> bool:
        """A double-point breaker reporting DPI 11 (e.g. an auxiliary contact fault)."""
        fp = self.feeders[feeder]
        if not fp.double_point:
            raise ValueError(f"{feeder} has a single-point breaker status")
        point = self._points[fp.breaker]
        point.info = c104.DoubleInfo(
            state=c104.Double.INDETERMINATE, recorded_at=_tag(at or self.clock())
        )
        return self._send(fp.breaker)

    def stray(self, at: datetime | None = None) -> bool:
        """A value from an IOA the SCADA point list does not have."""
        self._points[self.stray_ioa].info = c104.SingleInfo(
            on=True, recorded_at=_tag(at or self.clock())
        )
        return self._send(self.stray_ioa)

    # ------------------------------------------------------------ load and energy

    def power(
        self, feeder: str, kw: float, at: datetime | None = None, *, quality_bits: int = 0
    ) -> bool:
        fp = self.feeders[feeder]
        self._points[fp.power].info = c104.ShortInfo(
            actual=kw, quality=quality(quality_bits), recorded_at=_tag(at or self.clock())
        )
        return self._send(fp.power)

    def energy(
        self, feeder: str, kwh: float, at: datetime | None = None, *, direction: str = "import"
    ) -> bool:
        """Advance the register by ``kwh`` (wrapping at the modulus) and report it."""
        key = (feeder, direction)
        counts = round(kwh / self.kwh_per_count)
        self.counters[key] = (self.counters.get(key, 0) + counts) % self.modulus
        return self.report_counter(feeder, self.counters[key], at, direction=direction)

    def report_counter(
        self,
        feeder: str,
        counter: int,
        at: datetime | None = None,
        *,
        direction: str = "import",
        invalid: bool = False,
    ) -> bool:
        fp = self.feeders[feeder]
        self.counters[(feeder, direction)] = counter
        ioa = fp.energy_import if direction == "import" else fp.energy_export
        counter_quality = (
            c104.BinaryCounterQuality.Invalid if invalid else c104.BinaryCounterQuality()
        )
        self._points[ioa].info = c104.BinaryCounterInfo(
            counter=counter,
            sequence=c104.UInt5(0),
            quality=counter_quality,
            recorded_at=_tag(at or self.clock()),
        )
        return self._send(ioa)

    def follow(
        self,
        feeder: str,
        start: datetime,
        input_kwh: Iterable[float],
        step: timedelta = timedelta(minutes=15),
    ) -> int:
        """Play a day of the feeder's input (e.g. ``Network.feeder_day(...).input_kwh``):
        at each block's end, the block's mean power and the registers so far."""
        sent = 0
        t = start
        self.report_counter(feeder, self.counters.get((feeder, "import"), 0), t)
        self.report_counter(feeder, self.counters.get((feeder, "export"), 0), t, direction="export")
        hours = step / timedelta(hours=1)
        for kwh in input_kwh:
            t += step
            self.power(feeder, kwh / hours, t)
            if kwh >= 0:
                self.energy(feeder, kwh, t)
                self.energy(feeder, 0, t, direction="export")
            else:
                self.energy(feeder, 0, t)
                self.energy(feeder, -kwh, t, direction="export")
            sent += 3
        return sent


class ScenarioClock:
    """Wall time shifted to a scenario's start, which a test or the sandbox can move on.

    The simulated RTU tags values with it and the receiver judges clock jumps by it,
    as a synchronised RTU and its master share one time source.
    """

    def __init__(self, start: datetime) -> None:
        import threading
        import time

        self._time = time.monotonic
        self._lock = threading.Lock()
        self._origin = self._time()
        self._start = start.astimezone(UTC)

    def __call__(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._time() - self._origin)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._start += delta
