"""Machine tokens: OAuth 2.0 client credentials with ``private_key_jwt`` (RFC 7523).

A participant proves itself to the directory's token endpoint with a short client
assertion signed by its registered Ed25519 key, and gets a short-lived access token
(a JWT signed by the directory's key) bound to one audience, the service it calls,
with the scopes of its role. Services verify tokens offline with the directory's
public key (fetched once and cached by the caller of :class:`AccessTokenVerifier`).

Signing goes through a callback (``sign(message) -> signature``) so keys stay in
their custody (an encrypted file, an HSM): nothing here ever holds a private key.
joserfc verifies and validates the claims; only Ed25519 (``"Ed25519"``, RFC 9864, and
its older name ``"EdDSA"``, RFC 8037) is accepted.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jwt import JWTClaimsRegistry

from kernel.access import Principal, Unauthenticated, install_authenticator
from kernel.backoffice import install_backoffice
from kernel.settings import ServiceSettings

ALGORITHMS = ["Ed25519", "EdDSA"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path, not a secret)
ACCESS_TOKEN_LIFETIME = 300  # seconds (issue 15: short-lived)
ASSERTION_LIFETIME = 60  # a client assertion is good for one exchange, right now
MAX_TOKEN_CHARS = 4096  # a header longer than this is refused unparsed
LEEWAY = 5  # seconds of clock skew tolerated

Sign = Callable[[bytes], bytes]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def compact_jws(header: Mapping[str, Any], claims: Mapping[str, Any], sign: Sign) -> str:
    """A JWS compact serialisation signed by ``sign`` (the key stays in its custody)."""
    protected = _b64(json.dumps(dict(header), separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{protected}.{payload}".encode()
    return f"{protected}.{payload}.{_b64(sign(signing_input))}"


def public_okp(raw: bytes) -> OKPKey:
    """An Ed25519 public key (32 raw bytes) as a joserfc key."""
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)})


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, unverified: only to pick the key by ``kid``.

    Raises ``ValueError`` for anything that is not three base64url parts with a JSON
    object header naming an accepted algorithm and a ``kid``.
    """
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError("the token is too long")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("not a compact JWS")
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise ValueError("the header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    if header.get("alg") not in ALGORITHMS:
        raise ValueError(f"alg {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 255:
        raise ValueError("the header names no key (kid)")
    return header


def verify_jwt(
    token: str, key: bytes, *, required: Mapping[str, Any], now: float | None = None
) -> dict[str, Any]:
    """The claims of ``token`` if its signature verifies with ``key`` and the claims
    named in ``required`` hold (``{"iss": {"value": ...}, "exp": {"essential": True}}``,
    joserfc's claim options); ``ValueError`` otherwise."""
    try:
        decoded = jwt.decode(token, public_okp(key), algorithms=ALGORITHMS)
        registry = JWTClaimsRegistry(now=int(now) if now is not None else None,
                                     leeway=LEEWAY, **dict(required))  # fmt: skip
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from exc
    return dict(decoded.claims)


# ------------------------------------------------------------------ client side


def client_assertion(client_id: str, audience: str, kid: str, sign: Sign,
                     *, now: float | None = None) -> str:  # fmt: skip
    """RFC 7523 §3: iss = sub = the client, aud = the token endpoint, short exp, a jti."""
    issued = int(now if now is not None else time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": issued,
              "exp": issued + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(16)}  # fmt: skip
    return compact_jws({"alg": "Ed25519", "typ": "JWT", "kid": kid}, claims, sign)


class TokenClient(httpx.Auth):
    """Bearer tokens for one participant calling one service (``audience``).

    Fetches a token from the directory's token endpoint with a fresh client assertion,
    keeps it until shortly before it expires, and fetches a new one once if the
    service answers 401 (a token revoked or a key rotated meanwhile).
    """

    def __init__(self, token_url: str, client_id: str, kid: str, sign: Sign, audience: str,
                 *, http: httpx.Client | None = None) -> None:  # fmt: skip
        self.token_url = token_url
        self.client_id = client_id
        self.kid = kid
        self.sign = sign
        self.audience = audience
        self._http = http or httpx.Client(timeout=10)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if fresh or self._token is None or time.time() > self._expires - 30:
                self._token, self._expires = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        assertion = client_assertion(self.client_id, self.token_url, self.kid, self.sign)
        response = self._http.post(self.token_url, data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "audience": self.audience,
        })  # fmt: skip
        if response.status_code != 200:
            raise TokenRefused(f"{response.status_code}: {response.text[:300]}")
        body = response.json()
        return str(body["access_token"]), time.time() + float(body.get("expires_in", 60))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(fresh=True)}"
            yield request


