"""Every input model: a string past its field's max_length, even by whitespace it would strip, is refused with
the field in the error's location (so the 422's `details` names it)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from pydantic import ValidationError

import app
from app.core.schemas import Strict


def _models() -> list[type[Strict]]:
    for m in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(m.name)
    seen: list[type[Strict]] = []
    todo: list[type[Any]] = [Strict]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen and "[" not in sub.__name__:
                seen.append(sub)
                todo.append(sub)
    return seen


def _limited(model: type[Strict]) -> list[tuple[str, int]]:
    out = []
    for name, f in model.model_fields.items():
        limit = next((m.max_length for m in f.metadata if getattr(m, "max_length", None) is not None), None)
        if limit is not None and limit < 100_000 and f.annotation in (str, str | None):
            out.append((f.alias or name, limit))
    return out


CASES = [(m, field, limit) for m in _models() for field, limit in _limited(m)]


def test_the_walk_finds_the_input_models() -> None:
    assert len({m for m, _, _ in CASES}) > 20 and len(CASES) > 50


@pytest.mark.parametrize(("model", "field", "limit"), CASES, ids=[f"{m.__name__}.{f}" for m, f, _ in CASES])
def test_a_string_past_max_length_is_refused_naming_its_field(model: type[Strict], field: str, limit: int) -> None:
    for value in ("a" * (limit + 1), " " + "a" * limit + " "):
        with pytest.raises(ValidationError) as e:
            model.model_validate({field: value})
        located = [err for err in e.value.errors() if err["loc"] == (field,)]
        assert located and located[0]["type"] == "string_too_long", e.value.errors()
