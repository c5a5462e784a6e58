"""Secrets never in logs (issue 15): every participant's log of a whole sandbox run, and
what the run printed, hold no private key, no access token or client assertion, no
one-time code and not the run's key passphrase.

The patterns are checked against planted leaks first, so the scan can fail.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import SandboxRun

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}")
PATTERNS = {
    "a PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a private JWK": re.compile(r"""["']d["']\s*:\s*["'][A-Za-z0-9_-]{32,}["']"""),
    "a bearer token": re.compile(r"Bearer\s+[A-Za-z0-9_\-.]{20,}"),
    "a client assertion": re.compile(r"client_assertion=[A-Za-z0-9_\-.]{20,}"),
    "a raw Ed25519 seed": re.compile(r"private_key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9+/_-]{40,}"),
}


def _claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def part(text: str) -> dict[str, Any]:
        try:
            value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    header, claims, _ = token.split(".", 2)
    return part(header), part(claims)


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """What in ``text`` is a secret: by pattern, by value (``secrets``: name -> value),
    and any JWT that is an access token or a client assertion."""
    found = [name for name, pattern in PATTERNS.items() if pattern.search(text)]
    found += [name for name, value in secrets.items() if value and value in text]
    for match in JWT.finditer(text):
        header, claims = _claims_of(match.group(0))
        if header.get("typ") == "at+jwt" or "scope" in claims or "client_id" in claims:
            found.append("an access token")
        elif str(claims.get("aud", "")).endswith("/oauth/token"):
            found.append("a client assertion")
    return sorted(set(found))


def one_time_codes(data_dir: Path) -> dict[str, str]:
    """The codes the sandbox's message channel delivered (its inbox), by address."""
    codes: dict[str, str] = {}
    for path in (
        sorted((data_dir / "inbox").glob("*.jsonl")) if (data_dir / "inbox").exists() else []
    ):
        for n, line in enumerate(path.read_text().splitlines()):
            text = json.loads(line).get("text", "")
            for code in re.findall(r"\b\d{6,8}\b", text):
                codes[f"one-time code {path.stem}#{n}"] = code
    return codes


def test_the_scan_finds_planted_secrets() -> None:
    from tests.tokens import TestIssuer

    token = TestIssuer().token(audience="x.test", scopes=["registry:write"])
    planted = {
        "pem": "-----BEGIN PRIVATE KEY-----\nMC4CAQ...",
        "jwk": '{"kty": "OKP", "d": "' + "A" * 43 + '"}',
        "bearer": f"authorization: Bearer {token}",
        "bare token": f"got {token} back",
        "passphrase": "opening custody with hunter2-hunter2-hunter2",
        "code": "your code is 483920",
    }
    secrets = {"the key passphrase": "hunter2-hunter2-hunter2", "one-time code": "483920"}
    for name, text in planted.items():
        assert leaks(text, secrets), name
    assert leaks('{"event": "request", "status": 200, "path": "/oauth/token"}', secrets) == []


@pytest.mark.slow
def test_no_secret_in_any_log_of_a_whole_sandbox_run(sandbox_run: SandboxRun) -> None:
    logs = sorted(sandbox_run.data_dir.glob("*.log"))
    assert logs, "no participant log found: the scan would prove nothing"
    secrets = {"the key passphrase": sandbox_run.passphrase, **one_time_codes(sandbox_run.data_dir)}
    assert sandbox_run.passphrase
    found = {path.name: leaks(path.read_text(errors="replace"), secrets) for path in logs}
    found["the run's own output"] = leaks(sandbox_run.output, secrets)
    assert {name: what for name, what in found.items() if what} == {}
