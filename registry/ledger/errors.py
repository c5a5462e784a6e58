"""What the ledger refuses, each with its own problem type."""

from __future__ import annotations

from kernel.problems import Problem


class LedgerProblem(Problem):
    """Root of the ledger's errors."""


class LedgerSignatureInvalid(LedgerProblem):
    slug = "ledger-signature-invalid"
    title = "The ledger write is unsigned or its signature does not verify"
    status = 401
    beckn_code = "40100"
    description = (
        "Ledger writes carry `DeDi-Signature`, a detached JWS over the exact body whose "
        "`kid` is `{subscriber id}#{key id}` of the writer's subscriber record; the key "
        "is looked up in the directory and must be valid."
    )


class LedgerWriterNotAllowed(LedgerProblem):
    slug = "ledger-writer-not-allowed"
    title = "This participant may not make this ledger entry"
    status = 403
    beckn_code = "40300"
    description = (
        "Trades are recorded by a P2P trading platform, in its own name; export/import "
        "records by a discom, for its own meters only."
    )


class LedgerTradeConflict(LedgerProblem):
    slug = "ledger-trade-conflict"
    title = "A different trade is already recorded under this id"
    status = 409
    beckn_code = "40900"
    description = "A trade record is immutable: the same id with the same content is a retry."


class LedgerEntryNotFound(LedgerProblem):
    slug = "ledger-entry-not-found"
    title = "No such ledger entry"
    status = 404
    beckn_code = "40400"
    description = "The ledger holds no entry with this id."


class LedgerInputInvalid(LedgerProblem):
    slug = "ledger-input-invalid"
    title = "The ledger entry is not valid"
    status = 422
    beckn_code = "40000"
    description = (
        "A block that does not start on a 15-minute boundary, a party trading with itself."
    )
