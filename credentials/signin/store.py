"""Sign-in's tables (SQLite and PostgreSQL alike); secrets are kept only as keyed
digests (codes, session ids, challenge ids), never as themselves.

* ``signin_account``: who can sign in, of which kind and organisation, and the
  address their codes are sent to.
* ``signin_code``: one-time codes (sign-in or invitation), single use, attempt-counted.
* ``signin_lockout``: failed sign-ins in a row, and until when an account is locked.
* ``signin_session``: server-side sessions (the cookie holds an opaque id), with their
  anti-forgery token and expiry.
* ``signin_passkey``: registered WebAuthn credentials and their signature counters.
* ``signin_challenge``: WebAuthn challenges issued and not yet answered (single use).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Index, delete
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, SQLModel, col, select

from credentials.signin.models import CodeOutcome, CodeState, Lockout, check_code
from kernel.database import from_db, session_scope, to_db
from kernel.database import timestamp_field as _ts


class SignInTable(SQLModel, registry=sa_registry()):
    """Base of sign-in's tables: their own metadata, their own migrations."""


metadata = SignInTable.metadata


class AccountRow(SignInTable, table=True):
    __tablename__ = "signin_account"

    subject: str = Field(primary_key=True, max_length=80)
    kind: str = Field(max_length=12)  # consumer | operator
    organisation: str = Field(max_length=120)
    address: str = Field(max_length=200)  # where the message channel delivers codes
    created_at: datetime = _ts()


class CodeRow(SignInTable, table=True):
    __tablename__ = "signin_code"
    __table_args__ = (Index("ix_signin_code_subject", "subject", "purpose"),)

    pk: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=80)
    purpose: str = Field(max_length=12)  # signin | invite
    digest: str = Field(max_length=64)
    expires_at: datetime = _ts()
    attempts: int = 0
    used: bool = False


class LockoutRow(SignInTable, table=True):
    __tablename__ = "signin_lockout"

    subject: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    locked_until: datetime | None = _ts(nullable=True)


class SessionRow(SignInTable, table=True):
    __tablename__ = "signin_session"

    id_digest: str = Field(primary_key=True, max_length=64)
    subject: str = Field(max_length=80, index=True)
    stage: str = Field(max_length=8)  # full | enrol
    csrf: str = Field(max_length=64)
    expires_at: datetime = _ts()
    created_at: datetime = _ts()


class PasskeyRow(SignInTable, table=True):
    __tablename__ = "signin_passkey"

    credential_id: str = Field(primary_key=True, max_length=400)  # base64url
    subject: str = Field(max_length=80, index=True)
    public_key: str = Field(max_length=2000)  # base64url COSE key
    sign_count: int = 0
    created_at: datetime = _ts()
    last_used_at: datetime | None = _ts(nullable=True)


class ChallengeRow(SignInTable, table=True):
    __tablename__ = "signin_challenge"

    id_digest: str = Field(primary_key=True, max_length=64)
    challenge: str = Field(max_length=200)  # base64url
    purpose: str = Field(max_length=12)  # register | authenticate
    subject: str | None = Field(default=None, max_length=80)
    expires_at: datetime = _ts()


