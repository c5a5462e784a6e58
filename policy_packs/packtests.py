"""Running a pack's own tests through an engine (``ies policy test`` and the test suite)."""

from __future__ import annotations

from dataclasses import dataclass

from policy_packs.decision import Decision, Engine, decide_with
from policy_packs.manifest import PackCase
from policy_packs.packs import Pack


@dataclass(frozen=True)
class CaseResult:
    pack: str
    case: PackCase
    decision: Decision

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(sorted({violation.code for violation in self.decision.violations}))

    @property
    def passed(self) -> bool:
        return self.decision.allow == self.case.allow and self.codes == tuple(
            sorted(set(self.case.violations))
        )

    def explain(self) -> str:
        expected = "allow" if self.case.allow else f"deny {sorted(set(self.case.violations))}"
        got = "allow" if self.decision.allow else f"deny {list(self.codes)}"
        return f"{self.pack}: {self.case.name}: expected {expected}, got {got}"


def run_cases(pack: Pack, engine: Engine) -> list[CaseResult]:
    """Every case of ``pack``, decided by ``pack`` itself (whatever the date)."""
    return [
        CaseResult(
            pack=pack.key,
            case=case,
            decision=decide_with(
                pack,
                engine,
                case.domain,
                case.input,
                jurisdiction=pack.manifest.jurisdiction,
                as_of=pack.manifest.effective_from,
            ),
        )
        for case in pack.cases
    ]
