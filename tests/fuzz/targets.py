"""What the fuzzer feeds: the parsers that take bytes from strangers.

Each target takes the fuzzer's bytes and raises only when the code under test
misbehaves: a parser may refuse input, but only with its own documented error; an
accepted value must survive its own round trip. Anything else (a ``RecursionError``,
a ``csv.Error``, an ``IndexError``) would reach a caller as a 500, so it is a crash.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

from pydantic import ValidationError

from protocol.envelope import ACTIONS, Context, check_message
from protocol.errors import ExchangeRefused, SignatureMalformed
from protocol.receiving import parse_document
from protocol.signing import format_signature, parse_signature
from registry.errors import RegistryProblem
from registry.identifiers import parse_id
from registry.rows import check_utf8, parse_rows, read_csv, read_ndjson


def signature_header(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        params = parse_signature(text)
    except SignatureMalformed:
        return
    assert parse_signature(format_signature(params)) == params


def envelope(data: bytes) -> None:
    """The receiver's first steps on a body: JSON object, context, the action's message."""
    if not data:
        return
    action = sorted(ACTIONS)[data[0] % len(ACTIONS)]  # the endpoint the body was posted to
    try:
        document = parse_document(data[1:], action)
    except ExchangeRefused:
        return
    with contextlib.suppress(ValidationError):
        Context.model_validate(document["context"])
    with contextlib.suppress(ValidationError, ValueError):
        check_message(action, document["message"])


def identifier(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        parsed = parse_id(text)
    except RegistryProblem:
        return
    assert parse_id(str(parsed)) == parsed


def import_file(data: bytes) -> None:
    """An uploaded CSV or NDJSON file, as the registry's import reads it."""
    binary = io.BytesIO(data)
    try:
        check_utf8(binary)
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        reader = read_ndjson if data[:1] == b"{" else read_csv
        for _line, _draft in parse_rows(reader(text)):
            pass
    except RegistryProblem:
        return


TARGETS: dict[str, Callable[[bytes], None]] = {
    "signature_header": signature_header,
    "envelope": envelope,
    "identifier": identifier,
    "import_file": import_file,
}
