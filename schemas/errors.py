"""Problems raised by the schema loader and validator."""

from __future__ import annotations

from kernel.problems import Problem


class SchemaProblem(Problem):
    """Root of the schemas package's errors."""


class UnknownSchema(SchemaProblem):
    slug = "unknown-schema"
    title = "No such schema"
    status = 404
    beckn_code = "40400"
    description = "The schema id names no schema this stack ships."


class InvalidDocument(SchemaProblem):
    slug = "schema-validation-failed"
    title = "The document does not conform to its schema"
    status = 422
    beckn_code = "40000"
    description = "`errors` lists every failure with its JSON Pointer, keyword and reason."
