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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, bindparam, exists, literal_column, null, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.config import PetitionSettings
from app.contacts import consents as consent_service
from app.contacts.events import add_event
from app.contacts.schemas import ConsentInput
from app.contacts.service import _phone, duplicate_of_email, duplicate_query, ensure_tags, org_region
from app.core import counters
from app.core.db import set_tenant
from app.dashboard import events as live
from app.integrations.events import emit, from_live, kick_after_commit, outbox_insert, outboxed
from app.models import Contact, Petition, PetitionCounter, PetitionSignature
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


_ORG_OF_SLUG = text(
    "SELECT CAST(nullif(set_config('app.organization_id', coalesce(CAST(gg_petition_org(:s) AS text), ''), "
    "true), '') AS uuid)"
)
# The same, taking the signer's lock (see _lock_signer: the same key) in the same statement.
_ORG_OF_SLUG_LOCKED = text(
    "SELECT CAST(nullif(set_config('app.organization_id', coalesce(CAST(gg_petition_org(:s) AS text), ''), "
    "true), '') AS uuid), "
    "pg_advisory_xact_lock(hashtextextended('signer:' || CAST(gg_petition_org(:s) AS text) || ':' || :k, 0))"
)


def signer_key(inp: SignerInput) -> str:
    """One signature per signer and petition: the normalized email."""
    return str(inp.email).strip().lower()


async def petition_by_slug(session: AsyncSession, slug: str) -> Petition | None:
    """The slug names the organization (a narrow definer function, which also scopes the transaction to it: one
    statement); then the petition is read under row-level security like any other row. A draft has no page."""
    org = await session.scalar(_ORG_OF_SLUG, {"s": slug})
    if org is None:
        return None
    return await session.scalar(select(Petition).where(Petition.organization_id == org, Petition.slug == slug))


# A version of a petition's row: another one once it is updated (a new row version, even in the transaction that
# wrote the first), and never one it had before (a tuple's place is not reused while it is visible).
_VERSION = "CAST(petitions.xmin AS text) || ':' || CAST(petitions.ctid AS text)"

# What signing needs to know under the signer's lock (a statement after the one that took it: its snapshot sees
# a signature committed meanwhile), read with the petition: the contact the email already names and whether the
# signer signed already. Built once (the compiled cache serves it); the counter is not read (no answer shows it).
_FOR_SIGNING: Select[Petition, uuid.UUID, bool, str] = (
    select(
        Petition,
        duplicate_of_email(),
        exists().where(
            PetitionSignature.organization_id == Petition.organization_id,
            PetitionSignature.petition_id == Petition.id,
            PetitionSignature.signer_key == bindparam("dup_email"),
        ),
        literal_column(_VERSION, String),
    )
    .options(defer(Petition.signature_count, raiseload=True))
    .where(Petition.organization_id == bindparam("dup_org"), Petition.slug == bindparam("slug"))
)


class StalePetition(Exception):
    """The petition changed since this process cached it: read it again and sign again (nothing was written)."""


@dataclass(frozen=True, slots=True)
class UnderLock:
    """The transaction holds the signer's lock (petition_for_signing took it), and what sign() knows under it:
    what was read with the petition (the contact the email names, whether the signer signed), or, with
    `version`, nothing yet: the petition is this process's copy, that version of its row."""

    duplicate: uuid.UUID | None = None
    signed: bool = False
    version: str | None = None


# Open petitions as this process last read them for signing, by slug, with their row's version (detached: no
# session's rollback expires them). The statement that signs with one checks first that the petition is still
# open at that version; a changed one is read again (StalePetition): what is recorded is what the petition says.
_OPEN: dict[str, tuple[Petition, str]] = {}
_OPEN_MAX = 512


