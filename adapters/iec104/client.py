"""An IEC 60870-5-104 client that turns an RTU's feeder points into observations.

It implements :class:`protocol.outages.ports.FeederEventSource`. c104 runs the link
(STARTDT, the t1/t2/t3 timers, sequence numbers) on its own thread; its callbacks
only translate what arrived and queue it, so a slow consumer never stalls the link.
On every (re)connection c104 synchronises the RTU's clock and asks for a general
interrogation (``Init.ALL``): after a dropped link the breaker states are read
afresh, and the detector ignores a repeated OPEN. A point that is not in the point
map is flagged (``telemetry-unknown-point``) with its IOA and type, never guessed.
"""

# No ``from __future__ import annotations``: c104 checks callback annotations at
# registration and needs them as real classes.

import queue
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import c104

from adapters.iec104.points import PointKind, PointMap, PointSpec
from protocol.outages.models import (
    BreakerEvent,
    EnergyTotal,
    Flagged,
    LinkChange,
    Observation,
    Position,
    PowerSample,
    Quality,
    Source,
)

_TYPES = {
    PointKind.BREAKER_SINGLE: c104.Type.M_SP_TB_1,
    PointKind.BREAKER_DOUBLE: c104.Type.M_DP_TB_1,
    PointKind.ACTIVE_POWER: c104.Type.M_ME_TF_1,
    PointKind.ENERGY_IMPORT: c104.Type.M_IT_TB_1,
    PointKind.ENERGY_EXPORT: c104.Type.M_IT_TB_1,
}
_DOUBLE = {
    c104.Double.ON: Position.CLOSED,
    c104.Double.OFF: Position.OPEN,
    c104.Double.INTERMEDIATE: Position.INTERMEDIATE,
    c104.Double.INDETERMINATE: Position.INDETERMINATE,
}


def _utc() -> datetime:
    return datetime.now(UTC)


