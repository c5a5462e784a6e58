"""Sign-in's use cases over the store, a message channel and WebAuthn (py_webauthn).

A web app calls these and sets the cookie; nothing here knows HTTP. Every path that
can fail counts against the account's lockout, and every secret handed out (session
id, code, challenge id) is stored only as a keyed digest.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from credentials.signin.errors import LockedOut, PasskeyRejected, SignInRefused
from credentials.signin.models import (
    CODE_LIFETIME,
    ENROL_LIFETIME,
    INVITATION_LIFETIME,
    SESSION_LIFETIME,
    AccountKind,
    CodeOutcome,
    Lockout,
    Stage,
    digest,
    failed,
    issue_code,
    may_resend,
    new_token,
    succeeded,
)
from credentials.signin.ports import MessageChannel
from credentials.signin.store import (
    AccountRow,
    ChallengeRow,
    PasskeyRow,
    SessionRow,
    SignInStore,
)
from kernel.migrations import upgrade

CHALLENGE_LIFETIME = ENROL_LIFETIME


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """The WebAuthn relying party: its id (a domain: ``localhost`` in the sandbox) and the
    exact origins a browser may report; both come from configuration, never from the
    request, so a phishing origin's assertion does not verify."""

    rp_id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Account:
    subject: str
    kind: AccountKind
    organisation: str


@dataclass(frozen=True, slots=True)
class Listing:
    """What a service's directory says of a person it knows (see ``SignIn.directory``)."""

    kind: AccountKind
    organisation: str
    address: str


