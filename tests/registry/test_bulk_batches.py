"""Bulk imports in large batches decide exactly as in small ones.

A large batch reads what it needs in a few bulk lookups (on PostgreSQL one array
parameter, run as index probes) and writes by binary COPY; a batch of three takes
the small paths. The same file must give the same report, the same places and the
same graph either way, and a re-run must change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.app import RegistrySettings, create_app
from tests.registry.test_imports_api import post_csv
from tests.tokens import authorise_registry

FEEDERS, TRANSFORMERS = 90, 160
HEADER = (
    "type,legacy_scheme,legacy_scope,legacy_id,state,discom,lat,lon,"
    "attr.capacity_kva,parent.feeder\n"
)


def grid_file() -> str:
    rows = [
        f"feeder,scada_tag,MSEDCL,F{n:03d},IN-MH,MSEDCL,,,," for n in range(FEEDERS)
    ]  # fmt: skip
    for n in range(TRANSFORMERS):
        place = f"{18 + n / 1000:.3f},{73 + n / 1000:.3f}" if n % 2 else ","
        rows.append(
            f"distribution_transformer,gis_asset,MSEDCL,DT{n:04d},IN-MH,MSEDCL,{place},"
            f"{100 + n},scada_tag:MSEDCL:F{n % FEEDERS:03d}"
        )
    rows.insert(
        120,
        "distribution_transformer,gis_asset,MSEDCL,DTX1,IN-MH,MSEDCL,,,100,scada_tag:MSEDCL:NOPE",
    )
    rows.insert(150, "distribution_transformer,gis_asset,MSEDCL,DTX2,IN-MH,MSEDCL,,,-5,")
    rows.append("feeder,scada_tag,MSEDCL,F999,IN-ZZ,MSEDCL,,,,")
    return HEADER + "\n".join(rows) + "\n"


@pytest.fixture
def large_batches(make_database) -> Iterator[TestClient]:
    settings = RegistrySettings(
        database_url=make_database("registry:migrations"),
        migrate_on_start=False,
        log_level="WARNING",
        import_batch_size=5000,
    )
    app = create_app(settings)
    with TestClient(app) as test_client:
        authorise_registry(app, test_client)
        yield test_client
    app.state.engine.dispose()


def graph(client: TestClient) -> dict[str, tuple[Any, ...]]:
    """Each identity by its legacy name: its place, attributes and open parent's name."""
    names: dict[str, str] = {}
    items = client.get("/identities", params={"limit": 1000}).json()["items"]
    for item in items:
        [mapping] = client.get(f"/identities/{item['id']}/legacy-ids").json()
        names[item["id"]] = mapping["legacy"]["value"]
    out: dict[str, tuple[Any, ...]] = {}
    for item in items:
        relations = client.get(f"/identities/{item['id']}/relations").json()
        parents = sorted(names[r["parent"]] for r in relations if r["valid_to"] is None)
        out[names[item["id"]]] = (item["address"], item["attributes"], parents)
    return out


def test_large_batches_give_the_same_report_places_and_graph_as_small_ones(client, large_batches):
    text = grid_file()
    small = post_csv(client, text).json()
    large = post_csv(large_batches, text).json()
    for body in (small, large):
        assert (body["rows"], body["created"], body["failed"]) == (
            FEEDERS + TRANSFORMERS + 3,
            FEEDERS + TRANSFORMERS,
            3,
        ), body["errors"]
    assert large["errors"] == small["errors"]
    assert [e["line"] for e in large["errors"]] == [122, 152, FEEDERS + TRANSFORMERS + 4]

    expected = graph(client)
    assert graph(large_batches) == expected
    assert expected["DT0001"][0]["geo"] == {"lat": 18.001, "lon": 73.001}
    assert expected["DT0001"][1] == {"capacity_kva": 101}
    assert expected["DT0095"][2] == ["F005"]


def test_a_re_run_in_large_batches_changes_nothing(large_batches):
    text = grid_file()
    post_csv(large_batches, text)
    before = graph(large_batches)
    again = post_csv(large_batches, text).json()
    assert (again["created"], again["updated"], again["unchanged"], again["failed"]) == (
        0,
        0,
        FEEDERS + TRANSFORMERS,
        3,
    )
    assert graph(large_batches) == before