class Iec104FeederSource:
    """Feeder telemetry from one RTU (one connection, one common address)."""

    def __init__(
        self,
        host: str,
        port: int,
        common_address: int,
        points: PointMap,
        *,
        clock: Callable[[], datetime] = _utc,
        tick_rate_ms: int = 50,
    ) -> None:
        self.host, self.port, self.common_address = host, port, common_address
        self.points = points
        self.clock = clock
        self._queue: queue.Queue[Observation] = queue.Queue()
        self._was_open = False
        self._muted_since: float | None = None
        self._lock = threading.Lock()
        self._client = c104.Client(tick_rate_ms=tick_rate_ms, command_timeout_ms=2000)
        self._client.on_new_point(callable=self._on_new_point)
        connection = self._client.add_connection(ip=host, port=port, init=c104.Init.ALL)
        if connection is None:
            raise ValueError(f"cannot open an IEC 104 connection to {host}:{port}")
        self._connection = connection
        connection.on_state_change(callable=self._on_state)
        station = connection.add_station(common_address=common_address)
        if station is None:
            raise ValueError(f"cannot add station {common_address}")
        for ioa, spec in points.items():
            point = station.add_point(io_address=ioa, type=_TYPES[spec.kind])
            if point is None:
                raise ValueError(f"cannot add IOA {ioa}")
            point.on_receive(callable=self._on_receive)
        self._client.start()

    @property
    def link(self) -> str:
        return f"{self.host}:{self.port}/{self.common_address}"

    @property
    def connected(self) -> bool:
        return bool(self._connection.is_connected)

    def wait_connected(self, timeout: float) -> bool:
        """Wait until the link is open and started (STARTDT confirmed, not muted)."""
        pause = threading.Event()
        for _ in range(int(timeout / 0.02) + 1):
            if self._supervise():
                return True
            pause.wait(0.02)
        return False

    def _supervise(self) -> bool:
        """True when the link is open. c104 now and then leaves a fresh link muted
        (no STARTDT after the TCP connect); after a grace period, start data transfer
        ourselves and ask for a general interrogation, as the master's init would."""
        import time

        state = self._connection.state
        if state == c104.ConnectionState.OPEN:
            self._muted_since = None
            return True
        if state != c104.ConnectionState.OPEN_MUTED:
            self._muted_since = None
            return False
        now = time.monotonic()
        if self._muted_since is None:
            self._muted_since = now
        elif now - self._muted_since > 0.5:
            self._muted_since = now
            if self._connection.unmute():
                self._connection.interrogation(
                    common_address=self.common_address, wait_for_response=False
                )
        return False

    # -------------------------------------------------------------- the port

    def poll(self, timeout: float) -> Sequence[Observation]:
        self._supervise()
        out: list[Observation] = []
        try:
            out.append(self._queue.get(timeout=timeout))
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self._client.stop()

    # -------------------------------------------------------------- c104 callbacks

    def _on_state(self, connection: c104.Connection, state: c104.ConnectionState) -> None:
        if state == c104.ConnectionState.OPEN:
            self._was_open = True
            self._queue.put(LinkChange(True, self.clock(), f"{self.link} open"))
        elif self._was_open and state in (
            c104.ConnectionState.CLOSED_AWAIT_RECONNECT,
            c104.ConnectionState.CLOSED,
        ):
            self._was_open = False
            self._queue.put(
                LinkChange(False, self.clock(), f"{self.link} dropped ({state.name}); reconnecting")
            )

    def _on_new_point(
        self, client: c104.Client, station: c104.Station, io_address: int, point_type: c104.Type
    ) -> None:
        self._queue.put(
            Flagged(
                "telemetry-unknown-point",
                f"{self.link} sent {point_type.name} from IOA {io_address}, which is not in "
                "the point map; the value was not used",
                f"iec104:{self.link}/{io_address}",
                self.clock(),
            )
        )

    def _on_receive(
        self, point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        spec = self.points.get(point.io_address)
        if spec is not None:
            try:
                self._queue.put(self._observation(point, spec))
            except Exception as exc:  # a callback must never raise into c104's thread
                self._queue.put(
                    Flagged(
                        "telemetry-unknown-point",
                        f"IOA {point.io_address} carried a value that cannot be read: {exc}",
                        f"iec104:{self.link}/{point.io_address}",
                        self.clock(),
                    )
                )
        return c104.ResponseState.SUCCESS

    def _observation(self, point: c104.Point, spec: PointSpec) -> Observation:
        recorded = point.recorded_at
        at = recorded.replace(tzinfo=UTC) if recorded is not None else self.clock()
        ref = f"iec104:{self.link}/{point.io_address}@{at.isoformat()}"
        quality_raw = point.quality
        bits = int(quality_raw.value) if quality_raw is not None else 0
        if spec.kind is PointKind.BREAKER_SINGLE:
            position = Position.CLOSED if bool(point.value) else Position.OPEN
            return BreakerEvent(
                spec.feeder, position, at, ref, Quality.from_bits(bits), Source.SCADA
            )
        if spec.kind is PointKind.BREAKER_DOUBLE:
            value = point.value
            position = (
                _DOUBLE.get(value, Position.INDETERMINATE)
                if isinstance(value, c104.Double)
                else Position.INDETERMINATE
            )
            return BreakerEvent(
                spec.feeder, position, at, ref, Quality.from_bits(bits), Source.SCADA
            )
        if spec.kind is PointKind.ACTIVE_POWER:
            kw = float(point.value)  # type: ignore[arg-type]
            return PowerSample(spec.feeder, kw, at, ref, Quality.from_bits(bits))
        counter = int(point.value)  # type: ignore[arg-type]
        return EnergyTotal(
            feeder=spec.feeder,
            counter=counter,
            at=at,
            ref=ref,
            kwh_per_count=spec.kwh_per_count,
            direction="import" if spec.kind is PointKind.ENERGY_IMPORT else "export",
            invalid=bool(bits & 0x80),  # BCR IV (IEC 60870-5-101 §7.2.6.9)
        )
