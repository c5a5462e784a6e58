"""The CIS billing register adapter: per-feeder sums in kWh whatever unit a row was
written in, and every bad row refused with its line."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.billing import COLUMNS, TO_KWH, read_register
from adapters.errors import CisColumnsMissing, CisRowInvalid
from sandbox.legacy import billing_register, feeder_networks, net_metered_kwh
from sandbox.seed import discom_seed


def register(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


rows = st.lists(
    st.tuples(
        st.sampled_from(["F1", "F2", "F3"]),
        st.integers(min_value=0, max_value=10**6),
        st.sampled_from(sorted(TO_KWH)),
        st.integers(min_value=0, max_value=10**7),
        st.integers(min_value=0, max_value=10**7),
    ),
    max_size=30,
)


@given(rows)
def test_the_register_sums_each_feeder_in_kwh(generated):
    text = register(
        [
            [f"C{n}", feeder, "2026-11-01", "2026-11-07", str(units), unit, str(billed), str(paid)]
            for n, (feeder, units, unit, billed, paid) in enumerate(generated)
        ]
    )
    totals = {b.feeder: b for b in read_register(text)}
    assert set(totals) == {row[0] for row in generated}
    for feeder, found in totals.items():
        mine = [r for r in generated if r[0] == feeder]
        assert found.bills == len(mine)
        assert found.billed_kwh == pytest.approx(
            sum(u * TO_KWH[k] for _, u, k, _, _ in mine), abs=0.01
        )
        assert found.billed_inr == sum(b for *_, b, _ in mine)
        assert found.collected_inr == sum(p for *_, p in mine)


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (["C1", "", "a", "b", "1", "kWh", "1", "1"], "FEEDER_CODE"),
        (["C1", "F1", "a", "b", "1", "kVAh", "1", "1"], "UOM"),
        (["C1", "F1", "a", "b", "one", "kWh", "1", "1"], "UNITS_BILLED"),
        (["C1", "F1", "a", "b", "1", "kWh", "-5", "1"], "AMOUNT_BILLED"),
        (["C1", "F1", "a", "b", "1", "kWh", "1", "nan"], "AMOUNT_COLLECTED"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_column(row, column):
    text = register([["C0", "F1", "a", "b", "1", "kWh", "1", "1"], row])
    with pytest.raises(CisRowInvalid) as refused:
        read_register(text)
    assert refused.value.extensions["line"] == 3
    assert refused.value.extensions["column"] == column


def test_a_register_without_its_columns_is_refused():
    with pytest.raises(CisColumnsMissing):
        read_register("CONSUMER_NO,FEEDER_CODE\nC1,F1\n")


def test_the_sandbox_slip_multiplies_one_feeders_units_by_a_thousand():
    seed = discom_seed("MSEDCL")
    networks = feeder_networks(seed.network(), seed.feeders_tags(), seed.dts_per_feeder)
    first, last = date(2026, 5, 1), date(2026, 5, 2)
    metered = net_metered_kwh(networks, first, last)
    right = {b.feeder: b for b in read_register(billing_register(networks, metered, first, last))}
    slipped = {b.feeder: b for b in read_register(
        billing_register(networks, metered, first, last, wrong_unit="MSEDCL-F2"))}  # fmt: skip
    assert slipped["MSEDCL-F1"] == right["MSEDCL-F1"]
    assert slipped["MSEDCL-F2"].billed_kwh == pytest.approx(
        right["MSEDCL-F2"].billed_kwh * 1000, rel=1e-4
    )
    assert slipped["MSEDCL-F2"].billed_inr == right["MSEDCL-F2"].billed_inr
    assert sum(b.bills for b in right.values()) == len(seed.network().consumers)
