"""The base of every input model, and the few types it needs.

`Strict` bodies refuse unknown fields (no mass assignment), NUL characters (PostgreSQL cannot store them) and
values of the wrong JSON type: pydantic's strict mode, so `0` is not a date, `"1"` not a number, `0` not a
boolean. FastAPI validates a parsed body as Python objects, where strict mode would refuse the strings JSON uses
for ids, times and dates; `Id`, `Timestamp` and `Day` accept those strings (and only strings
or already-typed values).

`Unset` is a PATCH field that may be left out but is never null (the column is NOT NULL): the schema shows it as
non-nullable, and a null is a 422 naming the field. Updates are applied with `exclude_unset`, so the default is
never read.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import Strict as StrictMode
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

INT4_MAX = 2**31 - 1  # the largest value of an `integer` column (and of every integer we accept)


def _has_nul(v: Any) -> bool:
    if isinstance(v, str):
        return "\x00" in v
    if isinstance(v, dict):
        return any(_has_nul(k) or _has_nul(x) for k, x in v.items())
    return isinstance(v, list | tuple) and any(_has_nul(x) for x in v)


_NUMERIC = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(v: Any) -> Any:
    """Pydantic reads a number, or a string of one (a query parameter is always a string), as Unix time:
    a date or a time arrives in ISO 8601, never as a number."""
    if isinstance(v, int | float) or (isinstance(v, str) and _NUMERIC.fullmatch(v)):  # bool included
        raise ValueError("expected an ISO 8601 date or time, not a number")
    return v


Int = Annotated[int, Field(ge=-INT4_MAX - 1, le=INT4_MAX)]  # an integer with no narrower bounds of its own
Id = Annotated[uuid.UUID, StrictMode(False)]
Timestamp = Annotated[datetime, StrictMode(False), BeforeValidator(_not_a_number)]
Day = Annotated[date, StrictMode(False), BeforeValidator(_not_a_number)]
# A str-valued Enum read from its JSON string (strict mode would want the Enum instance itself).
Lax = StrictMode(False)


def Unset(**kw: Any) -> Any:
    """A PATCH field that may be omitted but not null: `name: str = Unset(max_length=200)`."""
    return Field(None, **kw)


def _nullable(prop: dict[str, Any]) -> bool:
    t = prop.get("type")
    return t == "null" or (isinstance(t, list) and "null" in t) or any(_nullable(b) for b in prop.get("anyOf", []))


class Strict(BaseModel):
    """Input bodies: unknown fields refused, NUL characters refused, no coercion between JSON types."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True, allow_inf_nan=False)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """A non-nullable property shows no `default: null` (an `Unset` field's default is never used)."""
        schema = handler(core_schema)
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            if "default" in prop and prop["default"] is None and not _nullable(prop):
                del prop["default"]
        return schema

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("NUL characters (\\u0000) are not allowed")
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _raw_length(cls, v: Any, info: ValidationInfo) -> Any:
        """`max_length` holds for the string as sent: whitespace stripped afterwards must not let a longer value
        in than the schema allows (the schema is what clients and fuzzers check against). A field validator, so
        the 422 names the field in `details` like every other."""
        if isinstance(v, str) and info.field_name is not None:
            f = cls.model_fields[info.field_name]
            limit = next((m.max_length for m in f.metadata if getattr(m, "max_length", None) is not None), None)
            if limit is not None and len(v) > limit:
                raise PydanticCustomError(
                    "string_too_long",
                    "String should have at most {max_length} characters",
                    {"max_length": limit},
                )
        return v


def _real_region(v: str) -> str:
    if v not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("not a region with a phone numbering plan (ISO 3166 code, e.g. RO)")
    return v


Region = Annotated[
    str, AfterValidator(_real_region), Field(json_schema_extra={"enum": sorted(phonenumbers.SUPPORTED_REGIONS)})
]
