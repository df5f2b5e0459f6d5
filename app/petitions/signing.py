"""Signing a petition: one signature per signer and petition (a unique key, so a double submit stores one), the
contact created or filled in with the contacts' own normalization and duplicate detection, consents recorded
exactly as shown (the wording, the language, the IP, the time) except on a channel the person withdrew, the
petition's tags, the counter. With double opt-in the signature waits, unapplied, for its email link."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import PetitionSettings
from app.contacts import consents as consent_service
from app.contacts.events import add_event
from app.contacts.schemas import ConsentInput
from app.contacts.service import _phone, ensure_tags, find_duplicate, org_region
from app.core.db import set_tenant
from app.integrations.events import emit
from app.models import Contact, Petition, PetitionSignature
from app.petitions.schemas import SignatureInput, SignerInput

LANGUAGES = ("en", "fr", "ro")
_DNC = {"email": "dnc_email", "sms": "dnc_sms", "phone": "dnc_phone"}
_FILL = (("first_name", "first_name"), ("last_name", "last_name"), ("postal_code", "postal_code"))


def pick_language(petition: Petition, requested: str | None, accept_language: str | None) -> str:
    """?lang= if the petition has it, else the best of Accept-Language, else the petition's first language."""
    langs = list(petition.languages or ["en"])
    if requested in langs:
        return str(requested)
    best: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if code in langs and q > 0:
            best.append((-q, i, code))
    return min(best)[2] if best else langs[0]


def shown(petition: Petition, lang: str) -> dict[str, Any]:
    """The petition as a signer sees it in `lang`: the first language's values under that language's own."""
    t = (petition.translations or {}).get(lang) or {}
    wording = dict(petition.consent_wording or {})
    wording.update({k: v for k, v in (t.get("consent_wording") or {}).items() if k in wording and v})
    return {
        "title": t.get("title") or petition.title,
        "text": t.get("text") or petition.text,
        "thank_you_message": t.get("thank_you_message") or petition.thank_you_message,
        "consent_wording": wording,
    }


def _mac(secret: str, purpose: str, payload: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{payload}".encode(), hashlib.sha256).hexdigest()[:20]


def form_token(secret: str, petition_id: uuid.UUID, now: float | None = None) -> str:
    """When the form was shown, signed: a submission carries it back (the minimum fill time)."""
    ts = str(int(now if now is not None else time.time()))
    return f"{ts}.{_mac(secret, 'petition-form', f'{petition_id}:{ts}')}"


def looks_automated(settings: PetitionSettings, secret: str, petition_id: uuid.UUID, inp: SignatureInput) -> bool:
    """A filled honeypot, a missing or forged form token, one too fresh (filled faster than a person) or too
    old. The caller answers exactly as for a signature and stores nothing."""
    if inp.website.strip():
        return True
    ts, _, mac = inp.form_token.partition(".")
    if not ts.isdigit() or not hmac.compare_digest(mac, _mac(secret, "petition-form", f"{petition_id}:{ts}")):
        return True
    age = time.time() - int(ts)
    return not (settings.min_fill_s <= age <= settings.form_token_max_age_s)


def confirm_token(secret: str, signature_id: uuid.UUID) -> str:
    raw = signature_id.bytes + hmac.new(secret.encode(), b"petition-confirm:" + signature_id.bytes, "sha256").digest()
    return base64.urlsafe_b64encode(raw[:32]).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def petition_by_slug(session: AsyncSession, slug: str) -> Petition | None:
    """The slug names the organization (a narrow definer function); then the tenant is set and the petition
    read under row-level security like any other row. A draft has no public page."""
    org = await session.scalar(text("SELECT gg_petition_org(:s)"), {"s": slug})
    if org is None:
        return None
    await set_tenant(session, org)
    return await session.scalar(select(Petition).where(Petition.organization_id == org, Petition.slug == slug))


async def sign(
    session: AsyncSession,
    petition: Petition,
    inp: SignerInput,
    *,
    lang: str,
    ip: str | None,
    channel: str,
    secret: str,
    collected_by: uuid.UUID | None = None,
) -> tuple[str, PetitionSignature | None]:
    """("signed" | "pending" | "duplicate", the new signature). A bad phone number is a 422 naming `mobile`."""
    region = await org_region(session, petition.organization_id)
    mobile = _phone(inp.mobile, region, "mobile") if inp.mobile else None
    wording = shown(petition, lang)["consent_wording"]
    data = {
        "first_name": inp.first_name.strip(),
        "last_name": inp.last_name.strip(),
        "mobile": mobile,
        "mobile_raw": inp.mobile,
        "postal_code": (inp.postal_code or "").strip() or None,
        # Only a box the form showed is a consent, with the sentence it showed.
        "consents": {ch: wording[ch] for ch in dict.fromkeys(inp.consents) if ch in wording},
        "signed_at": datetime.now(UTC).isoformat(),
    }
    sid = uuid.uuid4()
    pending = petition.double_opt_in
    stmt = (
        pg_insert(PetitionSignature)
        .values(
            organization_id=petition.organization_id,
            id=sid,
            petition_id=petition.id,
            signer_key=str(inp.email).strip().lower(),
            status="pending" if pending else "confirmed",
            data=data,
            language=lang,
            channel=channel,
            ip=ip,
            collected_by=collected_by,
            confirm_token_hash=token_hash(confirm_token(secret, sid)) if pending else None,
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "petition_id", "signer_key"])
        .returning(PetitionSignature)
    )
    sig = await session.scalar(stmt)
    if sig is None:
        return "duplicate", None
    if pending:
        return "pending", sig
    await apply(session, petition, sig)
    return "signed", sig


