"""The strict input base (app/core/schemas.py): no coercion between JSON types, real regions only."""

from __future__ import annotations

import uuid

import pytest
from httpx import AsyncClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.filters import SegmentFilter
from app.models import Organization
from app.surveys.schemas import Question
from tests.fixtures.factories import World


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (SegmentFilter, {"not_contacted_since": 0}, "not_contacted_since"),
        (SegmentFilter, {"has_mobile": 1}, "has_mobile"),
        (SegmentFilter, {"age_min": "18"}, "age_min"),
        (Question, {"id": "q1", "kind": "yes_no", "label": "Q?", "required": 0}, "required"),
        (Question, {"id": "q1", "kind": "number", "label": "Q?", "min": "1"}, "min"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(
    model: type[BaseModel], data: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as e:
        model.model_validate(data)
    assert {err["loc"][0] for err in e.value.errors()} == {field}


def test_ids_and_times_still_arrive_as_json_strings_and_stored_filters_read_back() -> None:
    zid = uuid.uuid4()
    f = SegmentFilter.model_validate({"zone_ids": [str(zid)], "contacted_since": "2026-10-01T00:00:00Z"})
    assert f.zone_ids == [zid] and f.contacted_since is not None and f.contacted_since.year == 2026
    assert SegmentFilter.model_validate(f.model_dump(mode="json")) == f


async def test_default_region_is_a_real_region(client: AsyncClient, db: AsyncSession, world: World) -> None:
    h = world.a["admin"].headers
    for bad in ("ZZ", "XX", "ro", None):
        r = await client.patch("/api/v1/organization", json={"default_region": bad}, headers=h)
        assert r.status_code == 422, (bad, r.text)
        assert [d["field"] for d in r.json()["error"]["details"]] == ["default_region"]
    r = await client.patch("/api/v1/organization", json={"default_region": "MD"}, headers=h)
    assert r.status_code == 200, r.text
    region = await db.scalar(select(Organization.default_region).where(Organization.id == world.org_a.id))
    assert region == "MD"
