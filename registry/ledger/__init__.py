"""The trade ledger and the export/import records P2P settlement reads (DESIGN.md:
the registry holds "the trade ledger and export/import records").

Append-only: a platform records the trades it executed, a discom the export and
import its meters measured per 15-minute block; a correction is a new version beside
the old one, never an overwrite. Every write is signed by its participant (a detached
JWS under the key of its subscriber record, as directory writes are) and idempotent.
"""
