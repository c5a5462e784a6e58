"""Property tests of the pure parts: the lifecycle as a state machine, narrowing only
ever narrows, the audit chain names the first tampered entry, slicing sums exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from consent import audit, lifecycle, slicing
from consent.lifecycle import Action, IllegalTransition
from consent.models import (
    DataType,
    DateRange,
    FetchType,
    Frequency,
    FrequencyUnit,
    Granularity,
    Narrowing,
    NotNarrower,
    Scope,
    Status,
    narrow,
)
from schemas.meterdata import (
    CompactSequence,
    Identifier,
    Interval,
    IntervalPeriod,
    IntervalProfile,
    PayloadDescriptor,
    PayloadDescriptorProfile,
    PayloadDescriptorSet,
    SequenceItem,
)


class Lifecycle(RuleBasedStateMachine):
    """Any sequence of actions: only the table's transitions happen, final states stay
    final, data flows only when ACTIVE, and withdrawal is one action from any live
    approved state."""

    def __init__(self) -> None:
        super().__init__()
        self.status = Status.PENDING
        self.history = [Status.PENDING]
        self.ever_final = False

    @rule(action=st.sampled_from(list(Action)))
    def act(self, action: Action) -> None:
        before = self.status
        try:
            after = lifecycle.transition(before, action)
        except IllegalTransition:
            assert (before, action) not in lifecycle.TRANSITIONS
            return
        assert before not in lifecycle.FINAL
        if after is Status.ACTIVE:
            assert action in (Action.APPROVE, Action.RESUME)
        self.status = after
        self.history.append(after)

    @precondition(lambda self: self.status in (Status.ACTIVE, Status.PAUSED))
    @rule()
    def withdraw_is_one_call(self) -> None:
        assert lifecycle.transition(self.status, Action.REVOKE) is Status.REVOKED

    @invariant()
    def final_is_final(self) -> None:
        if self.ever_final:
            assert self.status in lifecycle.FINAL
            assert self.history[-1] == self.history[-2] or len(self.history) >= 2
        self.ever_final = self.ever_final or self.status in lifecycle.FINAL
        if self.ever_final:
            finals = [s for s in self.history if s in lifecycle.FINAL]
            assert len(finals) == 1  # never left, never re-entered

    @invariant()
    def data_flows_only_when_active(self) -> None:
        assert lifecycle.data_may_flow(self.status) == (self.status is Status.ACTIVE)


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=200, stateful_step_count=20, deadline=None)

BASE = date(2025, 1, 1)
dates = st.integers(0, 400).map(lambda n: BASE + timedelta(days=n))


@st.composite
def scopes(draw: st.DrawFn) -> Scope:
    a, b = sorted((draw(dates), draw(dates)))
    one_time = draw(st.booleans())
    return Scope(
        meters=tuple(draw(st.lists(st.sampled_from(["M1", "M2", "M3"]), min_size=1, unique=True))),
        data_types=tuple(draw(st.lists(st.sampled_from(list(DataType)), min_size=1, unique=True))),
        date_range=DateRange(start=a, end=b),
        granularity=draw(st.sampled_from(list(Granularity))),
        fetch_type=FetchType.ONE_TIME if one_time else FetchType.PERIODIC,
        frequency=Frequency(
            value=1 if one_time else draw(st.integers(1, 50)),
            unit=draw(st.sampled_from(list(FrequencyUnit))),
        ),
        data_life_days=draw(st.integers(1, 400)),
        expires_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 9000))),
    )


@st.composite
def narrowings(draw: st.DrawFn) -> Narrowing:
    scope = draw(scopes())
    fields = draw(st.sets(st.sampled_from(list(Narrowing.model_fields))))
    return Narrowing(**{name: getattr(scope, name) for name in fields})


@given(requested=scopes(), change=narrowings())
@settings(max_examples=400, deadline=None)
def test_an_approval_is_only_ever_narrower(requested, change):
    try:
        approved = narrow(requested, change)
    except (NotNarrower, ValueError):
        return
    assert approved.within(requested)
    for name, value in change.model_dump(exclude_none=True).items():
        assert getattr(approved, name) == getattr(Narrowing(**{name: value}), name)


@given(requested=scopes())
def test_approving_as_asked_changes_nothing_and_any_widening_is_named(requested):
    assert narrow(requested, Narrowing()) == requested
    if requested.granularity is not Granularity.MIN15:
        with pytest.raises(NotNarrower) as refused:
            narrow(requested, Narrowing(granularity=Granularity.MIN15))
        assert refused.value.fields == ["granularity"]
    wider = DateRange(start=requested.date_range.start - timedelta(days=1),
                      end=requested.date_range.end)  # fmt: skip
    with pytest.raises(NotNarrower) as refused:
        narrow(requested, Narrowing(date_range=wider))
    assert refused.value.fields == ["date_range"]


def _chain(n: int) -> list[audit.Entry]:
    entries, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        at = datetime(2026, 1, 1) + timedelta(seconds=seq)
        fields: dict[str, Any] = {"seq": seq, "at": at, "kind": "k", "actor": f"a{seq}",
                                  "consent_id": "c", "details": {"n": seq}}  # fmt: skip
        digest = audit.entry_hash(**fields, prev_hash=prev)
        entries.append(audit.Entry(**fields, prev_hash=prev, hash=digest))
        prev = digest
    return entries


@given(n=st.integers(1, 12), data=st.data())
def test_the_first_tampered_entry_is_named(n, data):
    entries = _chain(n)
    assert audit.first_bad(entries) is None
    victim = data.draw(st.integers(0, n - 1))
    field = data.draw(st.sampled_from(["actor", "details", "kind", "hash", "at"]))
    original = entries[victim]
    changes: dict[str, dict[str, Any]] = {
        "actor": {"actor": "mallory"},
        "details": {"details": {"n": -1}},
        "kind": {"kind": "other"},
        "hash": {"hash": "f" * 64},
        "at": {"at": original.at + timedelta(microseconds=1)},
    }
    changed = changes[field]
    entries[victim] = audit.Entry(
        **{f: getattr(original, f) for f in audit.Entry.__slots__} | changed
    )
    broken = audit.first_bad(entries)
    assert broken is not None
    assert broken.seq == original.seq
    # Removing an entry is caught at the gap.
    if n >= 3:
        removed = _chain(n)
        del removed[1]
        gap = audit.first_bad(removed)
        assert gap is not None
        assert gap.seq == 3


IST = slicing.IST


def _profiles(values: list[tuple[float, float]], start: datetime):
    descriptor = PayloadDescriptorProfile(
        profile_type="DESCRIPTOR",
        id="d",
        payload_descriptor_sets=[PayloadDescriptorSet(
            name="S",
            payload_descriptors=[
                PayloadDescriptor(reading_type="imp", flow_direction="IMPORT",
                                  reported_mode="USAGE"),
                PayloadDescriptor(reading_type="exp", flow_direction="EXPORT",
                                  reported_mode="USAGE"),
            ],
            compact_sequences=[CompactSequence(name="S", sequence_items=[
                SequenceItem(reading_type="imp"), SequenceItem(reading_type="exp")])],
        )],
    )  # fmt: skip
    profile = IntervalProfile(
        profile_type="INTERVAL",
        meter_refs=[Identifier(scheme="METER_SERIAL", value="M1")],
        payload_descriptor_set_ref="S",
        compact_sequence_ref="S",
        interval_period=IntervalPeriod(start=start, duration="PT15M"),
        intervals=[Interval(id=i, payloads=[a, b]) for i, (a, b) in enumerate(values)],
    )
    return [descriptor, profile]


@given(
    values=st.lists(
        st.tuples(st.integers(0, 5000).map(lambda v: v / 1000),
                  st.integers(0, 5000).map(lambda v: v / 1000)),
        min_size=192, max_size=192,
    ),
    granularity=st.sampled_from([Granularity.MIN15, Granularity.MIN30, Granularity.HOURLY,
                                 Granularity.DAILY]),
    skip=st.integers(0, 8),
    types=st.sampled_from([{DataType.INTERVAL_CONSUMPTION}, {DataType.NET_EXPORT},
                           {DataType.INTERVAL_CONSUMPTION, DataType.NET_EXPORT}]),
)  # fmt: skip
@settings(max_examples=60, deadline=None)
def test_slices_sum_exactly_the_consented_columns_inside_the_window(
    values, granularity, skip, types
):
    start = datetime(2025, 5, 1, tzinfo=IST)
    window_start = start + timedelta(hours=skip)
    window_end = start + timedelta(days=2) - timedelta(hours=skip)
    window = slicing.Window("M1", window_start, window_end, frozenset(types), granularity)
    out = slicing.interval_slice(_profiles(values, start), window)
    descriptor, profile = out
    columns = [
        d["flowDirection"] for d in descriptor["payloadDescriptorSets"][0]["payloadDescriptors"]
    ]
    assert columns == [c for c in ("IMPORT", "EXPORT")
                       if {"IMPORT": DataType.INTERVAL_CONSUMPTION,
                           "EXPORT": DataType.NET_EXPORT}[c] in types]  # fmt: skip
    minutes = granularity.minutes
    origin = datetime.fromisoformat(profile["intervalPeriod"]["start"])
    for row in profile["intervals"]:
        bucket = origin + timedelta(minutes=minutes * row["id"])
        inside = [
            v for i, v in enumerate(values)
            if bucket <= start + timedelta(minutes=15 * i) < bucket + timedelta(minutes=minutes)
            and window_start <= start + timedelta(minutes=15 * i)
            and start + timedelta(minutes=15 * (i + 1)) <= window_end
        ]  # fmt: skip
        assert inside, "no row may come from outside the window"
        for n, column in enumerate(columns):
            expected = sum(v[0 if column == "IMPORT" else 1] for v in inside)
            assert row["payloads"][n] == pytest.approx(expected, abs=1e-6)
    total = sum(len(r["payloads"]) for r in profile["intervals"])
    assert total == len(profile["intervals"]) * len(columns)