async def petition_for_signing(
    session: AsyncSession, slug: str, signer: str, *, cached: bool = True
) -> tuple[Petition | None, UnderLock]:
    """The petition at `slug` with the signer's lock taken (`signer`: a signer_key) in the statement that finds
    the organization: this process's copy if it has one (and `cached`), else read with what the lock guards."""
    org = await session.scalar(_ORG_OF_SLUG_LOCKED, {"s": slug, "k": signer})
    if org is None:
        return None, UnderLock()
    hit = _OPEN.get(slug) if cached else None
    if hit is not None and hit[0].organization_id == org:
        return hit[0], UnderLock(version=hit[1])
    row = (await session.execute(_FOR_SIGNING, {"dup_org": org, "slug": slug, "dup_email": signer})).first()
    if row is None:
        _OPEN.pop(slug, None)
        return None, UnderLock()
    petition: Petition = row[0]
    session.expunge(petition)
    # Only what the signing statement checks: an open petition signed at once (a pending signature is not).
    if petition.status == "open" and not petition.double_opt_in:
        if len(_OPEN) >= _OPEN_MAX:
            _OPEN.clear()
        _OPEN[slug] = (petition, row[3])
    else:
        _OPEN.pop(slug, None)
    return petition, UnderLock(duplicate=row[1], signed=bool(row[2]))


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
    locked: UnderLock | None = None,
) -> tuple[str, PetitionSignature | None]:
    """("signed" | "pending" | "duplicate", the new signature). A bad phone number is a 422 naming `mobile`.
    `locked`: see UnderLock; with a cached petition's version, StalePetition if it changed since, or if the
    signer gives a mobile (nothing written either way)."""
    org = petition.organization_id
    mobile = _phone(inp.mobile, await org_region(session, org), "mobile") if inp.mobile else None
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
    values: dict[str, Any] = {
        "organization_id": org,
        "id": sid,
        "petition_id": petition.id,
        "signer_key": signer_key(inp),
        "data": data,
        "language": lang,
        "channel": channel,
        "ip": ip,
        "collected_by": collected_by,
    }
    if petition.double_opt_in:  # it waits, unapplied, for its email link (a double submit stores one)
        stmt = (
            pg_insert(PetitionSignature)
            .values(**values, status="pending", confirm_token_hash=token_hash(confirm_token(secret, sid)))
            .on_conflict_do_nothing(index_elements=["organization_id", "petition_id", "signer_key"])
            .returning(PetitionSignature)
        )
        sig = await session.scalar(stmt)
        return ("duplicate", None) if sig is None else ("pending", sig)
    # Signed at once. Under the signer's lock (see _lock_signer) a double submit finds the first one committed.
    if locked is not None and locked.version is not None:
        # The petition from the cache, nothing read under the lock yet: the statement that writes a new signer
        # checks first (in its snapshot, after the lock) that the petition is unchanged and the signer new. It
        # matches the email alone: a signer with a mobile signs a petition read for it (not the cache's).
        if mobile:
            raise StalePetition()
        sig = PetitionSignature(**values, status="confirmed")
        now = datetime.now(UTC)
        sig.confirmed_at = now
        found = await _new_signer(session, petition, sig, now, write_signature=True, version=locked.version)
        if found.contact_id is not None:
            sig.contact_id = found.contact_id
            return "signed", sig
        if not found.fresh:
            raise StalePetition()
        if found.signed:
            return "duplicate", None
        await apply(session, petition, sig, existing=found.duplicate, write_signature=True)
        return "signed", sig
    if locked is None:
        await _lock_signer(session, org, values["signer_key"])
    if locked is None or mobile:  # what was read with the petition matched the email alone
        dup = duplicate_query(org, mobile=mobile, home=None, email=values["signer_key"])
        signed = exists().where(
            PetitionSignature.organization_id == org,
            PetitionSignature.petition_id == petition.id,
            PetitionSignature.signer_key == values["signer_key"],
        )
        found = (await session.execute(select(dup.scalar_subquery() if dup is not None else null(), signed))).one()
        known = (found[0], bool(found[1]))
    else:
        known = (locked.duplicate, locked.signed)
    existing, already = known
    if already:
        return "duplicate", None
    sig = PetitionSignature(**values, status="confirmed")
    # Written once, with its contact; the unique key stays the last word (it cannot conflict under the lock).
    await apply(session, petition, sig, existing=existing, write_signature=True)
    return "signed", sig


