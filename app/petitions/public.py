"""The public side of a petition, no login: the page at /p/{slug} (server-rendered, no script needed to sign),
its form, the JSON endpoints other sites call (CORS only for the petition's listed origins) and the double
opt-in link. Bots (a filled honeypot, a form sent faster than a person fills it, no valid form token) get the
answer a signer gets and nothing is stored. These routes are outside the API's OpenAPI (docs/integrators.md
describes the JSON ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from app.auth.dependencies import client_ip
from app.config import Settings
from app.core.db import SessionDep, request_session
from app.core.errors import AppError, NotFound, TooManyRequests, Unprocessable, error_body
from app.models import Petition
from app.petitions import signing
from app.petitions.i18n import CATALOG, t
from app.petitions.optin import queue_confirmation
from app.petitions.schemas import SignatureInput, SignatureResult

router = APIRouter(include_in_schema=False)
# The signature itself, registered before the API's routes (app.main): the hottest anonymous request is then
# matched at the first candidate instead of after every API route.
sign_router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)
_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors {ancestors}"
)


class PetitionPageNotFound(NotFound):
    code = "petition_not_found"
    message = "There is no open petition at this address."


def _settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def _secret(request: Request) -> str:
    return _settings(request).secret_key.get_secret_value()


def _html(template: str, status: int = 200, ancestors: list[str] | None = None, **ctx: Any) -> HTMLResponse:
    body = _env.get_template(template).render(tr=CATALOG.get(ctx.get("lang", "en"), CATALOG["en"]), **ctx)
    csp = _PAGE_CSP.format(ancestors=" ".join(ancestors) if ancestors else "'none'")
    headers = {"content-security-policy": csp, "cache-control": "no-store"}
    return HTMLResponse(body, status_code=status, headers=headers)


def _paragraphs(s: str) -> list[str]:
    return [p.strip() for p in s.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _message(lang: str, title: str, text: str, *, status: int = 200, back: str | None = None) -> HTMLResponse:
    return _html("message.html", status, lang=lang, title=title, paragraphs=_paragraphs(text), back=back)


def _lang(petition: Petition | None, request: Request) -> str:
    if petition is None:
        q = request.query_params.get("lang")
        return q if q in signing.LANGUAGES else "en"
    return signing.pick_language(petition, request.query_params.get("lang"), request.headers.get("accept-language"))


def _page(
    request: Request,
    petition: Petition,
    lang: str,
    *,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    s = signing.shown(petition, lang)
    return _html(
        "petition.html",
        422 if errors else 200,
        ancestors=list(petition.embed_origins or []),
        lang=lang,
        languages=list(petition.languages or []),
        title=s["title"],
        paragraphs=_paragraphs(s["text"]),
        consents=s["consent_wording"],
        count=petition.signature_count,
        goal=petition.goal,
        closed=petition.status != "open",
        action=f"/p/{petition.slug}",
        form_token=signing.form_token(_secret(request), petition.id),
        errors=errors or [],
        values=values or {},
    )


def _thanks(petition: Petition, lang: str, *, pending: bool) -> HTMLResponse:
    s = signing.shown(petition, lang)
    text = t(lang, "check_email") if pending else (s["thank_you_message"] or t(lang, "thanks"))
    return _html(
        "message.html",
        ancestors=list(petition.embed_origins or []),
        lang=lang,
        title=s["title"],
        paragraphs=_paragraphs(text),
        back=f"/p/{petition.slug}?lang={lang}",
    )


async def _submit(
    request: Request,
    session: Any,
    petition: Petition,
    inp: SignatureInput,
    lang: str,
    channel: str,
    *,
    locked: signing.UnderLock | None = None,
) -> bool:
    """Sign (or pretend to, for a bot). Returns whether the signer must confirm by email."""
    settings = _settings(request)
    if signing.looks_automated(settings.petitions, _secret(request), petition.id, inp):
        return petition.double_opt_in
    outcome, sig = await signing.sign(
        session,
        petition,
        inp,
        lang=lang,
        ip=client_ip(request),
        channel=channel,
        secret=_secret(request),
        locked=locked,
    )
    if outcome == "pending" and sig is not None:
        queue_confirmation(session, request.app.state, sig)
    return petition.double_opt_in


async def _rate_limit(request: Request) -> TooManyRequests | None:
    """Counted in Redis before the request's first statement (no database connection is held meanwhile);
    returned, not raised, so the petition is still read for the answer's language and CORS headers."""
    limit = _settings(request).petitions.signatures_per_minute_ip
    try:
        await request.app.state.limiter.check(f"petition-sign:{client_ip(request)}", limit=limit)
    except TooManyRequests as e:
        return e
    return None


