"""Rego v1 only: the interpreter would accept v0, the loader does not."""

from __future__ import annotations

import pytest

from policy_packs.errors import PackInvalid
from policy_packs.packs import load_pack
from policy_packs.regolint import v1_errors

from .conftest import resign

V1 = """package ies.x.p2p_trade

import rego.v1

default allow := false

limits := {"max": {"kwh": 25}}  # an object literal, not a body {

violations contains {"code": "P2P-001", "message": "m"} if input.q > limits.max.kwh

violations contains v if {
	some item in input.items
	v := {"code": "P2P-002", "message": sprintf("%v", [item])}
}

quantity(x) := y if { y := x * 2 }

allow if count(violations) == 0
"""


def test_a_v1_module_has_no_lint_errors():
    assert v1_errors(V1) == []


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("package a\nimport rego.v1\nallow { true }\n", "without `if`"),
        ("package a\nimport rego.v1\ndeny[msg] if { msg := 1 }\n", "without `contains` or `:=`"),
        ("package a\nimport rego.v1\nf(x) = y { y := x }\n", "without `if`"),
        ("package a\nallow if { true }\n", "missing `import rego.v1`"),
        (
            "package a\nimport rego.v1\nimport future.keywords.if\nallow if true\n",
            "future.keywords",
        ),
    ],
)
def test_v0_syntax_is_named_with_its_line(source, reason):
    errors = v1_errors(source)
    assert any(reason in error.message for error in errors), errors


def test_a_pack_with_a_v0_module_is_refused_even_when_properly_signed(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    module = folder / "policy" / "p2p_trade.rego"
    source = module.read_text()
    module.write_text(source.replace("block_of_the_day if {", "block_of_the_day {", 1))
    resign(folder, "kerc")
    with pytest.raises(PackInvalid) as refused:
        load_pack(folder, keyring)
    assert any(
        "p2p_trade.rego" in e and "without `if`" in e for e in refused.value.extensions["errors"]
    )


def test_a_module_outside_the_packs_package_root_is_refused(pack_copy, keyring):
    folder = pack_copy("in-ka", "1.0.0")
    module = folder / "policy" / "consent.rego"
    module.write_text(
        module.read_text().replace("package ies.ka.v1.consent", "package ies.mh.v2.consent")
    )
    resign(folder, "kerc")
    with pytest.raises(PackInvalid) as refused:
        load_pack(folder, keyring)
    errors = refused.value.extensions["errors"]
    assert any("not under ies.ka.v1" in e for e in errors)
    assert any("no module declares package ies.ka.v1.consent" in e for e in errors)