class TokenRefused(RuntimeError):
    """The token endpoint would not issue a token (the message says why)."""


# ------------------------------------------------------------------ service side


@dataclass(frozen=True)
class AccessTokenVerifier:
    """Checks bearer tokens for one service: issuer, audience, expiry, signature.

    ``key_for(kid)`` answers the directory's public key (32 raw bytes) for a key id,
    or ``None``; the caller caches it (it is the directory's published key, fetched
    once), so no request reaches the directory per call.
    """

    issuer: str
    audience: str
    key_for: Callable[[str], bytes | None]

    def verify(self, token: str, *, now: float | None = None) -> Principal:
        try:
            header = unverified_header(token)
        except ValueError as exc:
            raise Unauthenticated(f"the bearer token is malformed: {exc}") from None
        key = self.key_for(header["kid"])
        if key is None:
            raise Unauthenticated("the bearer token is signed by a key the directory lacks")
        required = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.audience},
            "exp": {"essential": True},
            "sub": {"essential": True},
            "jti": {"essential": True},
        }
        try:
            claims = verify_jwt(token, key, required=required, now=now)
        except ValueError as exc:
            raise Unauthenticated(f"the bearer token is not valid here: {exc}") from None
        scope = claims.get("scope", "")
        roles = claims.get("roles", [])
        if not isinstance(scope, str) or not isinstance(roles, list):
            raise Unauthenticated("the bearer token's scope or roles are malformed")
        subject = str(claims["sub"])
        return Principal(kind="participant", subject=subject,
                         organisation=str(claims.get("org", subject)),
                         roles=frozenset(str(r) for r in roles),
                         scopes=frozenset(scope.split()), via="token")  # fmt: skip


def bearer_authenticator(verifier: AccessTokenVerifier) -> Callable[[Request], Principal | None]:
    """An authenticator (``kernel.access.install_authenticator``) for ``Bearer`` tokens:
    no Authorization header is nobody; a wrong one is a 401, never nobody."""

    def authenticate(request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None  # another scheme (a Beckn signature) is another authenticator's
        return verifier.verify(token.strip())

    return authenticate


def access_token(
    sign: Sign,
    *,
    kid: str,
    issuer: str,
    subject: str,
    audience: str,
    scopes: Iterable[str],
    roles: Iterable[str] = (),
    lifetime: int = ACCESS_TOKEN_LIFETIME,
    now: float | None = None,
) -> str:
    """An access token as the directory signs it (``typ`` at+jwt, RFC 9068's shape)."""
    issued = int(now if now is not None else time.time())
    claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": issued, "nbf": issued,
              "exp": issued + lifetime, "jti": secrets.token_urlsafe(16),
              "scope": " ".join(scopes), "roles": list(roles), "org": subject,
              "client_id": subject}  # fmt: skip
    return compact_jws({"alg": "Ed25519", "typ": "at+jwt", "kid": kid}, claims, sign)


def install_static_verification(app: FastAPI, *, issuer: str, audience: str,
                                keys: Mapping[str, bytes]) -> None:  # fmt: skip
    """Accept tokens of ``issuer`` for ``audience`` verified with keys given up front
    (``kid`` -> 32 raw bytes): a service configured with the directory's published key,
    or a bench with its own."""
    verifier = AccessTokenVerifier(issuer=issuer, audience=audience, key_for=keys.get)
    install_authenticator(app, bearer_authenticator(verifier))
    install_backoffice(app, audience)  # its back office answers its own operators only


def install_token_settings(app: FastAPI, settings: ServiceSettings) -> None:
    """``install_static_verification`` from a service's settings (``IES_TOKEN_ISSUER``,
    ``IES_TOKEN_AUDIENCE``, ``IES_TOKEN_KEYS``); nothing when they are not set (the
    sandbox installs its own, fetching the directory's key)."""
    if not (settings.token_issuer and settings.token_audience and settings.token_keys):
        return
    keys = {kid: base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            for kid, raw in settings.token_keys.items()}  # fmt: skip
    install_static_verification(app, issuer=settings.token_issuer,
                                audience=settings.token_audience, keys=keys)  # fmt: skip
