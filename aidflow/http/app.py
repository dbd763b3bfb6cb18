"""The FastAPI application: every command as a POST, every question as a GET, the feed.

It asks the :class:`~aidflow.office.Office` and nothing below it. The command routes are
the application's own table (:data:`~aidflow.application.HANDLERS`): one route per command
class, ``/commands/{kebab-case name}``, taking the library's own pydantic model as its JSON
body, except ``actor``: the actor is the staff member whose bearer token made the call (a
body that names someone else is refused). Reading needs a token too. Errors carry the
library's stable codes, ``{"error": {"code", "message", "ids"}}``, with the HTTP status of
their family: invalid input 422, not found 404, refused by a rule 409, a concurrency
conflict or an unavailable store 503, anything else 500.
"""

# No ``from __future__ import annotations``: FastAPI reads these annotations at runtime.
import functools
import inspect
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import MAXYEAR, MINYEAR, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from aidflow import commands as cmd
from aidflow.domain import canonical
from aidflow.domain.errors import (
    AidflowError,
    BodyTooLarge,
    ConcurrencyConflict,
    InvalidInput,
    MasterKeyError,
    NotAuthorised,
    NotFound,
    RuleViolation,
    Said,
    StoreBusy,
    StoreFull,
    StoreUnavailable,
    TooManySearches,
    TooManyWaits,
    UnknownStaff,
    ViewsBehind,
    render,
    said,
    store_failure,
)
from aidflow.domain.values import INT64_MAX
from aidflow.http.guards import MAX_BODY_BYTES, BodyLimit, Searches, Waits
from aidflow.i18n import LANGUAGES, accepted, error_summary, normalise, tr, using
from aidflow.i18n import messages as M
from aidflow.i18n.problems import input_problems
from aidflow.office import Office
from aidflow.render import to_json
from aidflow.report import FORMATS

NOT_SERVED: dict[type[cmd.Command[Any]], str] = {
    cmd.IssuePaymentList: (
        "the payment list is the one export of full account numbers: the cashier writes it "
        "with `aidflow pay list -o FILE`"
    ),
    cmd.IssueToken: (
        "a token is the way into HTTP: it is issued at the terminal (`aidflow staff token`), "
        "never minted by another token"
    ),
    cmd.RecordNotice: (
        "the record of `aidflow audit notice`, which writes the notice and its proofs to files: "
        "written by that command only"
    ),
    cmd.RecordWitness: (
        "the record of `aidflow audit witness`, which signs with the witness's own key on the "
        "machine that holds it: written by that command only"
    ),
    cmd.RecordKeyRotation: (
        "the record of `aidflow keys rotate`, which replaces the key file on the machine that "
        "holds it: written by that command only"
    ),
    cmd.RecordSearch: (
        "a search is recorded by the search itself (GET /cases/find), never on its own: "
        "a route would let anyone write searches nobody made"
    ),
}
"""Commands of the application's table with no route, and why."""


def route_name(command: type[cmd.Command[Any]]) -> str:
    """``/commands/{name}``: the command class's name in kebab case (``ReturnDisbursement``
    -> ``return-disbursement``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", command.__name__).lower()


COMMANDS: dict[str, type[cmd.Command[Any]]] = {
    route_name(command): command for command in Office.COMMANDS if command not in NOT_SERVED
}
"""POST /commands/{name}: each served command's model, from the application's table."""

LOG = logging.getLogger("aidflow.http")
UNAUTHORISED = "unauthorised"
ACTOR_MISMATCH = "actor_mismatch"
NO_SUCH_ROUTE = "no_such_route"
METHOD_NOT_ALLOWED = "method_not_allowed"
HTTP_ERROR = "http_error"
MAX_WAIT = 30.0
BEARER_SCHEME = "bearer"
"""The OpenAPI security scheme every route for staff declares (its token is a bearer token)."""

Actor = Annotated[str, Header(alias="authorization", include_in_schema=False)]
"""A route's ``actor``: FastAPI fills it with the request's ``Authorization`` header (required:
a request without one is refused as invalid, and answered 401), which the route turns into
the token's staff member before its endpoint runs (:func:`_member_routes`)."""


