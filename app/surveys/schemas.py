from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from app.core.schemas import Int, Strict

Kind = Literal["single_choice", "multiple_choice", "text", "number", "scale", "yes_no"]
AnswerValue = str | Int | float | bool | list[str]


class Option(Strict):
    value: str = Field(min_length=1, max_length=100)
    label: str = Field(min_length=1, max_length=300)


class SkipRule(Strict):
    equals: str | Int | float | bool
    goto_question_id: str | None = Field(None, description="null = end of the survey")


class Question(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    kind: Kind
    label: str = Field(min_length=1, max_length=500)
    required: bool = False
    options: list[Option] = Field(default_factory=list, max_length=50)
    min: float | None = None
    max: float | None = None
    skip_logic: list[SkipRule] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> Question:
        if self.kind in ("single_choice", "multiple_choice") and len(self.options) < 2:
            raise ValueError("choice questions need at least two options")
        if self.kind == "scale" and (self.min is None or self.max is None):
            self.min, self.max = self.min or 1, self.max or 5
        return self


class SurveyCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    questions: list[Question] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _ids(self) -> SurveyCreate:
        ids = [q.id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError("question ids must be unique")
        for i, q in enumerate(self.questions):
            for rule in q.skip_logic:
                if rule.goto_question_id is not None and rule.goto_question_id not in ids[i + 1 :]:
                    raise ValueError(f"question {q.id}: skip logic can only jump forward to a known question")
        return self


class SurveyRead(BaseModel):
    id: uuid.UUID
    title: str
    version: int
    questions: list[Question]
    created_at: datetime


class AnswerIn(Strict):
    question_id: str = Field(max_length=64)
    value: AnswerValue


class QuestionResult(BaseModel):
    question_id: str
    label: str
    kind: str
    answers: int
    counts: dict[str, int] | None = None
    mean: float | None = None


class SurveyResults(BaseModel):
    survey_id: uuid.UUID
    responses: int
    questions: list[QuestionResult]
