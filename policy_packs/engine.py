"""The two engines behind :class:`policy_packs.decision.Engine`.

Embedded (default): one regopy interpreter per pack version, built once with the pack's
modules and data and compiled into a bundle whose entrypoints are the domains'
decisions; a decision is then ``set_input`` + one entrypoint query. regopy aborts the
process if an undefined result is read through ``expressions()``/``binding()``, so only
the string form and the parsed results are read here, never those nodes.

OPA (``IES_OPA_URL``): the same documents through opa-python-client's Data API calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import regopy
from opa_client import OpaClient

from policy_packs.errors import EvaluationFailed, PackInvalid
from policy_packs.packs import Pack

_UNDEFINED = "undefined"


class _Compiled:
    """One pack version inside an interpreter; the lock serialises set_input + query."""

    def __init__(self, pack: Pack) -> None:
        self.lock = threading.Lock()
        self.interpreter = regopy.Interpreter()
        try:
            for name, source in pack.modules.items():
                self.interpreter.add_module(name, source)
            self.interpreter.add_data_json(json.dumps(pack.data_document()))
            self.entrypoints = {
                pack.manifest.decision_path(domain): pack.manifest.decision_path(domain).replace(
                    ".", "/"
                )
                for domain in pack.manifest.domains
            }
            self.bundle = self.interpreter.build(None, list(self.entrypoints.values()))
        except regopy.RegoError as exc:
            raise PackInvalid(f"pack {pack.key} does not compile", errors=[str(exc)]) from exc
        if not self.bundle.ok():
            raise PackInvalid(f"pack {pack.key} does not compile")

    def evaluate(self, path: str, document: Mapping[str, Any]) -> tuple[bool, Any]:
        entrypoint = self.entrypoints.get(path)
        with self.lock:
            try:
                self.interpreter.set_input(regopy.Input(document))
                if entrypoint is not None:
                    output = self.interpreter.query_bundle_entrypoint(self.bundle, entrypoint)
                    return _read(output, expression=True)
                output = self.interpreter.query(f"x := data.{path}")
                return _read(output, expression=False)
            except (regopy.RegoError, ValueError) as exc:  # ValueError: unparseable output
                raise EvaluationFailed(f"the interpreter failed on {path}: {exc}") from exc


def _read(output: regopy.Output, *, expression: bool) -> tuple[bool, Any]:
    text = str(output)
    if not output.ok():
        raise EvaluationFailed("the interpreter failed", errors=[text])
    if text == _UNDEFINED or len(output) == 0:
        return False, None
    result = output[0]
    if expression:
        if not result.expressions:
            return False, None
        return True, result.expressions[0]
    if "x" not in result.bindings:
        return False, None
    return True, result.bindings["x"]


class EmbeddedEngine:
    """regopy in this process; packs compile on first use and stay compiled."""

    name = "embedded"

    def __init__(self) -> None:
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def prepare(self, pack: Pack) -> None:
        """Compile now (at startup) rather than on the first decision."""
        self._for(pack)

    def _for(self, pack: Pack) -> _Compiled:
        key = f"{pack.key}#{pack.digest}"
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    compiled = _Compiled(pack)
                    self._compiled[key] = compiled
        return compiled

    def document(self, pack: Pack, path: str, input: Mapping[str, Any]) -> tuple[bool, Any]:
        return self._for(pack).evaluate(path, input)


class OpaEngine:
    """An OPA server's Data API (a real OPA in production, our own service in tests).

    The server must hold the same signed packs; the pack was chosen and verified here,
    and the decision's clauses come from that verified manifest.
    """

    name = "opa"

    def __init__(self, url: str, *, timeout: float = 5.0, token: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"IES_OPA_URL must be an http(s) URL, not {url!r}")
        self.client = OpaClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 80),
            ssl=parts.scheme == "https",
            timeout=timeout,
            token=token,
        )

    def document(self, pack: Pack, path: str, input: Mapping[str, Any]) -> tuple[bool, Any]:
        package, _, rule = path.rpartition(".")
        try:
            body = self.client.query_rule(
                input_data=dict(input), package_path=package, rule_name=rule
            )
        except Exception as exc:  # requests' errors: the server failed or is unreachable
            raise EvaluationFailed(f"the OPA server failed: {exc}") from exc
        if not isinstance(body, dict) or "result" not in body:
            return False, None  # OPA answers {} for an undefined document
        return True, body["result"]

    def close(self) -> None:
        self.client.close_connection()
