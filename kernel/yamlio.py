"""YAML through libyaml when it is there: policy-pack manifests, adapter mappings and
the official OpenAPI files are parsed at every start-up and in the tests, and the
pure-Python parser spent most of a discom's start-up on its pack manifests."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` semantics (no arbitrary objects), at libyaml's speed."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
