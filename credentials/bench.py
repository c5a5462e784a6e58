"""``ies bench credentials``: issue/s and verify/s per proof format, each with its ratio
to raw Ed25519 sign/s and verify/s measured in the same run (these machines are noisy).

Measured in-process, as ONIX benchmarks itself: building and securing a credential
(keys in the encrypted file custody), and checking its proof with the issuer's key.
The directory lookups of a full verification are cached (TTL) and off this path.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials.keys import EncryptedFileCustody, KeyAlgorithm
from credentials.proofs import ProofFormat, add_proof, sign_jwt, verify_jwt, verify_proof
from credentials.service import CustodySigner
from schemas.credentials import VC_V2, ElectricityCredential

ISSUER = "did:web:discom-a.example"


def _rate(work: Callable[[], Any], seconds: float) -> tuple[float, list[float]]:
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 20:
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return len(samples) / sum(samples), sorted(samples)


def _paired(
    work: Callable[[], Any], baseline: Callable[[], Any], seconds: float, batch: int = 50
) -> tuple[float, float, list[float]]:
    """Rates of ``work`` and ``baseline``, measured in alternating batches so both see
    the same machine load; and ``work``'s per-call samples for percentiles."""
    spent = [0.0, 0.0]
    done = [0, 0]
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or done[0] < 20:
        for slot, fn in ((0, work), (1, baseline)):
            for _ in range(batch if slot else max(1, batch // 10)):
                started = time.perf_counter()
                fn()
                took = time.perf_counter() - started
                spent[slot] += took
                done[slot] += 1
                if slot == 0:
                    samples.append(took)
    return done[0] / spent[0], done[1] / spent[1], sorted(samples)


def _pct(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(q * len(samples)))] * 1e6


def _credential(subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [VC_V2, ElectricityCredential.context_url],
        "id": "urn:uuid:8f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
        "type": ["VerifiableCredential", "ElectricityCredential"],
        "issuer": {"id": ISSUER, "name": "Discom A"},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": subject,
    }


SUBJECT = {
    "id": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    "customerProfile": {
        "customerNumber": "DISCOM-2025-00987654",
        "energyResources": [
            {
                "id": "did:web:discom-a.example:assets:meter:MET-001",
                "type": "METER",
                "attributes": {"meterCapability": "AMI", "energyDirection": "Forward"},
            }
        ],
        "consumptionProfiles": [
            {
                "meterId": "did:web:discom-a.example:assets:meter:MET-001",
                "sanctionedLoad": {"value": 5, "unit": "kW"},
                "tariffCategoryCode": "LT-1A",
            }
        ],
    },
}


def run(seconds: float = 1.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        custody = EncryptedFileCustody(Path(scratch), b"bench passphrase only")
        es = custody.create("vc-es256", KeyAlgorithm.P256)
        ed = custody.create("vc-ed25519", KeyAlgorithm.ED25519)
        signers = {
            KeyAlgorithm.P256: CustodySigner(custody, "vc-es256", ISSUER, KeyAlgorithm.P256),
            KeyAlgorithm.ED25519: CustodySigner(
                custody, "vc-ed25519", ISSUER, KeyAlgorithm.ED25519
            ),
        }
        keys = {KeyAlgorithm.P256: es, KeyAlgorithm.ED25519: ed}
        raw = ed25519.Ed25519PrivateKey.generate()
        public = raw.public_key()
        message = b"x" * 256
        signature = raw.sign(message)
        raw_sign, _ = _rate(lambda: raw.sign(message), seconds)
        raw_verify, _ = _rate(lambda: public.verify(signature, message), seconds)
        credential = _credential(SUBJECT)
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        cases: list[tuple[str, KeyAlgorithm, ProofFormat]] = [
            ("vc+jwt ES256", KeyAlgorithm.P256, ProofFormat.VC_JWT),
            ("vc+jwt Ed25519", KeyAlgorithm.ED25519, ProofFormat.VC_JWT),
            ("Ed25519Signature2020", KeyAlgorithm.ED25519, ProofFormat.ED25519_2020),
            ("JsonWebSignature2020 ES256", KeyAlgorithm.P256, ProofFormat.JWS_2020),
        ]
        for name, algorithm, proof_format in cases:
            signer, key = signers[algorithm], keys[algorithm]
            if proof_format is ProofFormat.VC_JWT:
                secured: Any = sign_jwt(credential, signer)

                def issue(
                    signer: CustodySigner = signer, proof_format: ProofFormat = proof_format
                ) -> Any:
                    return sign_jwt(credential, signer)

                def check(secured: Any = secured, key: Any = key) -> Any:
                    return verify_jwt(secured, key)
            else:
                secured = add_proof(credential, signer, proof_format, now)

                def issue(
                    signer: CustodySigner = signer, proof_format: ProofFormat = proof_format
                ) -> Any:
                    return add_proof(credential, signer, proof_format, now)

                def check(secured: Any = secured, key: Any = key) -> Any:
                    return verify_proof(secured, key)

            issue_rate, sign_base, issue_samples = _paired(
                issue, lambda: raw.sign(message), seconds
            )
            verify_rate, verify_base, verify_samples = _paired(
                check, lambda: public.verify(signature, message), seconds
            )
            rows.append(
                {
                    "format": name,
                    "issue_per_s": issue_rate,
                    "issue_p50_us": _pct(issue_samples, 0.5),
                    "issue_vs_raw_sign": issue_rate / sign_base,
                    "verify_per_s": verify_rate,
                    "verify_p50_us": _pct(verify_samples, 0.5),
                    "verify_p99_us": _pct(verify_samples, 0.99),
                    "verify_vs_raw_verify": verify_rate / verify_base,
                }
            )
    return {
        "raw_ed25519_sign_per_s": raw_sign,
        "raw_ed25519_verify_per_s": raw_verify,
        "formats": rows,
    }


def main(seconds: float = 1.0) -> None:
    result = run(seconds)
    print(
        f"raw Ed25519: sign {result['raw_ed25519_sign_per_s']:,.0f}/s, "
        f"verify {result['raw_ed25519_verify_per_s']:,.0f}/s (same run)"
    )
    print(
        f"{'format':28} {'issue/s':>9} {'x raw sign':>10} {'verify/s':>9} "
        f"{'x raw verify':>12} {'p50 µs':>8} {'p99 µs':>8}"
    )
    for row in result["formats"]:
        print(
            f"{row['format']:28} {row['issue_per_s']:9,.0f} {row['issue_vs_raw_sign']:10.2f} "
            f"{row['verify_per_s']:9,.0f} {row['verify_vs_raw_verify']:12.2f} "
            f"{row['verify_p50_us']:8.0f} {row['verify_p99_us']:8.0f}"
        )
    jose = next(r for r in result["formats"] if r["format"] == "vc+jwt Ed25519")
    verdict = "meets" if jose["verify_vs_raw_verify"] >= 0.7 else "MISSES"
    print(
        f"JOSE (Ed25519) verify at {jose['verify_vs_raw_verify']:.0%} of raw: "
        f"{verdict} the >= 70% target"
    )