async def _lock_signer(session: AsyncSession, org: uuid.UUID, signer_key: str) -> None:
    """Two signatures of one person at once (two petitions, or a double submit) must find one contact and one
    signature: they take turns on the address until commit."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"signer:{org}:{signer_key}"}
    )


# A new signer in one statement: the contact (with its consents' columns), the petition's tags, the consent log
# rows, the timeline event, (when signing at once) the signature, the count (app.core.counters' upsert, on a
# random shard) and the events integrators subscribe to (the outbox's own insert; :events without the contact,
# which this statement makes). A new contact has no withdrawal to respect; an existing one goes through the ORM
# (_fill_in), which reads it first. With a :version, only if the petition is as the caller has it (open, that
# version of its row), the email names no contact (duplicate_query's rule for an email) and the signer has not
# signed; it returns what it found either way (all in the statement's snapshot: the signer's lock came first).
_NEW_SIGNER = text(f"""
    WITH g AS (
        SELECT (SELECT id FROM contacts WHERE organization_id = :org AND email = :email LIMIT 1) AS dup,
               EXISTS (SELECT 1 FROM petition_signatures
                       WHERE organization_id = :org AND petition_id = :petition_id AND signer_key = :email) AS signed,
               EXISTS (SELECT 1 FROM petitions WHERE organization_id = :org AND id = :petition_id
                       AND status = 'open' AND {_VERSION} = :version) AS fresh
    ), c AS (
        INSERT INTO contacts (organization_id, id, source, first_name, last_name, email, mobile_e164, mobile_raw,
                              postal_code, language, created_by, tags, consent_email, consent_sms, consent_phone)
        SELECT :org, gg_uuid7(), 'petition', :first_name, :last_name, :email, :mobile, :mobile_raw, :postal_code,
               :language, :collected_by, CAST(:tags AS text[]), :consent_email, :consent_sms, :consent_phone
        FROM g WHERE CAST(:version AS text) IS NULL OR (g.fresh AND g.dup IS NULL AND NOT g.signed)
        RETURNING id
    ), t AS (
        INSERT INTO tags (organization_id, name) SELECT :org, unnest(CAST(:tags AS text[])) FROM c
        ON CONFLICT DO NOTHING
    ), l AS (
        INSERT INTO consent_log (organization_id, contact_id, channel, status, source, proof)
        SELECT :org, c.id, x.channel, 'granted', 'petition', x.proof
        FROM c, jsonb_to_recordset(CAST(:consents AS jsonb)) AS x(channel text, proof text)
    ), ev AS (
        INSERT INTO contact_events (organization_id, contact_id, kind, summary, data)
        SELECT :org, c.id, 'petition', :summary, CAST(:event AS jsonb) FROM c
    ), s AS (
        INSERT INTO petition_signatures (organization_id, id, petition_id, signer_key, status, contact_id, data,
                                         language, channel, ip, collected_by, confirmed_at)
        SELECT :org, :sid, :petition_id, :email, 'confirmed', c.id, CAST(:data AS jsonb), :language, :channel, :ip,
               :collected_by, :now
        FROM c WHERE CAST(:write_signature AS boolean)
    ), k AS ({counters.upsert_sql(PetitionCounter, "FROM c")}
    ), o AS ({
    outbox_insert(
        "SELECT CAST(:org AS uuid) AS org, x.type, CAST(:at AS text) AS at,"
        " x.data || jsonb_build_object('contact_id', c.id) AS data"
        " FROM c, ROWS FROM (jsonb_to_recordset(CAST(:events AS jsonb)) AS (type text, data jsonb))"
        " WITH ORDINALITY AS x(type, data, n)"
        " ORDER BY x.n"
    )
}
    )
    SELECT (SELECT id FROM c) AS contact_id, g.dup AS duplicate, g.signed, g.fresh,
           (SELECT count(*) FROM o) AS outboxed
    FROM g
""")  # noqa: S608 - the outbox's constant insert, values bound


def _proof(petition: Petition, sig: PetitionSignature, wording: str, now: datetime) -> str:
    """What the person agreed to, as shown: the consent log's proof of a petition box."""
    proof = {
        "petition_id": str(petition.id),
        "petition": petition.slug,
        "wording": wording,
        "language": sig.language,
        "ip": sig.ip,
        "signed_at": sig.data.get("signed_at"),
        "confirmed_by_email_at": now.isoformat() if sig.status == "pending" else None,
    }
    return json.dumps(proof)


def _timeline(petition: Petition, sig: PetitionSignature) -> tuple[str, dict[str, Any]]:
    data = {"petition_id": str(petition.id), "signature_id": str(sig.id), "channel": sig.channel}
    return f"Signed the petition “{petition.title}”", data


