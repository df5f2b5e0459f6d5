"""Set-based changes to many contacts: one UPDATE … FROM over the selection, inside the tenant scope and the
viewer's visibility, audited once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, not_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth import references
from app.auth.principal import Principal
from app.contacts import repository as repo
from app.contacts.filters import resolve
from app.contacts.repository import CONTACT
from app.contacts.schemas import BulkTagsRequest, BulkTagsResult
from app.contacts.service import ensure_tags
from app.core.errors import Unprocessable
from app.models import Contact

# The new tags of a row: its own plus `add`, less `remove`, each once, sorted.
_NEW_TAGS = text(
    "ARRAY(SELECT DISTINCT t FROM unnest(array_cat(contacts.tags, CAST(:add AS text[]))) AS u(t)"
    " WHERE t <> ALL(CAST(:remove AS text[])) ORDER BY t)"
)


def _check(body: BulkTagsRequest) -> None:
    if (body.filter is None) == (body.contact_ids is None):
        raise Unprocessable(
            "Give either a filter or contact_ids.", details=[{"field": "contact_ids", "message": "one of the two"}]
        )
    if not body.add and not body.remove:
        raise Unprocessable("No tag to add or remove.", details=[{"field": "add", "message": "empty"}])
    if both := sorted(set(body.add) & set(body.remove)):
        raise Unprocessable(
            "A tag cannot be added and removed at once.", details=[{"field": "remove", "message": ", ".join(both)}]
        )


async def tags(session: AsyncSession, body: BulkTagsRequest, *, actor: Principal) -> BulkTagsResult:
    # Every id first (a foreign or unknown one is named whatever else is wrong), then the request's shape.
    await references.check(session, actor, body, {"contact_ids.*": CONTACT})
    if body.filter is not None:
        conds = await resolve(session, body.filter, actor.organization_id, actor=actor)
    else:
        conds = [Contact.id.in_(body.contact_ids or [])]
    _check(body)
    selection = repo.visible_to(actor).with_only_columns(Contact.id).where(and_(*conds)).subquery("selection")
    matched = await session.scalar(select(func.count()).select_from(selection)) or 0
    add, remove = body.add, body.remove
    changes = or_(not_(Contact.tags.contains(add)), Contact.tags.overlap(remove))
    stmt = (
        update(Contact)
        .where(Contact.organization_id == actor.organization_id, Contact.id == selection.c.id, changes)
        .values(tags=_NEW_TAGS.bindparams(add=add, remove=remove), updated_at=func.now())
        .returning(Contact.id)
        .execution_options(synchronize_session=False)
    )
    updated = len((await session.execute(stmt)).all())
    await ensure_tags(session, actor.organization_id, add)
    details: dict[str, Any] = {"add": add, "remove": remove, "matched": matched, "updated": updated}
    details |= {"filter": body.filter.model_dump(mode="json", exclude_none=True)} if body.filter else {}
    details |= {"contact_ids": len(body.contact_ids)} if body.contact_ids else {}
    await audit.record(session, actor=actor, action="contacts.bulk_tags", object_type="contact", details=details)
    return BulkTagsResult(matched=matched, updated=updated)