def _cors(petition: Petition | None, request: Request, response: Response) -> Response:
    origin = request.headers.get("origin")
    if petition is not None and origin and origin in (petition.embed_origins or []):
        response.headers["access-control-allow-origin"] = origin
        response.headers["access-control-allow-methods"] = "GET, POST, OPTIONS"
        response.headers["access-control-allow-headers"] = "Content-Type"
        response.headers["access-control-max-age"] = "600"
    response.headers["vary"] = "Origin"
    return response


@router.get("/p/confirm/{token}")
async def confirm_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """The link in the email shows a button; only its POST confirms (a link scanner's GET confirms nothing)."""
    return await _confirm(token, request, session, apply_it=False)


@router.post("/p/confirm/{token}")
async def confirm(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    return await _confirm(token, request, session, apply_it=True)


async def _confirm(token: str, request: Request, session: Any, *, apply_it: bool) -> HTMLResponse:
    ttl = _settings(request).petitions.confirm_ttl_hours
    outcome, petition = await signing.confirm(session, token[:100], ttl_hours=ttl, apply_it=apply_it)
    asked = request.query_params.get("lang")
    lang = asked if asked in signing.LANGUAGES else (petition.languages[0] if petition else "en")
    title = signing.shown(petition, lang)["title"] if petition else t(lang, "invalid")
    if outcome == "ready":
        return _html(
            "message.html",
            lang=lang,
            title=title,
            paragraphs=_paragraphs(t(lang, "confirm_prompt")),
            confirm_action=f"/p/confirm/{token[:100]}?lang={lang}",
            back=None,
        )
    status = 404 if outcome == "invalid" else 410 if outcome == "expired" else 200
    text = t(lang, outcome)
    if outcome == "confirmed" and petition is not None:
        text = signing.shown(petition, lang)["thank_you_message"] or text
    back = f"/p/{petition.slug}" if petition else None
    return _message(lang, title, text, status=status, back=back)


@router.get("/p/{slug}")
async def page(slug: str, request: Request, session: SessionDep) -> HTMLResponse:
    petition = await signing.petition_by_slug(session, slug)
    if petition is None:
        lang = _lang(None, request)
        return _message(lang, t(lang, "not_found"), "", status=404)
    return _page(request, petition, _lang(petition, request))


@router.post("/p/{slug}")
async def sign_form(slug: str, request: Request, session: SessionDep) -> HTMLResponse:
    limited = await _rate_limit(request)
    petition = await signing.petition_by_slug(session, slug)
    if petition is None:
        lang = _lang(None, request)
        return _message(lang, t(lang, "not_found"), "", status=404)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("first_name", "last_name", "email", "mobile", "postal_code")}
    asked = str(form.get("language") or "")
    lang = asked if asked in (petition.languages or []) else _lang(petition, request)
    if petition.status != "open":
        return _page(request, petition, lang)
    if limited is not None:
        res = _message(lang, signing.shown(petition, lang)["title"], t(lang, "too_many"), status=429)
        res.headers.update(limited.headers or {})
        return res
    raw: dict[str, Any] = {k: v for k, v in values.items() if v.strip()}
    raw.update(
        consents=[str(c) for c in form.getlist("consents")],
        language=lang,
        form_token=str(form.get("form_token") or ""),
        website=str(form.get("website") or ""),
    )
    try:
        inp = SignatureInput.model_validate(raw)
        pending = await _submit(request, session, petition, inp, lang, "web")
    except ValidationError as e:
        fields = [str(err["loc"][0]) if err["loc"] else "email" for err in e.errors()]
        return _page(request, petition, lang, errors=_labels(lang, fields), values=values)
    except AppError as e:
        fields = [str(d.get("field")) for d in e.details] or ["email"]
        return _page(request, petition, lang, errors=_labels(lang, fields), values=values)
    return _thanks(petition, lang, pending=pending)