Directory = Callable[[str], Listing | None]


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: ``token`` only when just created (the cookie's value)."""

    account: Account
    stage: Stage
    csrf: str
    expires_at: datetime
    token: str | None = None


@dataclass(frozen=True, slots=True)
class Passkey:
    credential_id: str
    created_at: datetime
    last_used_at: datetime | None


class SignIn:
    def __init__(
        self,
        engine: Engine,
        channel: MessageChannel,
        relying_party: RelyingParty,
        pepper: bytes,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        migrate: bool = True,
        directory: Directory | None = None,
    ) -> None:
        if len(pepper) < 16:
            raise ValueError("the pepper must be at least 16 bytes")
        if migrate:
            upgrade(engine, "credentials.signin:migrations")
        self.store = SignInStore(engine)
        self.channel = channel
        self.rp = relying_party
        self._pepper = pepper
        self.clock = clock
        self.directory = directory

    # accounts and codes ---------------------------------------------------------------

    def enrol(self, subject: str, kind: AccountKind, organisation: str, address: str) -> None:
        self.store.upsert_account(
            AccountRow(
                subject=subject,
                kind=kind,
                organisation=organisation,
                address=address,
                created_at=self.clock(),
            )
        )

    def _row(self, subject: str) -> AccountRow | None:
        """The account, enrolled on first sight from the directory when the service has
        one (the consent manager knows its consumers by their consents)."""
        row = self.store.account(subject)
        if row is None and self.directory is not None:
            found = self.directory(subject)
            if found is not None:
                self.enrol(subject, found.kind, found.organisation, found.address)
                row = self.store.account(subject)
        return row

    def account(self, subject: str) -> Account | None:
        row = self._row(subject)
        if row is None:
            return None
        kind: AccountKind = "operator" if row.kind == "operator" else "consumer"
        return Account(row.subject, kind, row.organisation)

    def send_code(self, subject: str) -> None:
        """Send a consumer a sign-in code, or an operator who has no passkey yet an
        invitation code (it opens a short session that can only register a passkey).
        An unknown subject, or an operator with a passkey (who signs in with it), gets
        nothing, and the caller learns nothing either: the answer is the same."""
        row = self._row(subject)
        if row is None:
            return
        self._refuse_if_locked(subject)
        now = self.clock()
        if row.kind == "consumer":
            purpose, lifetime = "signin", CODE_LIFETIME
        elif not self.store.passkeys(subject):
            purpose, lifetime = "invite", INVITATION_LIFETIME
        else:
            return
        if not may_resend(self.store.code(subject, purpose), lifetime, now):
            return
        code, state = issue_code(self._pepper, now, lifetime)
        self.store.replace_code(subject, purpose, state)
        if purpose == "signin":
            text = f"Your IES sign-in code is {code}. It expires in 5 minutes."
        else:
            text = f"You are invited to the IES console. Your enrolment code is {code}."
        self.channel.deliver(row.address, text)

    def sign_in_with_code(self, subject: str, code: str) -> Session:
        """A consumer's sign-in code opens a full session; an operator's invitation code
        opens an enrolment session (register a passkey, nothing else)."""
        account = self.account(subject)
        if account is None:
            raise SignInRefused("the code was not accepted")
        self._refuse_if_locked(subject)
        purpose = "signin" if account.kind == "consumer" else "invite"
        now = self.clock()
        outcome = self.store.spend_code(subject, purpose, code.strip(), self._pepper, now)
        if outcome is not CodeOutcome.ACCEPTED:
            self._failed(subject)
            raise SignInRefused("the code was not accepted", outcome=str(outcome or "none"))
        self._succeeded(subject)
        return self._open(account, "full" if account.kind == "consumer" else "enrol")

    # sessions -------------------------------------------------------------------------

    def csrf_for_visit(self, visit: str) -> str:
        """The anti-forgery token of a visit before sign-in (bound to a visit cookie and
        this server's key: another site can neither read nor compute it)."""
        return digest("csrf-visit:" + visit, self._pepper)

    def session(self, token: str) -> Session | None:
        """The live session behind a cookie's token, or None (unknown, ended, expired)."""
        row = self.store.session(digest(token, self._pepper))
        if row is None or row.expires_at <= self.clock():
            return None
        account = self.account(row.subject)
        if account is None:
            return None
        stage: Stage = "full" if row.stage == "full" else "enrol"
        return Session(account, stage, row.csrf, row.expires_at)

    def sign_out(self, token: str) -> None:
        self.store.end_session(digest(token, self._pepper))

    def _open(self, account: Account, stage: Stage) -> Session:
        now = self.clock()
        self.store.end_expired_sessions(now)
        token, csrf = new_token(), new_token()
        expires = now + (SESSION_LIFETIME if stage == "full" else ENROL_LIFETIME)
        self.store.add_session(
            SessionRow(
                id_digest=digest(token, self._pepper),
                subject=account.subject,
                stage=stage,
                csrf=csrf,
                expires_at=expires,
                created_at=now,
            )
        )
        return Session(account, stage, csrf, expires, token)

    # lockout --------------------------------------------------------------------------

    def _refuse_if_locked(self, subject: str) -> None:
        state = self.store.lockout(subject)
        now = self.clock()
        if state.locked(now):
            raise LockedOut("too many failed sign-ins", retry_after=state.retry_after(now))

    def _failed(self, subject: str) -> None:
        now = self.clock()
        after = failed(self.store.lockout(subject), now)
        self.store.save_lockout(subject, after)
        if after.locked(now):
            raise LockedOut("too many failed sign-ins", retry_after=after.retry_after(now))

    def _succeeded(self, subject: str) -> None:
        self.store.save_lockout(subject, succeeded(self.store.lockout(subject), self.clock()))

    def lockout(self, subject: str) -> Lockout:
        return self.store.lockout(subject)

    # passkeys -------------------------------------------------------------------------

    def passkeys(self, subject: str) -> list[Passkey]:
        return [
            Passkey(
                row.credential_id,
                row.created_at.replace(tzinfo=UTC),
                row.last_used_at.replace(tzinfo=UTC) if row.last_used_at else None,
            )
            for row in self.store.passkeys(subject)
        ]

    def _challenge(self, purpose: str, subject: str | None) -> tuple[str, bytes]:
        challenge_id = new_token()
        options_challenge = _unb64(new_token())
        self.store.add_challenge(
            ChallengeRow(
                id_digest=digest(challenge_id, self._pepper),
                challenge=_b64(options_challenge),
                purpose=purpose,
                subject=subject,
                expires_at=self.clock() + CHALLENGE_LIFETIME,
            )
        )
        return challenge_id, options_challenge

    def _take(self, challenge_id: str, purpose: str, subject: str | None) -> bytes | None:
        row = self.store.take_challenge(digest(challenge_id, self._pepper))
        if row is None or row.purpose != purpose or row.subject != subject:
            return None
        if row.expires_at <= self.clock():
            return None
        return _unb64(row.challenge)

    def registration_options(self, session: Session) -> tuple[str, str]:
        """(challenge id, PublicKeyCredentialCreationOptions as JSON) for the signed-in
        person; a discoverable credential, so later sign-ins need no user name."""
        account = session.account
        challenge_id, challenge = self._challenge("register", account.subject)
        options = generate_registration_options(
            rp_id=self.rp.rp_id,
            rp_name=self.rp.name,
            user_name=account.subject,
            user_id=account.subject.encode(),
            challenge=challenge,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=_unb64(p.credential_id))
                for p in self.passkeys(account.subject)
            ],
        )
        return challenge_id, options_to_json(options)

    def register_passkey(
        self, session: Session, challenge_id: str, credential: str
    ) -> Session | None:
        """Verify the authenticator's attestation and keep the credential. An enrolment
        session is replaced by a full one (the returned session carries its token)."""
        account = session.account
        challenge = self._take(challenge_id, "register", account.subject)
        if challenge is None:
            raise PasskeyRejected("the registration challenge is unknown, used or expired")
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp.rp_id,
                expected_origin=list(self.rp.origins),
            )
        except (WebAuthnException, ValueError, KeyError) as exc:
            raise PasskeyRejected(f"the authenticator's answer did not verify: {exc}") from exc
        self.store.add_passkey(
            PasskeyRow(
                credential_id=_b64(verified.credential_id),
                subject=account.subject,
                public_key=_b64(verified.credential_public_key),
                sign_count=verified.sign_count,
                created_at=self.clock(),
            )
        )
        if session.stage == "enrol":
            return self._open(account, "full")
        return None

    def authentication_options(self) -> tuple[str, str]:
        challenge_id, challenge = self._challenge("authenticate", None)
        options = generate_authentication_options(
            rp_id=self.rp.rp_id,
            challenge=challenge,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return challenge_id, options_to_json(options)

    def sign_in_with_passkey(self, challenge_id: str, credential: str) -> Session:
        try:
            raw_id = str(json.loads(credential)["rawId"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SignInRefused("the passkey answer is malformed") from exc
        challenge = self._take(challenge_id, "authenticate", None)
        stored = self.store.passkey(raw_id)
        if stored is None or challenge is None:
            raise SignInRefused("the passkey was not accepted")
        account = self.account(stored.subject)
        if account is None:
            raise SignInRefused("the passkey was not accepted")
        self._refuse_if_locked(account.subject)
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp.rp_id,
                expected_origin=list(self.rp.origins),
                credential_public_key=_unb64(stored.public_key),
                credential_current_sign_count=stored.sign_count,
            )
        except (WebAuthnException, ValueError, KeyError) as exc:
            self._failed(account.subject)
            raise SignInRefused("the passkey was not accepted") from exc
        self.store.used_passkey(raw_id, verified.new_sign_count, self.clock())
        self._succeeded(account.subject)
        return self._open(account, "full")