async def _contact_for(session: AsyncSession, petition: Petition, sig: PetitionSignature) -> tuple[Contact, bool]:
    org, d = petition.organization_id, sig.data
    # Two signatures of one person at once (two petitions) must find one contact: serialize on the address.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"signer:{org}:{sig.signer_key}"}
    )
    dup = await find_duplicate(session, org, mobile=d.get("mobile"), home=None, email=sig.signer_key)
    if dup is not None:
        c = await session.scalar(
            select(Contact).where(Contact.organization_id == org, Contact.id == dup).with_for_update()
        )
        assert c is not None
        # A signature fills in what the base lacks; it never overwrites what the organization knows.
        for src, dst in _FILL:
            if d.get(src) and not getattr(c, dst):
                setattr(c, dst, d[src])
        if d.get("mobile") and not c.mobile_e164:
            c.mobile_e164, c.mobile_raw, c.mobile_invalid = d["mobile"], d.get("mobile_raw"), False
        if not c.email:
            c.email = sig.signer_key
        c.tags = sorted(set(c.tags or []) | set(petition.tags or []))
        await session.flush()
        return c, False
    c = Contact(
        organization_id=org,
        id=uuid.uuid4(),
        source="petition",
        first_name=d.get("first_name") or "",
        last_name=d.get("last_name") or "",
        email=sig.signer_key,
        mobile_e164=d.get("mobile"),
        mobile_raw=d.get("mobile_raw"),
        postal_code=d.get("postal_code"),
        language=sig.language,
        created_by=sig.collected_by,
        tags=sorted(set(petition.tags or [])),
        custom_fields={},
    )
    session.add(c)
    await session.flush()
    return c, True


async def apply(session: AsyncSession, petition: Petition, sig: PetitionSignature) -> Contact:
    """The signature takes effect: contact, consents, tags, timeline, counter, the signature.created event."""
    org = petition.organization_id
    contact, _created = await _contact_for(session, petition, sig)
    await ensure_tags(session, org, list(petition.tags or []))
    now = datetime.now(UTC)
    inputs = []
    for ch, wording in (sig.data.get("consents") or {}).items():
        # A withdrawal stands: only the person's own explicit act elsewhere (not a petition box) grants again.
        if getattr(contact, f"consent_{ch}") == "withdrawn" or getattr(contact, _DNC[ch]):
            continue
        proof = {
            "petition_id": str(petition.id),
            "petition": petition.slug,
            "wording": wording,
            "language": sig.language,
            "ip": sig.ip,
            "signed_at": sig.data.get("signed_at"),
            "confirmed_by_email_at": now.isoformat() if sig.status == "pending" else None,
        }
        inputs.append(ConsentInput(channel=ch, status="granted", source="petition", proof=json.dumps(proof)))
    await consent_service.record_many(session, contact, inputs, actor=None)
    await add_event(
        session,
        org,
        contact.id,
        kind="petition",
        actor=None,
        summary=f"Signed the petition “{petition.title}”",
        data={"petition_id": str(petition.id), "signature_id": str(sig.id), "channel": sig.channel},
    )
    await session.execute(
        update(PetitionSignature)
        .where(PetitionSignature.organization_id == org, PetitionSignature.id == sig.id)
        .values(contact_id=contact.id, status="confirmed", confirmed_at=now)
    )
    count = await session.scalar(
        update(Petition)
        .where(Petition.organization_id == org, Petition.id == petition.id)
        .values(signature_count=Petition.signature_count + 1)
        .returning(Petition.signature_count)
    )
    petition.signature_count = int(count or 0)
    emit(
        session,
        org,
        "signature.created",
        {"signature_id": str(sig.id), "petition_id": str(petition.id), "contact_id": str(contact.id)},
    )
    return contact


async def confirm(
    session: AsyncSession, token: str, *, ttl_hours: int, apply_it: bool = True
) -> tuple[str, Petition | None]:
    """("confirmed" | "already" | "expired" | "invalid", the petition); without `apply_it`, "ready" for a link
    that would confirm (the page a mail scanner's visit sees: it confirms nothing)."""
    h = token_hash(token)
    org = await session.scalar(text("SELECT gg_signature_org(:h)"), {"h": h})
    if org is None:
        return "invalid", None
    await set_tenant(session, org)
    sig = await session.scalar(
        select(PetitionSignature)
        .where(PetitionSignature.organization_id == org, PetitionSignature.confirm_token_hash == h)
        .with_for_update()
    )
    if sig is None:
        return "invalid", None
    petition = await session.scalar(
        select(Petition).where(Petition.organization_id == org, Petition.id == sig.petition_id)
    )
    if petition is None:
        return "invalid", None
    if sig.status == "confirmed":
        return "already", petition
    if sig.created_at < datetime.now(UTC) - timedelta(hours=ttl_hours):
        return "expired", petition
    if not apply_it:
        return "ready", petition
    await apply(session, petition, sig)
    return "confirmed", petition
