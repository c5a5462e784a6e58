"""Data layer: adapters that expose a discom's systems through the stack's ports.

- ``adapters.cis``: billing/CIS extracts (plain CSV, SAP IS-U) to registry bulk-import rows.
- ``adapters.dlms``: A-XDR codec, IS 15959 profile-generic objects, a meter simulator.
- ``adapters.vee``: validation, estimation and editing, configured per discom.
- ``adapters.meterdata``: VEE-checked readings to MeterData v0.6 profiles.
- ``adapters.hes``: a head-end export served through the consent/registry/protocol ports.
- ``adapters.synthetic``: a seeded synthetic feeder for the sandbox and benchmarks.
- ``adapters.columnar``: interval data as partitioned Parquet and the heavy operations
  (VEE, feeder/DT aggregates, losses, export/import, billing determinants) as Ibis
  expressions on DuckDB or Spark (docs/scale.md).
"""
