"""DLMS/COSEM: the simulator's bytes decode exactly; bad bytes give our error only."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.dlms import axdr, profiles, simulator
from adapters.errors import DlmsDecodeError, ProfileShapeError
from adapters.synthetic import IST

DAY = datetime(2026, 5, 18, tzinfo=IST)
STEP = timedelta(minutes=15)
SCALERS = profiles.parse_scalers(simulator.BLOCK_LOAD_SCALERS, profiles.BLOCK_LOAD)


def _day(imports: list[float]) -> bytes:
    return simulator.block_load_buffer(
        simulator.blocks_from_kwh(DAY, STEP, imports, [0.0] * len(imports))
    )


def test_block_load_buffer_decodes_to_the_simulated_energy() -> None:
    imports = [round(0.1 + i * 0.001, 3) for i in range(96)]
    rows = list(profiles.iter_rows(_day(imports), profiles.BLOCK_LOAD, SCALERS, IST))
    assert [r.captured_at for r in rows] == [DAY + STEP * (i + 1) for i in range(96)]
    assert [r.values[1] for r in rows] == pytest.approx(imports, abs=1e-9)
    assert all(r.values[0] == pytest.approx(230.0) for r in rows)


def test_gurux_reads_the_simulator_bytes_as_we_do() -> None:
    gurux = pytest.importorskip("gurux_dlms", reason="the optional 'dlms' extra")
    from gurux_dlms import GXByteBuffer, GXDLMSSettings
    from gurux_dlms.internal._GXCommon import _GXCommon
    from gurux_dlms.internal._GXDataInfo import _GXDataInfo

    assert gurux
    buffer = _day([0.25, 0.5, 1.125])
    info = _GXDataInfo()
    theirs = _GXCommon.getData(GXDLMSSettings(False, None), GXByteBuffer(buffer), info)
    assert info.complete
    ours = axdr.decode(buffer)
    assert isinstance(ours, list)
    assert len(theirs) == len(ours) == 3
    for their_row, our_row in zip(theirs, ours, strict=True):
        assert isinstance(our_row, tuple)
        assert [int(v) for v in their_row[1:]] == list(our_row[1:])
        assert bytes(their_row[0]) == our_row[0]


@pytest.mark.parametrize("cut", [1, 2, 5, 20, 40, 41, 100])
def test_a_buffer_cut_short_is_reported_with_its_offset(cut: int) -> None:
    buffer = _day([0.2] * 4)
    with pytest.raises(DlmsDecodeError) as caught:
        list(profiles.iter_rows(buffer[:cut], profiles.BLOCK_LOAD, SCALERS, IST))
    assert 0 <= caught.value.offset <= cut


def test_a_row_with_the_wrong_columns_names_the_row() -> None:
    out = bytearray()
    stamp = axdr.Typed(axdr.OCTET_STRING, axdr.date_time_bytes(DAY))
    axdr.encode([(stamp, axdr.Typed(axdr.LONG_UNSIGNED, 2300))], out)
    with pytest.raises(ProfileShapeError) as caught:
        list(profiles.iter_rows(bytes(out), profiles.BLOCK_LOAD, SCALERS, IST))
    assert caught.value.extensions["row"] == 0


def test_an_impossible_clock_is_an_error_not_a_crash() -> None:
    raw = bytearray(axdr.date_time_bytes(DAY))
    raw[2] = 13  # month 13
    with pytest.raises(DlmsDecodeError):
        axdr.parse_date_time(bytes(raw), IST)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_nothing_but_our_error(data: bytes) -> None:
    with contextlib.suppress(DlmsDecodeError):
        axdr.decode(data)
    with contextlib.suppress(DlmsDecodeError, ProfileShapeError):
        list(profiles.iter_rows(data, profiles.BLOCK_LOAD, SCALERS, IST))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=60), st.integers(0, 400))
def test_mutated_real_buffers_raise_nothing_but_our_error(patch: bytes, at: int) -> None:
    buffer = bytearray(_day([0.3, 0.4, 0.5, 0.6]))
    at %= len(buffer)
    buffer[at : at + len(patch)] = patch
    with contextlib.suppress(DlmsDecodeError, ProfileShapeError):
        list(profiles.iter_rows(bytes(buffer), profiles.BLOCK_LOAD, SCALERS, IST))


_SCALAR = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda v: (axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, v), v)),
    st.integers(-(2**31), 2**31 - 1).map(lambda v: (axdr.Typed(axdr.DOUBLE_LONG, v), v)),
    st.integers(0, 65535).map(lambda v: (axdr.Typed(axdr.LONG_UNSIGNED, v), v)),
    st.binary(max_size=300).map(lambda v: (axdr.Typed(axdr.OCTET_STRING, v), v)),
)


@given(st.lists(st.lists(_SCALAR, max_size=5), max_size=40))
def test_encode_then_decode_is_identity(rows: list[list[tuple[axdr.Typed, object]]]) -> None:
    out = bytearray()
    axdr.encode([tuple(t for t, _ in row) for row in rows], out)
    assert axdr.decode(bytes(out)) == [tuple(v for _, v in row) for row in rows]