class SignInStore:
    """The only way to sign-in's tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # accounts -------------------------------------------------------------------------

    def upsert_account(self, row: AccountRow) -> None:
        with session_scope(self.engine) as s:
            found = s.get(AccountRow, row.subject)
            if found is None:
                row.created_at = to_db(row.created_at)
                s.add(row)
            else:
                found.kind, found.organisation, found.address = (
                    row.kind,
                    row.organisation,
                    row.address,
                )

    def account(self, subject: str) -> AccountRow | None:
        with session_scope(self.engine) as s:
            found = s.get(AccountRow, subject)
            if found is not None:
                s.expunge(found)
            return found

    # codes ----------------------------------------------------------------------------

    def replace_code(self, subject: str, purpose: str, state: CodeState) -> None:
        """A new code voids the subject's earlier ones of the same purpose."""
        with session_scope(self.engine) as s:
            s.exec(
                delete(CodeRow).where(
                    col(CodeRow.subject) == subject, col(CodeRow.purpose) == purpose
                )
            )
            s.add(
                CodeRow(
                    subject=subject,
                    purpose=purpose,
                    digest=state.digest,
                    expires_at=to_db(state.expires_at),
                    attempts=state.attempts,
                    used=state.used,
                )
            )

    def code(self, subject: str, purpose: str) -> CodeState | None:
        with session_scope(self.engine) as s:
            row = s.exec(
                select(CodeRow).where(
                    col(CodeRow.subject) == subject, col(CodeRow.purpose) == purpose
                )
            ).first()
            if row is None:
                return None
            return CodeState(row.digest, from_db(row.expires_at), row.attempts, row.used)

    def spend_code(
        self, subject: str, purpose: str, offered: str, pepper: bytes, now: datetime
    ) -> CodeOutcome | None:
        """Check ``offered`` and record the attempt in one transaction (the row locked),
        so two requests racing with the same code cannot both be accepted."""
        with session_scope(self.engine) as s:
            row = s.exec(
                select(CodeRow)
                .where(col(CodeRow.subject) == subject, col(CodeRow.purpose) == purpose)
                .with_for_update()
            ).first()
            if row is None:
                return None
            state = CodeState(row.digest, from_db(row.expires_at), row.attempts, row.used)
            outcome, after = check_code(state, offered, pepper, now)
            row.attempts, row.used = after.attempts, after.used
            return outcome

    # lockout --------------------------------------------------------------------------

    def lockout(self, subject: str) -> Lockout:
        with session_scope(self.engine) as s:
            row = s.get(LockoutRow, subject)
            if row is None:
                return Lockout()
            until = from_db(row.locked_until) if row.locked_until is not None else None
            return Lockout(row.failures, until)

    def save_lockout(self, subject: str, state: Lockout) -> None:
        with session_scope(self.engine) as s:
            row = s.get(LockoutRow, subject) or LockoutRow(subject=subject)
            row.failures = state.failures
            row.locked_until = to_db(state.locked_until) if state.locked_until else None
            s.add(row)

    # sessions -------------------------------------------------------------------------

    def add_session(self, row: SessionRow) -> None:
        with session_scope(self.engine) as s:
            row.expires_at, row.created_at = to_db(row.expires_at), to_db(row.created_at)
            s.add(row)

    def session(self, id_digest: str) -> SessionRow | None:
        with session_scope(self.engine) as s:
            found = s.get(SessionRow, id_digest)
            if found is not None:
                s.expunge(found)
                found.expires_at = from_db(found.expires_at)
            return found

    def end_session(self, id_digest: str) -> None:
        with session_scope(self.engine) as s:
            s.exec(delete(SessionRow).where(col(SessionRow.id_digest) == id_digest))

    def end_expired_sessions(self, now: datetime) -> None:
        with session_scope(self.engine) as s:
            s.exec(delete(SessionRow).where(col(SessionRow.expires_at) < to_db(now)))

    # passkeys -------------------------------------------------------------------------

    def add_passkey(self, row: PasskeyRow) -> None:
        with session_scope(self.engine) as s:
            row.created_at = to_db(row.created_at)
            s.add(row)

    def passkey(self, credential_id: str) -> PasskeyRow | None:
        with session_scope(self.engine) as s:
            found = s.get(PasskeyRow, credential_id)
            if found is not None:
                s.expunge(found)
            return found

    def passkeys(self, subject: str) -> list[PasskeyRow]:
        with session_scope(self.engine) as s:
            rows = list(
                s.exec(
                    select(PasskeyRow)
                    .where(col(PasskeyRow.subject) == subject)
                    .order_by(col(PasskeyRow.created_at))
                )
            )
            for row in rows:
                s.expunge(row)
            return rows

    def used_passkey(self, credential_id: str, sign_count: int, now: datetime) -> None:
        with session_scope(self.engine) as s:
            row = s.get(PasskeyRow, credential_id)
            if row is not None:
                row.sign_count, row.last_used_at = sign_count, to_db(now)

    # challenges -----------------------------------------------------------------------

    def add_challenge(self, row: ChallengeRow) -> None:
        with session_scope(self.engine) as s:
            row.expires_at = to_db(row.expires_at)
            s.add(row)

    def take_challenge(self, id_digest: str) -> ChallengeRow | None:
        """The challenge, removed in the same transaction: answered at most once."""
        with session_scope(self.engine) as s:
            found = s.get(ChallengeRow, id_digest)
            if found is None:
                return None
            s.delete(found)
            s.flush()
            s.expunge(found)
            found.expires_at = from_db(found.expires_at)
            return found
