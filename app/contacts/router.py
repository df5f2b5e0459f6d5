from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from app.auth import references
from app.auth.dependencies import CurrentUser, FieldWorker, ReaderDep, ReadSessionDep, WriterDep, require
from app.auth.permissions import Perm
from app.auth.principal import Principal
from app.contacts import bulk, duplicates, exports, gdpr, service, timeline, vocab
from app.contacts import consents as consent_service
from app.contacts.events import add_event
from app.contacts.merge import merge
from app.contacts.repository import CONTACT
from app.contacts.schemas import (
    BulkTagsRequest,
    BulkTagsResult,
    ConsentInput,
    ConsentRead,
    ContactCreate,
    ContactRead,
    ContactUpdate,
    CountRequest,
    CountResponse,
    CustomFieldCreate,
    CustomFieldRead,
    DuplicateRead,
    MergeRequest,
    NoteCreate,
    SearchRequest,
    SegmentCreate,
    SegmentRead,
    TagCreate,
    TagRead,
    TimelineEntry,
)
from app.contacts.sorting import SortName, SortOrder
from app.core.db import SessionDep
from app.core.pagination import CursorQ, LimitQ, Page
from app.models import Contact

router = APIRouter(tags=["contacts"])
ContactManager = Annotated[Principal, require(Perm.manage_contacts)]
ContactViewer = Annotated[Principal, require(Perm.view_contacts)]
Exporter = Annotated[Principal, require(Perm.export_contacts)]


