"""What the import job works from, typed: the import's row as read when the job starts (its mapping checked
against the list of contact fields, since mapped names become SQL identifiers), the bind parameters every
statement shares, and what the job reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.config import get_settings
from app.contacts.fields import checked


class ImportOutcome(StrEnum):
    done = "done"
    failed = "failed"
    cancelled = "cancelled"
    busy = "busy"  # another run holds the import's lock: try again later
    missing = "missing"


@dataclass(frozen=True)
class ImportSpec:
    organization_id: str
    id: str
    status: str
    file_path: Path
    encoding: str
    delimiter: str
    columns: dict[str, int]  # mapped contact field (or custom:<key>) → column index in the file
    headers: list[str]
    default_tags: list[str]
    consent_source: str | None
    consent_channels: list[str]
    dedupe_policy: str
    region: str

    @classmethod
    def from_row(cls, row: Any) -> ImportSpec:
        mapping = row["mapping"]
        return cls(
            organization_id=str(row["organization_id"]),
            id=str(row["id"]),
            status=row["status"],
            file_path=Path(row["file_path"]),
            encoding=row["encoding"],
            delimiter=row["delimiter"],
            columns={checked(t): int(i) for t, i in mapping["columns"].items()},
            headers=[str(h) for h in mapping["headers"]],
            default_tags=list(row["default_tags"] or []),
            consent_source=row["consent_source"],
            consent_channels=list(row["consent_channels"] or []),
            dedupe_policy=row["dedupe_policy"],
            region=row["default_region"] or get_settings().default_region,
        )

    @property
    def width(self) -> int:
        return len(self.headers)

    @property
    def channels(self) -> list[str]:
        """The consent channels granted, when the import carries its source."""
        return self.consent_channels if self.consent_source else []

    def binds(self) -> dict[str, Any]:
        """The parameters the merge's statements share."""
        return {"org": self.organization_id, "iid": self.id, "default_tags": self.default_tags}


@dataclass(frozen=True)
class Counts:
    created: int
    updated: int
    skipped: int
    rejected: int
