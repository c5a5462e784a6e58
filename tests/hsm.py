"""A SoftHSM2 token for the tests, and the custody the tests' participants keep keys in.

``IES_TEST_CUSTODY=pkcs11`` puts every test participant's keys into a SoftHSM2 token
(Debian's ``softhsm2``), so the exchange, directory and credential tests run as they
do with the encrypted file store: the test command runs them both ways. The token
lives in a throwaway directory; SoftHSM2 reads its configuration when the PKCS#11
module is first loaded, so one token serves the whole process, and each participant's
keys carry a label prefix of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from functools import cache
from pathlib import Path

from credentials.keys import EncryptedFileCustody, KeyCustody

SOFTHSM_LIBRARY = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "ies-tests"
PIN = "246810"
CUSTODY = os.environ.get("IES_TEST_CUSTODY", "file")


def softhsm_available() -> bool:
    return SOFTHSM_LIBRARY.exists() and shutil.which("softhsm2-util") is not None


@cache
def softhsm_token() -> str:
    """Initialise a fresh token once per process; its label."""
    root = Path(tempfile.mkdtemp(prefix="ies-softhsm-"))
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")  # fmt: skip
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN,
         "--so-pin", "13579111"],
        check=True, capture_output=True,
    )  # fmt: skip
    return TOKEN


def hsm_custody(fallback_dir: Path, passphrase: bytes) -> KeyCustody:
    from credentials.pkcs11 import Pkcs11Custody

    return Pkcs11Custody(
        SOFTHSM_LIBRARY, softhsm_token(), PIN, label_prefix=f"{uuid.uuid4().hex[:12]}-",
        agreement=EncryptedFileCustody(fallback_dir, passphrase),
    )  # fmt: skip


def participant_custody(directory: Path, passphrase: bytes) -> KeyCustody:
    """The custody ``IES_TEST_CUSTODY`` asks for (the encrypted file store by default)."""
    if CUSTODY == "pkcs11":
        return hsm_custody(directory, passphrase)
    return EncryptedFileCustody(directory, passphrase)