async def _new_signer(
    session: AsyncSession,
    petition: Petition,
    sig: PetitionSignature,
    now: datetime,
    *,
    write_signature: bool,
    version: str | None = None,
) -> Any:
    """A contact for a signer the base does not know, written in one statement with its events; returns the
    statement's row (contact_id: None if, with the petition's `version`, it wrote nothing; duplicate, signed,
    fresh)."""
    org, d = petition.organization_id, sig.data
    consents = d.get("consents") or {}
    summary, event = _timeline(petition, sig)
    tags = sorted(set(petition.tags or []))
    # The events as the commit would have written them (the contact's id is the statement's).
    created = from_live(
        live.contact_event(Contact(organization_id=org, source="petition", created_by=sig.collected_by))
    )
    events = [created] if created else []
    if consents:  # a new contact is inserted with its consents: the change integrators subscribe to
        events.append({"type": "consent.changed", "data": {}})
    events.append({"type": "signature.created", "data": {"signature_id": str(sig.id), "petition_id": str(petition.id)}})
    params = {
        "org": org,
        "first_name": d.get("first_name") or "",
        "last_name": d.get("last_name") or "",
        "email": sig.signer_key,
        "mobile": d.get("mobile"),
        "mobile_raw": d.get("mobile_raw"),
        "postal_code": d.get("postal_code"),
        "language": sig.language,
        "collected_by": sig.collected_by,
        "tags": tags,
        **{f"consent_{ch}": "granted" if ch in consents else None for ch in _DNC},
        "consents": json.dumps([{"channel": ch, "proof": _proof(petition, sig, w, now)} for ch, w in consents.items()]),
        "summary": summary,
        "event": json.dumps(event),
        "sid": sig.id,
        "petition_id": petition.id,
        "data": json.dumps(d),
        "channel": sig.channel,
        "ip": sig.ip,
        "now": now,
        "write_signature": write_signature,
        "organization_id": org,
        "shard": counters.pick_shard(),
        "by": 1,
        "version": version,
        "at": now.isoformat(),
        "events": json.dumps([{"type": e["type"], "data": e["data"]} for e in events]),
    }
    row = (await session.execute(_NEW_SIGNER, params)).one()
    if row.contact_id is None:
        return row
    # The live bus hears of the contact as of an ORM insert; its webhook event is written already.
    ev = live.contact_event(
        Contact(organization_id=org, id=row.contact_id, source="petition", created_by=sig.collected_by)
    )
    live.queue(session.sync_session, ev)
    outboxed(session, ev)
    if row.outboxed:
        kick_after_commit(session, {org})
    return row


async def _fill_in(session: AsyncSession, petition: Petition, sig: PetitionSignature, existing: uuid.UUID) -> Contact:
    """The signer's existing contact (the duplicate found under the signer's lock), filled in."""
    org, d = petition.organization_id, sig.data
    c = await session.scalar(
        select(Contact).where(Contact.organization_id == org, Contact.id == existing).with_for_update()
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
    return c


async def apply(
    session: AsyncSession,
    petition: Petition,
    sig: PetitionSignature,
    *,
    existing: uuid.UUID | None,
    write_signature: bool = False,
) -> uuid.UUID:
    """The signature takes effect: contact, consents, tags, timeline, counter, the signature.created event; with
    `write_signature`, the signature's own row too (else the caller's loaded row gets its contact and time). The
    caller holds the signer's lock and found `existing`. Returns the contact's id."""
    org = petition.organization_id
    now = datetime.now(UTC)
    sig.confirmed_at = now
    if existing is None:  # counted, its events written with it
        sig.contact_id = (await _new_signer(session, petition, sig, now, write_signature=write_signature)).contact_id
        return sig.contact_id
    contact = await _fill_in(session, petition, sig, existing)
    contact_id = contact.id
    await ensure_tags(session, org, list(petition.tags or []))
    inputs = [
        ConsentInput(channel=ch, status="granted", source="petition", proof=_proof(petition, sig, wording, now))
        for ch, wording in (sig.data.get("consents") or {}).items()
        # A withdrawal stands: only the person's own explicit act elsewhere (not a petition box) grants again.
        if getattr(contact, f"consent_{ch}") != "withdrawn" and not getattr(contact, _DNC[ch])
    ]
    await consent_service.record_many(session, contact, inputs, actor=None)
    await session.flush()  # the contact's changes before the rows that name it
    summary, event = _timeline(petition, sig)
    await add_event(session, org, contact_id, kind="petition", actor=None, summary=summary, data=event)
    if write_signature:
        values = {c: getattr(sig, c) for c in _SIGNATURE_COLUMNS}
        await session.execute(pg_insert(PetitionSignature).values(**values, contact_id=contact_id))
    await counters.add(session, PetitionCounter, {"organization_id": org, "petition_id": petition.id})
    sig.contact_id = contact_id
    emit(
        session,
        org,
        "signature.created",
        {"signature_id": str(sig.id), "petition_id": str(petition.id), "contact_id": str(contact_id)},
    )
    return contact_id


_SIGNATURE_COLUMNS = (
    "organization_id",
    "id",
    "petition_id",
    "signer_key",
    "status",
    "data",
    "language",
    "channel",
    "ip",
    "collected_by",
    "confirmed_at",
)


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
    await _lock_signer(session, org, sig.signer_key)
    dup = duplicate_query(org, mobile=(sig.data or {}).get("mobile"), home=None, email=sig.signer_key)
    existing = await session.scalar(dup) if dup is not None else None
    await apply(session, petition, sig, existing=existing)
    sig.status = "confirmed"  # with the contact and the time apply set: written by the flush
    await session.flush()
    return "confirmed", petition
