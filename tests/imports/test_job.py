"""The import job's typed inputs and outcome: mapped names reach the SQL only from the one list of contact fields."""

from __future__ import annotations

import pytest

from app.contacts import exports, fields
from app.imports import mapping, merge
from app.imports.spec import ImportOutcome, ImportSpec

ROW = {
    "organization_id": "o",
    "id": "i",
    "status": "queued",
    "file_path": "/tmp/x.csv",
    "encoding": "utf-8",
    "delimiter": ",",
    "mapping": {"columns": {"first_name": 0, "custom:shoe_size": 1}, "headers": ["a", "b"]},
    "default_tags": None,
    "consent_source": None,
    "consent_channels": ["sms"],
    "dedupe_policy": "update",
    "default_region": None,
}


def test_a_stored_mapping_with_a_name_outside_the_contact_fields_never_reaches_the_sql() -> None:
    spec = ImportSpec.from_row(ROW)
    assert spec.columns == {"first_name": 0, "custom:shoe_size": 1} and spec.width == 2
    assert spec.channels == [] and spec.region == "RO"  # no consent without its source
    for bad in ("first_name, 1); DROP TABLE contacts; --", "custom:Shoe Size", "password"):
        with pytest.raises(ValueError, match="not a contact field"):
            ImportSpec.from_row({**ROW, "mapping": {"columns": {bad: 0}, "headers": ["a"]}})
        with pytest.raises(ValueError, match="not a contact field"):
            merge.col_name(bad)


def test_imports_and_exports_take_their_fields_from_one_list() -> None:
    assert mapping.TARGETS == fields.IMPORTED
    assert set(merge.FIELDS) == set(fields.IMPORTED) - {"full_name"}
    schema = exports.ExportCreate.model_json_schema()
    assert schema["properties"]["columns"]["items"]["enum"] == list(fields.EXPORTED)
    assert set(exports.DEFAULT_COLUMNS) <= set(fields.EXPORTED)
    assert {f.name: f.max_length for f in fields.FIELDS if f.name in ("first_name", "city", "number")} == {
        "first_name": 200,
        "number": 20,
        "city": 120,
    }


def test_the_outcome_is_a_typed_value() -> None:
    assert ImportOutcome("done") is ImportOutcome.done
    with pytest.raises(ValueError, match="not a valid ImportOutcome"):
        ImportOutcome("done:3:{'created': 3}")