async def _visible_contact(contact_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Contact:
    return await service.get(session, contact_id, actor=user)


VisibleContact = Annotated[Contact, Depends(_visible_contact)]


@router.get("/contacts", operation_id="contacts-list")
async def list_contacts(
    session: SessionDep,
    user: CurrentUser,
    limit: LimitQ = 50,
    cursor: CursorQ = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: SortName = "name",
    order: SortOrder = "asc",
) -> Page[ContactRead]:
    from app.contacts.filters import SegmentFilter

    rows, nxt, _ = await service.search(
        session, SegmentFilter(q=q), actor=user, limit=limit, cursor=cursor, sort=sort, order=order
    )
    return Page[ContactRead](items=[service.to_read(c) for c in rows], next_cursor=nxt)


@router.post("/contacts", status_code=201, operation_id="contacts-create", responses={409: {}})
async def create_contact(
    body: ContactCreate,
    session: SessionDep,
    user: FieldWorker,
    response: Response,
    on_duplicate: Annotated[str, Query(pattern="^(error|merge)$")] = "error",
) -> ContactRead:
    c, created = await service.create(session, body, actor=user, merge=on_duplicate == "merge")
    if not created:
        response.status_code = 200
    return service.to_read(c)


@router.post("/contacts/search", operation_id="contacts-search")
async def search_contacts(body: SearchRequest, session: ReadSessionDep, user: CurrentUser) -> Page[ContactRead]:
    rows, nxt, total = await service.search(
        session,
        body.filter,
        actor=user,
        limit=body.limit,
        cursor=body.cursor,
        sort=body.sort,
        order=body.order,
        with_total=body.with_total,
    )
    return Page[ContactRead](items=[service.to_read(c) for c in rows], next_cursor=nxt, total=total)


@router.post("/contacts/bulk-tags", operation_id="contacts-bulk-tags")
async def bulk_tags(body: BulkTagsRequest, session: SessionDep, user: ContactManager) -> BulkTagsResult:
    """Add and remove tags on every contact of a filter, or of a list of ids, in one statement (audited)."""
    return await bulk.tags(session, body, actor=user)


@router.post("/contacts/count", operation_id="contacts-count")
async def count_contacts(body: CountRequest, session: ReadSessionDep, user: CurrentUser) -> CountResponse:
    return CountResponse(count=await service.count(session, body.filter, actor=user))


@router.get("/contacts/{contact_id}", operation_id="contacts-read")
async def read_contact(contact: VisibleContact) -> ContactRead:
    return service.to_read(contact)


@router.patch("/contacts/{contact_id}", operation_id="contacts-update")
async def update_contact(
    body: ContactUpdate, contact: VisibleContact, session: SessionDep, user: ContactManager
) -> ContactRead:
    return service.to_read(await service.update(session, contact, body, actor=user))


@router.delete("/contacts/{contact_id}", status_code=204, operation_id="contacts-delete")
async def delete_contact(contact: VisibleContact, session: SessionDep, user: ContactManager) -> Response:
    await service.remove(session, contact, actor=user)
    return Response(status_code=204)


@router.get("/contacts/{contact_id}/timeline", operation_id="contacts-timeline")
async def contact_timeline(
    contact: VisibleContact, session: SessionDep, limit: LimitQ = 50, cursor: CursorQ = None
) -> Page[TimelineEntry]:
    items, nxt = await timeline.timeline(session, contact, limit=limit, cursor=cursor)
    return Page[TimelineEntry](items=items, next_cursor=nxt)


@router.post("/contacts/{contact_id}/notes", status_code=201, operation_id="contacts-notes-create")
async def add_note(body: NoteCreate, contact: VisibleContact, session: SessionDep, user: CurrentUser) -> TimelineEntry:
    await add_event(
        session, contact.organization_id, contact.id, kind=body.kind, actor=user, summary=body.text, at=body.at
    )
    items, _ = await timeline.timeline(session, contact, limit=1, cursor=None)
    return items[0]


@router.get("/contacts/{contact_id}/consents", operation_id="contacts-consents-list")
async def list_consents(contact: VisibleContact, session: SessionDep) -> list[ConsentRead]:
    rows = await consent_service.history(session, contact.organization_id, contact.id)
    return [ConsentRead.model_validate(r) for r in rows]


@router.post("/contacts/{contact_id}/consents", status_code=201, operation_id="contacts-consents-create")
async def record_consent(
    body: ConsentInput, contact: VisibleContact, session: SessionDep, user: CurrentUser
) -> ContactRead:
    await consent_service.record_many(session, contact, [body], actor=user)
    return service.to_read(contact)


@router.get("/contacts/{contact_id}/duplicates", operation_id="contacts-duplicates")
async def list_duplicates(contact: VisibleContact, session: SessionDep, user: ContactManager) -> list[DuplicateRead]:
    found = await duplicates.of_contact(session, contact, actor=user)
    return [DuplicateRead(contact=service.to_read(d.contact), reasons=d.reasons) for d in found]


@router.post("/contacts/{contact_id}/merge", operation_id="contacts-merge")
async def merge_contacts(
    body: MergeRequest, contact: VisibleContact, session: SessionDep, user: ContactManager
) -> ContactRead:
    await references.check(session, user, body, {"other_id": CONTACT})
    other = await service.get(session, body.other_id, actor=user)
    return service.to_read(await merge(session, contact, other, body, actor=user))


@router.get("/contacts/{contact_id}/export", operation_id="contacts-gdpr-export")
async def gdpr_export(contact: VisibleContact, session: SessionDep, user: Exporter) -> dict[str, Any]:
    return await gdpr.access_export(session, contact, actor=user)


@router.post("/contacts/{contact_id}/erase", status_code=204, operation_id="contacts-gdpr-erase")
async def gdpr_erase(contact: VisibleContact, session: SessionDep, user: Exporter) -> Response:
    await gdpr.erase(session, contact, actor=user)
    return Response(status_code=204)


@router.get("/tags", operation_id="tags-list")
async def list_tags(session: SessionDep, user: FieldWorker) -> list[TagRead]:
    return await vocab.list_tags(session, actor=user)


@router.post("/tags", status_code=201, operation_id="tags-create")
async def create_tag(body: TagCreate, session: SessionDep, user: ContactManager) -> TagRead:
    return await vocab.create_tag(session, body, actor=user)


@router.delete("/tags/{name}", status_code=204, operation_id="tags-delete")
async def delete_tag(name: str, session: SessionDep, user: ContactManager) -> Response:
    await vocab.delete_tag(session, name, actor=user)
    return Response(status_code=204)


@router.get("/custom-fields", operation_id="custom-fields-list")
async def list_fields(session: SessionDep, user: FieldWorker) -> list[CustomFieldRead]:
    return [CustomFieldRead.model_validate(d) for d in await vocab.list_fields(session, actor=user)]


@router.post("/custom-fields", status_code=201, operation_id="custom-fields-create")
async def create_field(body: CustomFieldCreate, session: SessionDep, user: ContactManager) -> CustomFieldRead:
    return CustomFieldRead.model_validate(await vocab.create_field(session, body, actor=user))


@router.get("/segments", operation_id="segments-list")
async def list_segments(session: SessionDep, user: ContactViewer) -> list[SegmentRead]:
    return await vocab.list_segments(session, actor=user)


@router.post("/segments", status_code=201, operation_id="segments-create")
async def create_segment(body: SegmentCreate, session: SessionDep, user: ContactManager) -> SegmentRead:
    return await vocab.create_segment(session, body, actor=user)


@router.delete("/segments/{segment_id}", status_code=204, operation_id="segments-delete")
async def delete_segment(segment_id: uuid.UUID, session: SessionDep, user: ContactManager) -> Response:
    await vocab.delete_segment(session, segment_id, actor=user)
    return Response(status_code=204)


@router.post("/exports", status_code=201, operation_id="exports-create")
async def create_export(
    body: exports.ExportCreate, session: SessionDep, user: Exporter, reads: ReaderDep, write: WriterDep
) -> exports.ExportRead:
    return await exports.create(session, body, actor=user, reads=reads, write=write)


@router.get("/exports/{export_id}", operation_id="exports-read")
async def read_export(export_id: uuid.UUID, session: SessionDep, user: Exporter) -> exports.ExportRead:
    return exports.to_read(await exports.get(session, export_id, actor=user))


@router.get(
    "/exports/{export_id}/download",
    operation_id="exports-download",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def download_export(
    export_id: uuid.UUID, session: SessionDep, user: Exporter, reads: ReaderDep
) -> StreamingResponse:
    e = await exports.get(session, export_id, actor=user)
    await exports.mark_downloaded(session, e, actor=user)
    conds = await exports.conditions(session, e)
    return StreamingResponse(
        exports.stream_csv(reads, e, conds),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="export-{e.id}.csv"'},
    )
