"""The plain-language notice a consumer reads before deciding (pure).

DPDP Act 2023 s.5: a request for consent comes with a notice of the personal data and
the purpose, how to withdraw and how to complain, in English or any language of the
Eighth Schedule. Templates live in ``consent/notices/{lang}.txt`` (string.Template,
so the wording is edited without touching code); the words for data types,
granularities and purposes are below. The notice's digest goes into the artefact, so
what the consumer was shown is provable later.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from string import Template

from consent.models import PURPOSES, DataType, FetchType, Granularity, Scope

NOTICES = Path(__file__).resolve().parent / "notices"
LANGUAGES = ("en", "hi", "mr")

_DATA_TYPES: dict[str, dict[DataType, str]] = {
    "en": {
        DataType.INTERVAL_CONSUMPTION: "electricity you used in each interval",
        DataType.BILLING: "your bills and billing-period readings",
        DataType.EVENTS: "meter events (outages, tamper alerts)",
        DataType.NET_EXPORT: "electricity your rooftop solar sent to the grid",
    },
    "hi": {
        DataType.INTERVAL_CONSUMPTION: "हर अंतराल में आपकी बिजली की खपत",
        DataType.BILLING: "आपके बिल और बिलिंग अवधि की रीडिंग",
        DataType.EVENTS: "मीटर की घटनाएँ (बिजली कटौती, छेड़छाड़ की चेतावनी)",
        DataType.NET_EXPORT: "आपके छत के सौर से ग्रिड को भेजी गई बिजली",
    },
    "mr": {
        DataType.INTERVAL_CONSUMPTION: "प्रत्येक अंतरातील तुमचा वीजवापर",
        DataType.BILLING: "तुमची बिले आणि बिलिंग कालावधीची वाचने",
        DataType.EVENTS: "मीटरमधील घटना (वीज खंडित होणे, छेडछाडीचे इशारे)",
        DataType.NET_EXPORT: "तुमच्या छतावरील सौरऊर्जेतून ग्रिडला पाठवलेली वीज",
    },
}
_GRANULARITY: dict[str, dict[Granularity, str]] = {
    "en": {
        Granularity.MIN15: "15-minute",
        Granularity.MIN30: "30-minute",
        Granularity.HOURLY: "hourly",
        Granularity.DAILY: "daily",
        Granularity.MONTHLY: "monthly",
    },
    "hi": {
        Granularity.MIN15: "15 मिनट",
        Granularity.MIN30: "30 मिनट",
        Granularity.HOURLY: "प्रति घंटा",
        Granularity.DAILY: "दैनिक",
        Granularity.MONTHLY: "मासिक",
    },
    "mr": {
        Granularity.MIN15: "15 मिनिटांच्या",
        Granularity.MIN30: "30 मिनिटांच्या",
        Granularity.HOURLY: "तासाच्या",
        Granularity.DAILY: "दैनिक",
        Granularity.MONTHLY: "मासिक",
    },
}
_UNITS = {
    "en": {"hour": "hour", "day": "day", "week": "week", "month": "month", "year": "year"},
    "hi": {"hour": "घंटे", "day": "दिन", "week": "सप्ताह", "month": "महीने", "year": "वर्ष"},
    "mr": {"hour": "तासाला", "day": "दिवसाला", "week": "आठवड्याला", "month": "महिन्याला",
           "year": "वर्षाला"},
}  # fmt: skip
_ONCE = {"en": "once only", "hi": "केवल एक बार", "mr": "फक्त एकदा"}
_UP_TO = {
    "en": "up to {n} times a {unit}",
    "hi": "प्रति {unit} अधिकतम {n} बार",
    "mr": "{unit} जास्तीत जास्त {n} वेळा",
}


class UnknownLanguage(ValueError):
    pass


@cache
def _template(language: str) -> Template:
    if language not in LANGUAGES:
        raise UnknownLanguage(f"no notice in {language!r}; available: {', '.join(LANGUAGES)}")
    return Template((NOTICES / f"{language}.txt").read_text(encoding="utf-8"))


def render(
    language: str,
    *,
    app: str,
    provider: str,
    consent_manager: str,
    purpose: str,
    scope: Scope,
) -> str:
    """The notice in ``language`` for a request of ``app``."""
    template = _template(language)
    known = PURPOSES.get(purpose)
    purpose_text = known.text[language] if known else purpose
    if scope.fetch_type is FetchType.ONE_TIME:
        fetches = _ONCE[language]
    else:
        fetches = _UP_TO[language].format(
            n=scope.frequency.value, unit=_UNITS[language][scope.frequency.unit.value]
        )
    return template.substitute(
        app=app,
        provider=provider,
        consent_manager=consent_manager,
        purpose=purpose_text,
        data_types=", ".join(_DATA_TYPES[language][t] for t in scope.data_types),
        meters=", ".join(scope.meters),
        date_from=scope.date_range.start.isoformat(),
        date_to=scope.date_range.end.isoformat(),
        granularity=_GRANULARITY[language][scope.granularity],
        fetches=fetches,
        data_life_days=scope.data_life_days,
        expires=scope.expires_at.date().isoformat(),
    )


def digest(texts: dict[str, str]) -> str:
    """SHA-256 over the notices as shown, language by language."""
    h = hashlib.sha256()
    for language in sorted(texts):
        h.update(language.encode() + b"\x00" + texts[language].encode() + b"\x00")
    return "sha256:" + h.hexdigest()