def _refusal(exc: AidflowError) -> Any:
    """A refusal made before the application sees the request (the body limit): an ASGI
    answer in the language of the request's ``Accept-Language``."""

    async def respond(scope: Any, receive: Any, send: Any) -> None:
        asked = dict(scope.get("headers", [])).get(b"accept-language", b"")
        lang = accepted(asked.decode("latin-1"))
        await refused(exc, lang)(scope, receive, send)

    return respond


def refused(exc: AidflowError, lang: str | None) -> Response:
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return error(status_of(exc), exc.code, message, exc.ids, lang=lang)


def language(request: Request) -> str | None:
    """The language of ours the request's ``Accept-Language`` prefers (None: English)."""
    return accepted(request.headers.get("accept-language"))


class Unauthorised(Exception):
    """No token, or a token that was never issued (or was replaced)."""


class ActorMismatch(Exception):
    """A command's body names an actor other than the token's staff member."""

    def __init__(self, actor: str) -> None:
        super().__init__(actor)
        self.actor = actor


def status_of(exc: AidflowError) -> int:
    if isinstance(exc, BodyTooLarge):
        return 413
    if isinstance(exc, TooManyWaits | TooManySearches):
        return 429
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAuthorised | UnknownStaff):
        return 403  # the token is good; its holder may not do or ask this
    if isinstance(exc, RuleViolation):
        return 409
    if isinstance(
        exc,
        ConcurrencyConflict
        | StoreUnavailable
        | StoreBusy
        | StoreFull
        | ViewsBehind
        | MasterKeyError,
    ):
        return 503
    return 500


def error(
    status: int,
    code: str,
    message: str,
    ids: dict[str, str] | None = None,
    *,
    lang: str | None = None,
) -> Response:
    """The error answer; ``message`` in ``lang`` (None: English), ``code`` always as it is."""
    body = {"error": {"code": code, "message": shown(message, code, lang), "ids": ids or {}}}
    return Response(to_json(body), status_code=status, media_type="application/json")


def shown(message: str, code: str, lang: str | None) -> str:
    """A message as the caller reads it: English (``str``) unless another language is
    asked; a sentence not from the catalogue is at least led by what its code means."""
    if lang is None or lang == "en":
        return str(message)
    with using(lang):
        text = render(message, tr)
        summary = None if isinstance(message, Said) else error_summary(code)
        return tr(M.ERROR_DETAIL).format(summary=summary, message=text) if summary else text


def ok(data: Any) -> Response:
    return Response(to_json(data), media_type="application/json")


def answer(result: Any, command: type[cmd.Command[Any]]) -> Any:
    """A command's result as the CLI's ``--json`` gives it."""
    if isinstance(result, UUID):
        return {"fund_id" if command is cmd.OpenFund else "case_id": result}
    return {"ok": True} if result is None else result


def _request_model(cls: type[cmd.Command[Any]]) -> type[BaseModel]:
    """The command's own model with ``actor`` optional: the token says who acts."""
    return create_model(
        f"{cls.__name__}Request",
        __base__=cls,
        __doc__=cls.__doc__,
        actor=(str | None, None),
    )


def app_from_env() -> FastAPI:
    """The service over ``$AIDFLOW_DB`` (``uvicorn aidflow.http.app:app_from_env --factory``);
    its OpenAPI pages when ``AIDFLOW_HTTP_DOCS=1``."""
    return create_app(os.environ.get("AIDFLOW_DB"), docs=os.environ.get("AIDFLOW_HTTP_DOCS") == "1")


