"""What every console page shares: the console's state (participants, personas,
wallets), the JSON-twin rule, the renderer, the answers after an action, and the small
readers several pages use. The pages themselves are in :mod:`pages`,
:mod:`p2p_pages` and :mod:`der_pages`, which all import from here (and never from
each other), so any of them can be imported first.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from adapters.synthetic import IST
from protocol.signing import Signer
from sandbox.console.i18n import LANGUAGES, language, translator
from sandbox.console.personas import Persona, legacy_scheme, personas
from sandbox.console.sources import SIGNED_IN, Json, Participants, Upstream
from sandbox.console.wallet import Wallets
from sandbox.plan import Plan

TEMPLATES = Path(__file__).parent / "templates"


class Console:
    """What every page needs: the participants, the personas and the wallets."""

    def __init__(
        self,
        plan: Plan,
        participants: Participants,
        wallets: Wallets,
        *,
        commission: Signer | None = None,
    ) -> None:
        self.plan = plan
        self.net = participants
        self.wallets = wallets
        self.commission = commission  # signs the regulator's asks of its inbox
        self.personas = {p.key: p for p in personas(plan)}
        self.consumer_ids: dict[str, str] = {}
        self.templates = Jinja2Templates(directory=str(TEMPLATES))

    def persona(self, key: str, kind: str) -> Persona:
        found = self.personas.get(key)
        if found is None or found.kind != kind:
            raise HTTPException(404, f"no {kind} persona {key!r}")
        return found

    def consumer_id(self, persona: Persona) -> str | None:
        """The consumer's registry id (None until the discom has onboarded them)."""
        if persona.key not in self.consumer_ids:
            assert persona.discom_code is not None
            assert persona.number is not None
            try:
                found = self.net.resolve_consumer(
                    legacy_scheme(persona.discom_code), persona.discom_code, persona.number
                )
            except Upstream as exc:
                if exc.status == 404:
                    return None
                raise
            self.consumer_ids[persona.key] = found
        return self.consumer_ids[persona.key]


def wants_json(request: Request) -> bool:
    if request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].strip().startswith("application/json")


def _lang(request: Request) -> str:
    return language(request.query_params.get("lang") or request.cookies.get("lang"))


def render(
    request: Request,
    template: str,
    data: Json,
    *,
    persona: Persona | None = None,
    status: int = 200,
    view: Json | None = None,
) -> Response:
    """The page, or its JSON twin (``data`` only: what the page shows, nothing more)."""
    if wants_json(request):
        return JSONResponse(jsonable_encoder(data), status_code=status)
    console: Console = request.app.state.console
    lang = _lang(request) if persona is not None and persona.kind == "consumer" else "en"
    context = {
        **data,
        **(view or {}),
        "data": data,
        "_": translator(lang),
        "lang": lang,
        "languages": LANGUAGES,
        "persona": persona,
        "personas": list(console.personas.values()),
        "path": request.url.path,
        "done": request.query_params.get("done"),
    }
    return console.templates.TemplateResponse(request, template, context, status_code=status)


def _error_page(request: Request, exc: Upstream, persona: Persona | None) -> Response:
    data = {"error": {"participant": exc.who, "status": exc.status, "detail": exc.detail}}
    status = exc.status if 400 <= exc.status < 600 else 502
    return render(request, "error.html", data, persona=persona, status=status)


def _back(url: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?done={done}", status_code=303)


def acted(request: Request, done: object, url: str, what: str) -> Response:
    """After an action: its result for a JSON caller, else 303 back to the page with a
    notice of what was done (every form's tail)."""
    if wants_json(request):
        return JSONResponse(jsonable_encoder(done))
    return _back(url, what)


def _safe_next(target: str) -> str:
    """Only a path on this console (no scheme, no //host): no open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _held(console: Console, persona: Persona) -> list[Json]:
    """The persona's wallet, each credential with its issuer's word on it: asked as the
    issuer's own operator when one is signed in, else as the holder (the wallet's DID)."""
    out = []
    who = SIGNED_IN.get()
    for n, item in enumerate(console.wallets.held(persona.key)):
        status: Json
        own = who is not None and who.kind == "operator" and who.organisation == item["issuer"]
        holder = None if own else console.wallets.wallet(persona.key).did
        try:
            status = console.net.issued(item["issuer"], item["id"], holder)
        except Upstream as exc:
            status = {"status": "unknown", "reason": exc.detail}
        out.append({**item, "index": n, "issuer_status": status})
    return out


def _discom(request: Request, name: str) -> tuple[Console, Persona]:
    console: Console = request.app.state.console
    return console, console.persona(name, "discom")


def _ist(instant: str) -> str:
    """A block's start as people in India read it (IST, HH:MM on the day)."""
    moment = datetime.fromisoformat(instant).astimezone(IST)
    return moment.strftime("%Y-%m-%d %H:%M")
