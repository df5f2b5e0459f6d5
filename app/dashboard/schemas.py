"""Dashboard responses. Counts are integers over the asked period, in the viewer's scope."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Bucket = Literal["hour", "day"]
Metric = Literal["calls", "visits", "reached", "mobilized", "opportunities"]


class SupportSummary(BaseModel):
    """Distinct people reached in the period, by their current support level (1 strong supporter … 5 opposed)."""

    strong_supporters: int = Field(description="level 1")
    supporters: int = Field(description="levels 1 and 2")
    undecided: int = Field(description="level 3")
    opposed: int = Field(description="levels 4 and 5")
    unknown: int = Field(description="no level recorded")
    donors: int = Field(description="flagged donor, whatever their level")
    by_level: dict[str, int] = Field(description='{"1": n, …, "5": n}')


class SeriesPoint(BaseModel):
    at: datetime = Field(description="start of the hour/day in the organization's time zone")
    calls: int
    visits: int
    reached: int
    mobilized: int


class AnswerCount(BaseModel):
    value: Any
    count: int


class QuestionFigures(BaseModel):
    survey_id: uuid.UUID
    question_id: str
    label: str | None = None
    answered: int
    answers: list[AnswerCount]


class SourceCount(BaseModel):
    source: str
    count: int


class ConsentCount(BaseModel):
    source: str
    channel: str
    count: int


class FigureScope(BaseModel):
    organization_id: uuid.UUID
    timezone: str
    action_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    from_: datetime | None = Field(None, alias="from")
    to: datetime | None = None
    whole_organization: bool = Field(description="false for a team leader: only their teams' work is counted")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Figures(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "scope": {
                    "organization_id": "0193a0a0-0000-7000-8000-000000000001",
                    "timezone": "Europe/Bucharest",
                    "action_id": None,
                    "team_id": None,
                    "user_id": None,
                    "from": "2026-11-30T22:00:00Z",
                    "to": "2026-12-01T22:00:00Z",
                    "whole_organization": True,
                },
                "source": "reports",
                "doors_knocked": 120,
                "calls_made": 340,
                "attempts": 460,
                "reached": 190,
                "reach_rate": 0.413,
                "mobilized": 22,
                "outcomes": {"answered": 150, "absent": 120, "opened": 40, "not_home": 80, "refused": 70},
                "support": {
                    "strong_supporters": 40,
                    "supporters": 85,
                    "undecided": 50,
                    "opposed": 20,
                    "unknown": 35,
                    "donors": 6,
                    "by_level": {"1": 40, "2": 45, "3": 50, "4": 12, "5": 8},
                },
                "opportunities_raised": 14,
                "opportunities_open": 9,
                "targets": 5000,
                "targets_left": 3200,
                "contacts_added": [{"source": "visit", "count": 12}, {"source": "import", "count": 900}],
                "consents_given": [{"source": "call", "channel": "sms", "count": 30}],
                "surveys": [
                    {
                        "survey_id": "0193a0a0-0000-7000-8000-000000000002",
                        "question_id": "topic",
                        "label": "Main topic",
                        "answered": 120,
                        "answers": [{"value": "pensions", "count": 80}, {"value": "health", "count": 40}],
                    }
                ],
                "bucket": "hour",
                "series": [
                    {"at": "2026-12-01T10:00:00+02:00", "calls": 40, "visits": 10, "reached": 22, "mobilized": 3}
                ],
            }
        }
    )

    scope: FigureScope
    source: Literal["counters", "reports"] = Field(
        description="counters: the action's live sharded counters (whole scope, all time); reports: counted from "
        "the reports of the period/scope"
    )
    doors_knocked: int
    calls_made: int
    attempts: int = Field(description="calls + doors")
    reached: int = Field(description="answered calls and opened doors")
    reach_rate: float | None = Field(description="reached / attempts, null without attempts")
    mobilized: int
    outcomes: dict[str, int]
    support: SupportSummary
    opportunities_raised: int
    opportunities_open: int = Field(description="of those raised in the period, still open or in progress")
    targets: int = Field(description="targets of the action (organization: of its scheduled and active actions)")
    targets_left: int = Field(description="pending, in progress or to call back")
    contacts_added: list[SourceCount]
    consents_given: list[ConsentCount]
    surveys: list[QuestionFigures]
    bucket: Bucket
    series: list[SeriesPoint]


class LeaderRow(BaseModel):
    rank: int
    user_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    name: str
    calls: int
    visits: int
    reached: int
    mobilized: int
    opportunities: int


class Leaderboard(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "by": "volunteers",
                "metric": "reached",
                "items": [
                    {
                        "rank": 1,
                        "user_id": "0193a0a0-0000-7000-8000-000000000003",
                        "team_id": None,
                        "name": "Ana Pop",
                        "calls": 80,
                        "visits": 0,
                        "reached": 41,
                        "mobilized": 6,
                        "opportunities": 3,
                    }
                ],
            }
        }
    )

    by: Literal["volunteers", "teams"]
    metric: Metric
    items: list[LeaderRow]
    next_cursor: str | None = None
    total: int | None = None
