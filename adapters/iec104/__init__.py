"""IEC 60870-5-104: a SCADA client for feeder telemetry, and an RTU simulator.

The wire work is done by c104 (GPL-3.0, the optional ``iec104`` extra): import
:mod:`adapters.iec104.client` or :mod:`adapters.iec104.simulator` only where it is
installed. The point map (:mod:`adapters.iec104.points`) is plain Python and
always importable.
"""

from adapters.iec104.points import FeederPoints, PointKind, PointMap, PointSpec, standard_map

__all__ = ["FeederPoints", "PointKind", "PointMap", "PointSpec", "standard_map"]
