"""A participant's back office answers only that participant's own people and tools
(issue 15): one guard, :func:`backoffice`, for every participant's operator doors.

Who may call a door declared ``backoffice()`` on a service owned by ``owner`` (the
participant's subscriber id, :func:`install_backoffice`):

- the participant itself: a machine token whose subject is ``owner`` (its own tooling;
  in the sandbox the orchestrator holds the run's keys and acts as each back office);
- the console acting for an operator of ``owner``: the console's machine token, holding
  the scope ``backoffice`` (only the console's ``participant_type`` is granted it), and
  ``X-On-Behalf-Of: operator <owner>``, the organisation of the person it signed in.

The console is trusted to name the person it signed in, exactly as the consent manager
trusts it for a consumer (``consent:consumer``, docs/consent.md); what the guard adds is
that the named organisation must be this service's owner, so an operator of one
participant never reads another's back office. Two narrower openings, declared per door:

- ``mine="requester"``: a caller may read the rows filtered to itself (the query
  parameter names its own organisation): the installer reading its own applications in
  the discom's queue, with its own token or through the console for its operator;
- ``consumer="number"``: the console acting for a consumer (``consent:consumer`` and
  ``X-On-Behalf-Of: consumer <id>``) may read that consumer's own data, when the path or
  query parameter equals the id it names (the consumer's own load curve), or, with
  ``consumer=BY_ROUTE``, when the route finds the same id in what it is asked (a
  consumer collecting their own credential, a holder asking its credential's status).

Nobody is 401; anyone else (another participant's token, an operator of another
organisation, another consumer, a console without the header) is 403. A service that
names no owner answers everyone 403: a back office fails closed.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, FastAPI, Request

from kernel.access import (
    Declaration,
    Forbidden,
    Principal,
    Unauthenticated,
    _declared,
    authenticate,
)

ON_BEHALF_OF = "X-On-Behalf-Of"
BACKOFFICE_SCOPE = "backoffice"  # the console's, to act for an operator it signed in
CONSUMER_SCOPE = "consent:consumer"  # the console's, to act for a consumer it signed in

# ``consumer=BY_ROUTE``: the route itself compares the consumer the console names with
# what it is asked about (the body's consumer number, the credential's holder), using
# the answered principal (``kind`` "consumer", ``subject`` the id the console named).
BY_ROUTE = "@route"

ActingKind = Literal["operator", "consumer"]


def install_backoffice(app: FastAPI, owner: str) -> None:
    """Name the participant (its subscriber id) whose back office this app serves."""
    app.state.backoffice_owner = owner


def on_behalf_of(kind: ActingKind, who: str) -> dict[str, str]:
    """The header the console sends for the person it signed in."""
    return {ON_BEHALF_OF: f"{kind} {who}"}


def _acting(request: Request) -> tuple[str, str] | None:
    value = request.headers.get(ON_BEHALF_OF)
    if value is None:
        return None
    kind, _, who = value.strip().partition(" ")
    if kind not in ("operator", "consumer") or not who.strip():
        raise Forbidden(f"{ON_BEHALF_OF} must be 'operator <organisation>' or 'consumer <id>'")
    return kind, who.strip()


def _param(request: Request, name: str) -> str | None:
    found = request.path_params.get(name)
    if found is None:
        found = request.query_params.get(name)
    return None if found is None else str(found)


def backoffice(*, mine: str | None = None, consumer: str | None = None) -> Any:
    """A dependency: the principal of one of the participant's own operators or tools
    (see the module docstring); ``mine`` and ``consumer`` name the request parameter of
    the two narrower openings. Use it in ``dependencies=[...]`` or as a parameter's
    default (it answers the :class:`Principal`: ``kind`` "operator"/"consumer" when the
    console acts for a person, with the person's organisation or consumer id)."""

    async def _backoffice(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal is None:
            raise Unauthenticated("a back office needs credentials: a bearer token")
        owner: str | None = getattr(request.app.state, "backoffice_owner", None)
        if not owner:
            raise Forbidden("this service names no owner: its back office answers nobody")
        if principal.kind != "participant":
            raise Forbidden(f"a {principal.kind} may not call a back office directly")
        acting = _acting(request)
        filtered = _param(request, mine) if mine else None
        if acting is None:
            if principal.subject in (owner, filtered):
                return principal
            raise Forbidden(f"this is {owner}'s back office")
        kind, who = acting
        if kind == "operator" and principal.has_scope(BACKOFFICE_SCOPE):
            if who in (owner, filtered):
                return Principal(kind="operator", subject=principal.subject, organisation=who,
                                 scopes=principal.scopes, via=principal.via)  # fmt: skip
            raise Forbidden(f"this is {owner}'s back office, not {who}'s")
        if kind == "consumer" and consumer is not None and principal.has_scope(CONSUMER_SCOPE):
            if consumer == BY_ROUTE or _param(request, consumer) == who:
                return Principal(kind="consumer", subject=who, organisation=owner,
                                 scopes=principal.scopes, via=principal.via)  # fmt: skip
            raise Forbidden("this is another consumer's data")
        raise Forbidden(f"{principal.subject} may not act for a {kind} here")

    declaration = Declaration("requires", BACKOFFICE_SCOPE, ("participant",))
    return Depends(_declared(_backoffice, declaration))


def check_consumer(who: Principal, consumer: str) -> None:
    """For ``backoffice(consumer=BY_ROUTE)``: a console acting for a consumer may act only
    for the consumer the body names (the participant's own operators for anyone)."""
    if who.kind == "consumer" and who.subject != consumer:
        raise Forbidden("this is another consumer's data")
