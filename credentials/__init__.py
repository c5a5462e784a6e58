"""Energy credentials: keys and their custody, DID resolution (did:web, did:key).

W3C VC issuance, verification and status lists build on these modules.
"""

from credentials.did import (
    DidDocument,
    DidNotFound,
    DidResolutionFailed,
    DidResolver,
    InvalidDid,
    did_document,
    did_key_for,
    did_web_for,
    did_web_from_url,
    parse_did_web,
)
from credentials.keys import (
    EncryptedFileCustody,
    KeyAlgorithm,
    KeyCustody,
    KeyExists,
    KeySettings,
    PublicKeyInfo,
    UnknownKey,
    verify_with,
)

__all__ = [
    "DidDocument",
    "DidNotFound",
    "DidResolutionFailed",
    "DidResolver",
    "EncryptedFileCustody",
    "InvalidDid",
    "KeyAlgorithm",
    "KeyCustody",
    "KeyExists",
    "KeySettings",
    "PublicKeyInfo",
    "UnknownKey",
    "did_document",
    "did_key_for",
    "did_web_for",
    "did_web_from_url",
    "parse_did_web",
    "verify_with",
]