def create_app(url: str | None = None, *, docs: bool = False) -> FastAPI:
    """The service over the store at ``url`` (else ``$AIDFLOW_DB``, else ./aidflow.db); a
    store that does not exist is refused, never made.

    ``docs``: serve the OpenAPI description and its pages (/openapi.json, /docs, /redoc).
    Off unless switched on: they map every route and field for anyone who can reach the
    port, token or not (a development or integration setting, not a counter's)."""
    office = Office.open(url, create=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        office.close()

    app = FastAPI(
        lifespan=lifespan,
        title="aidflow",
        summary="Closed-loop aid for new university students: commands, queries, event feed.",
        version=_version(),
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.office = office
    app.router.route_class = _member_routes(office)
    _documented(app)
    _errors(app, office)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, refuse=_refusal)
    app.add_middleware(OneReading, office=office)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/ready", tags=["health"])
    def ready() -> Response:
        """The store answers; the response says its head position."""
        try:
            position = office.head()
        except Exception as exc:  # the reason (hosts, users, SQL) goes to the log only
            LOG.error("the store does not answer", exc_info=exc)
            return error(503, StoreUnavailable.code, said("the store does not answer"))
        return ok({"status": "ready", "position": position})

    for path, model in COMMANDS.items():
        app.post(f"/commands/{path}", tags=["commands"], summary=model.__doc__)(
            _command_endpoint(office, model)
        )
    _queries(app, office)
    return app


def staff_member(office: Office, authorization: str | None) -> str:
    """The staff member of the request's bearer token (``Authorization: Bearer …``), while the
    token is in force; else :class:`Unauthorised`."""
    scheme, token = get_authorization_scheme_param(authorization)
    name = office.token_holder(token) if token and scheme.lower() == "bearer" else None
    if name is None:
        raise Unauthorised
    return name


def _member_routes(office: Office) -> type[APIRoute]:
    """The app's route class: an endpoint that takes ``actor`` gets the bearer token's staff
    member there, found in the worker thread that runs the endpoint.

    The token was a FastAPI dependency of its own: a second function, so a second trip to a
    worker thread (the check reads the store, so it may not run on the event loop), and a
    nested dependency solved at every request. One trip instead of two: about 0.15 ms less
    server CPU a request, 13% of a route that does nothing (docs/performance.md). A request
    its parameters refuse is still told 401 first when its token is not good (:func:`_errors`)."""

    class MemberRoute(APIRoute):
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            self.for_members = "actor" in inspect.signature(endpoint).parameters
            if self.for_members:
                endpoint = _as_member(office, endpoint)
                extra = kwargs.get("openapi_extra") or {}
                kwargs["openapi_extra"] = {"security": [{BEARER_SCHEME: []}], **extra}
            super().__init__(path, endpoint, **kwargs)

    return MemberRoute


def _as_member(office: Office, endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` with its ``actor`` (the Authorization header) made the token's holder first;
    the same signature, so FastAPI reads the same parameters."""
    if inspect.iscoroutinefunction(endpoint):  # would run on the event loop: the check reads
        raise TypeError(f"{endpoint.__name__}: a staff route's endpoint must be a plain def")

    @functools.wraps(endpoint)
    def served(*args: Any, **kwargs: Any) -> Any:
        kwargs["actor"] = staff_member(office, kwargs.get("actor"))
        return endpoint(*args, **kwargs)

    served.__signature__ = inspect.signature(endpoint)  # type: ignore[attr-defined]
    return served


def _documented(app: FastAPI) -> None:
    """The OpenAPI description names the bearer scheme its staff routes declare."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemes = build().setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[BEARER_SCHEME] = {"type": "http", "scheme": "bearer"}
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


class OneReading:
    """ASGI middleware: a request reads the staff registry and the policy once (its token's
    holder, what it may read, its command's authorisation), not once for each of them."""

    def __init__(self, app: ASGIApp, *, office: Office) -> None:
        self.app, self.office = app, office

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the lifespan: the service's whole life, no request
            await self.app(scope, receive, send)
            return
        with self.office.one_reading():
            await self.app(scope, receive, send)


def _errors(app: FastAPI, office: Office) -> None:
    """Every error answer in the error shape, its message in the request's language."""

    @app.exception_handler(AidflowError)
    def aidflow_error(request: Request, exc: AidflowError) -> Response:
        return refused(exc, language(request))

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> Response:
        """A request its parameters refuse; for a staff route, only once its token is good
        (a caller without one learns nothing of what the route takes)."""
        if getattr(request.scope.get("route"), "for_members", False):
            try:
                staff_member(office, request.headers.get("authorization"))
            except Unauthorised:
                return unauthorised(request)
        problems = input_problems(exc.errors(), skip=("body",))
        return error(422, InvalidInput.code, problems, lang=language(request))

    @app.exception_handler(Exception)
    def internal(request: Request, exc: Exception) -> Response:
        """A bug: the caller is told so, with an incident number; the exception (which may
        quote SQL or data) goes to the service's log only."""
        failed = store_failure(exc)
        if failed is not None:
            return aidflow_error(request, failed)
        incident = secrets.token_hex(6)
        LOG.error("incident %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
        return error(
            500,
            "internal_error",
            said(
                "an internal error; the service logged it as incident {incident}", incident=incident
            ),
            {"incident": incident},
            lang=language(request),
        )

    _caller_errors(app)


def unauthorised(request: Request) -> Response:
    """401: no bearer token, or one not in force."""
    response = error(
        401,
        UNAUTHORISED,
        said("give a staff bearer token (aidflow staff token NAME)"),
        lang=language(request),
    )
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _caller_errors(app: FastAPI) -> None:
    """What the caller got wrong before any command ran: the route, the token, the actor."""

    @app.exception_handler(StarletteHTTPException)
    def no_route(request: Request, exc: StarletteHTTPException) -> Response:
        """No such route (404) or method (405): the error shape too, not FastAPI's own (its
        headers, such as a 405's ``Allow``, kept)."""
        where = {"method": request.method, "path": request.url.path}
        found: str
        if exc.status_code == 404:
            code, found = NO_SUCH_ROUTE, said("no route {method} {path}", **where)
        elif exc.status_code == 405:
            code, found = METHOD_NOT_ALLOWED, said("{path} does not take {method}", **where)
        elif exc.status_code == 400:  # a body no JSON reader takes (a 5,000-digit number)
            code, found = InvalidInput.code, said("the request body cannot be read as JSON")
        else:
            code, found = HTTP_ERROR, str(exc.detail)
        response = error(exc.status_code, code, found, lang=language(request))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Unauthorised)
    def unauthorised_error(request: Request, _exc: Unauthorised) -> Response:
        return unauthorised(request)

    @app.exception_handler(ActorMismatch)
    def actor_mismatch(request: Request, exc: ActorMismatch) -> Response:
        return error(
            422,
            ACTOR_MISMATCH,
            said(
                "the actor is the token's staff member ({actor}); do not name another in the body",
                actor=exc.actor,
            ),
            lang=language(request),
        )


def _queries(app: FastAPI, office: Office) -> None:
    """Every question the Office answers that a service asks, one GET each."""
    _cases(app, office)
    _money(app, office)
    _office_routes(app, office)
    _audit(app, office)
    _report(app, office)
    _feed(app, office)


def _cases(app: FastAPI, office: Office) -> None:
    searches = Searches()

    @app.get("/cases", tags=["cases"])
    def cases(
        actor: Actor,
        status: str | None = None,
        town: str | None = None,
        category: str | None = None,
        year: Annotated[int | None, Query(ge=MINYEAR, le=MAXYEAR)] = None,
        student: str | None = None,
        limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> Response:
        """Cases, filtered by status, town, family category (Chinese or English), year, or
        one person's national ID (every year's case)."""
        found = office.cases(
            status=status,
            town=town,
            category=category,
            year=year,
            student=student,
            limit=limit,
            reader=actor,
        )
        return ok(found)

    @app.get("/cases/find", tags=["cases"])
    def find_cases(actor: Actor, q: str) -> Response:
        """Cases by national ID (any spelling) or by the whole name: for the roles that may
        reveal (verifier, cashier), each search recorded, at most a few a minute each."""
        searches.take(actor)
        return ok(office.find(q, actor=actor))

    _case(app, office)


def _case(app: FastAPI, office: Office) -> None:
    @app.get("/cases/{case}", tags=["cases"])
    def dossier(
        actor: Actor,
        case: str,
        as_of: str | None = None,
        version: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
    ) -> Response:
        """The dossier (一人一档) of a case (its id or a prefix of at least 6 characters),
        now, as of a moment, or as of one of its versions."""
        return ok(
            office.dossier(office.case_id(case), as_of=_utc(as_of), version=version, reader=actor)
        )

    @app.get("/cases/{case}/history", tags=["cases"])
    def history(actor: Actor, case: str) -> Response:
        """Every stored event of a case, personal data masked."""
        return ok(office.history(office.case_id(case), reader=actor))

    @app.get("/cases/{case}/explain", tags=["cases"])
    def explain(
        actor: Actor,
        case: str,
        field: Annotated[list[str] | None, Query()] = None,
        as_of: str | None = None,
        accept_language: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Why the case has its figures and status: the events behind each, what allowed them;
        its findings' messages in the language of ``Accept-Language``."""
        fields = tuple(field) if field else ()
        result = office.explain(
            office.case_id(case), as_of=_utc(as_of), fields=fields, reader=actor
        )
        with using(accepted(accept_language) or "en"):
            findings = [v.shown() for v in result.findings]
        return ok(result.model_copy(update={"findings": findings}))


def _money(app: FastAPI, office: Office) -> None:
    @app.get("/funds", tags=["funds"])
    def funds(actor: Actor) -> Response:
        """Every fund with its totals."""
        return ok(office.funds(reader=actor))

    @app.get("/funds/{fund}", tags=["funds"])
    def fund(actor: Actor, fund: str) -> Response:
        """A fund's balance and its movements (from the ledger)."""
        return ok(office.fund_statement(office.fund_id(fund), reader=actor))

    @app.get("/funds/{fund}/trace", tags=["funds"])
    def trace(actor: Actor, fund: str) -> Response:
        """Which donation reached which student (first in, first out)."""
        return ok(office.donor_trace(office.fund_id(fund), reader=actor))

    @app.get("/years/{year}", tags=["funds"])
    def year(actor: Actor, year: Annotated[int, Path(ge=2000, le=2100)]) -> Response:
        """A programme year's close: open, proposed, or closed with its totals and digest."""
        return ok(office.year(year, reader=actor))


def _office_routes(app: FastAPI, office: Office) -> None:
    @app.get("/queue", tags=["cases"])
    def queue(actor: Actor, department: str | None = None) -> Response:
        """Hardship awaiting consultation and consultation actions owed."""
        return ok(office.queue(department, reader=actor))

    @app.get("/due", tags=["cases"])
    def due(
        actor: Actor,
        within: Annotated[int | None, Query(ge=0, le=3660)] = None,
        department: str | None = None,
    ) -> Response:
        """Payments and consultation actions with their due dates, soonest first."""
        return ok(office.due(within=within, department=department, reader=actor))

    @app.get("/staff", tags=["office"])
    def staff(actor: Actor, as_of: str | None = None) -> Response:
        """Every staff member with roles, department and town (now, or as registered then)."""
        return ok(office.staff(as_of=_utc(as_of), reader=actor))

    @app.get("/policy", tags=["office"])
    def policy(actor: Actor, as_of: str | None = None) -> Response:
        """Every policy value and the policy's version (now, or in force then)."""
        return ok(office.policy(as_of=_utc(as_of), reader=actor))

    @app.get("/projections/status", tags=["office"])
    def projections_status(actor: Actor) -> Response:
        """Each view's position against the store's head, and why it stopped, if it did."""
        return ok(office.views_status(reader=actor))


def _audit(app: FastAPI, office: Office) -> None:
    @app.get("/audit/journal", tags=["audit"])
    def journal(
        actor: Actor,
        case: str | None = None,
        since: str | None = None,
        limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
        after: Annotated[int | None, Query(ge=0, le=INT64_MAX)] = None,
    ) -> Response:
        """Every event's journal line (personal data masked); one case's or fund's with
        ``case`` (an id or prefix); page with ``after``."""
        aggregate = office.case_or_fund_id(case) if case else None
        lines = office.journal(
            aggregate_id=aggregate,
            since=None if since is None else cmd.moment(since, start=True),
            limit=limit,
            after=after,
            reader=actor,
        )
        return ok(lines)

    @app.get("/audit/ledger", tags=["audit"])
    def ledger(actor: Actor, entries: bool = False, as_of: str | None = None) -> Response:
        """The money ledger: totals by fund, need, family category and town."""
        return ok(office.ledger(as_of=_utc(as_of), entries=entries, reader=actor))

    @app.get("/audit/check", tags=["audit"])
    def check(
        actor: Actor,
        as_of: str | None = None,
        accept_language: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Every rule from the events alone, and the audit view against a fresh replay; the
        findings' messages in the language of ``Accept-Language`` (``zh``: Chinese)."""
        result = office.check(as_of=_utc(as_of), reader=actor)
        with using(accepted(accept_language) or "en"):
            return ok(result.shown())

    @app.get("/audit/digest", tags=["audit"])
    def digest(actor: Actor) -> Response:
        """The tree digest to publish (``tree:SIZE:ROOT``), the v0.1 chain's head beside it."""
        return ok(office.digest(reader=actor))

    @app.get("/audit/verify", tags=["audit"])
    def verify(actor: Actor, digest: str) -> Response:
        """The store recomputed against a published digest, and every snapshot checked."""
        return ok(office.verify(digest, reader=actor))


def _report(app: FastAPI, office: Office) -> None:
    @app.get("/audit/report", tags=["audit"])
    def report(
        actor: Actor,
        format: str = "html",
        lang: str | None = None,
        as_of: str | None = None,
        accept_language: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The audit report (html, text or json), in English or Chinese (lang=zh, else the
        language of ``Accept-Language``)."""
        if format not in FORMATS:
            raise InvalidInput(said("format must be one of {formats}", formats=", ".join(FORMATS)))
        if lang is not None and normalise(lang) is None:  # was read as English
            raise InvalidInput(
                said("lang must be one of {languages}", languages=", ".join(LANGUAGES))
            )
        with using(lang or accepted(accept_language)):
            text = office.report(as_of=_utc(as_of), fmt=format, reader=actor)
        if format == "html":
            return HTMLResponse(text)
        if format == "json":
            return Response(text, media_type="application/json")
        return PlainTextResponse(text)


def _feed(app: FastAPI, office: Office) -> None:
    waits = Waits()

    @app.get("/events", tags=["events"])
    def events(
        actor: Actor,
        after: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
        limit: Annotated[int, Query(ge=1, le=Office.FEED_LIMIT)] = 100,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
    ) -> Response:
        """Integration events after position ``after``, in order, personal data masked.

        Resume with ``after`` = the last ``position`` you processed. ``wait`` > 0 long-polls:
        the answer comes as soon as there is an event, or empty after ``wait`` seconds.
        """
        if wait > 0:  # a long-poll holds a worker thread: a few per member, bounded in all
            with waits.slot(actor):
                batch = office.wait_for_events(after=after, limit=limit, timeout=wait, reader=actor)
        else:
            batch = office.wait_for_events(after=after, limit=limit, timeout=0, reader=actor)
        last = batch[-1].position if batch else after
        return ok({"events": batch, "next_after": last, "schema_version": Office.FEED_SCHEMA})


def _utc(text: str | None) -> datetime | None:
    """A moment from a query string, read as the CLI reads ``--as-of`` (without a zone, on
    the office's clock: the Office reads it)."""
    return None if text is None else cmd.moment(text)


def _command_endpoint(office: Office, model: type[cmd.Command[Any]]) -> Callable[..., Response]:
    request_model = _request_model(model)

    def run(body: Any, actor: str) -> Response:
        given = getattr(body, "actor", None)
        if given is not None and canonical.actor(given) != actor:
            raise ActorMismatch(actor)
        fields = body.model_dump(exclude={"actor"})
        return ok(answer(office.handle(model(**fields, actor=actor)), model))

    run.__annotations__ = {
        "body": request_model,
        "actor": Actor,
        "return": Response,
    }
    run.__name__ = route_name(model).replace("-", "_")
    run.__doc__ = model.__doc__
    return run


def _version() -> str:
    from aidflow import __version__

    return __version__


__all__ = ["COMMANDS", "NOT_SERVED", "app_from_env", "create_app", "route_name", "status_of"]