def _labels(lang: str, fields: list[str]) -> list[str]:
    """The form's own labels of the fields in error (never a raw message: it may quote the input)."""
    return [t(lang, f) if f in CATALOG["en"] else f for f in dict.fromkeys(fields)]


@router.options("/p/{slug}/sign.json")
@router.options("/p/{slug}/counter.json")
async def preflight(slug: str, request: Request, session: SessionDep) -> Response:
    petition = await signing.petition_by_slug(session, slug)
    return _cors(petition, request, Response(status_code=204))


@router.get("/p/{slug}/counter.json")
async def counter(slug: str, request: Request, session: SessionDep) -> Response:
    """The count, the goal and a form token (a signature sent with it at least min_fill_s later is accepted)."""
    petition = await signing.petition_by_slug(session, slug)
    if petition is None:
        raise PetitionPageNotFound()
    body = {
        "slug": petition.slug,
        "count": petition.signature_count,
        "goal": petition.goal,
        "open": petition.status == "open",
        "form_token": signing.form_token(_secret(request), petition.id),
    }
    return _cors(petition, request, JSONResponse(body, headers={"cache-control": "no-store"}))


@sign_router.post("/p/{slug}/sign.json")
async def sign_json(slug: str, request: Request) -> Response:
    """Body: SignatureInput. Errors too carry the CORS headers, so the calling site can read them. The body is
    read first: the statement that finds the petition also takes the signer's lock, and the petition is this
    process's copy, which the signature's statement checks is current (else it is read again, once). The
    session is opened here, after the rate limit (the hottest anonymous route: no dependency to solve)."""
    limited = await _rate_limit(request)
    body: SignatureInput | None = None
    invalid: ValidationError | None = None
    try:
        body = SignatureInput.model_validate_json(await request.body())
    except ValidationError as e:
        invalid = e
    async with request_session(request) as session:
        return await _sign_json(slug, request, session, body, invalid, limited)


async def _sign_json(
    slug: str,
    request: Request,
    session: Any,
    body: SignatureInput | None,
    invalid: ValidationError | None,
    limited: TooManyRequests | None,
) -> Response:
    signer = signing.signer_key(body) if body is not None and limited is None else None
    for cached in (body is not None and not body.mobile, False):
        locked: signing.UnderLock | None = None
        if signer is None:
            petition = await signing.petition_by_slug(session, slug)
        else:
            petition, locked = await signing.petition_for_signing(session, slug, signer, cached=cached)
        try:
            if petition is None or petition.status != "open":
                raise PetitionPageNotFound()
            if limited is not None:
                raise limited
            if invalid is not None or body is None:
                errors = invalid.errors() if invalid is not None else []
                details = [
                    {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]} for err in errors
                ]
                field = details[0]["field"] if details else "body"
                raise Unprocessable(f"Invalid signature: {field}.", details=details)
            lang = body.language if body.language in (petition.languages or []) else _lang(petition, request)
            pending = await _submit(request, session, petition, body, lang, "embed", locked=locked)
        except signing.StalePetition:
            continue
        except AppError as e:
            err = JSONResponse(error_body(e.code, e.message, e.details), status_code=e.status_code, headers=e.headers)
            return _cors(petition, request, err)
        s = signing.shown(petition, lang)
        message = t(lang, "check_email") if pending else (s["thank_you_message"] or t(lang, "thanks"))
        res = SignatureResult(message=message)
        return _cors(petition, request, JSONResponse(res.model_dump(), status_code=202))
    raise AssertionError("a petition read again is current")  # pragma: no cover
