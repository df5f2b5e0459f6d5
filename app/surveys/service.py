"""Surveys: built by HQ, versioned once they have answers; answers validated against the version used."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.errors import NotFound, Unprocessable
from app.models import Survey, SurveyAnswer, SurveyVersion
from app.surveys.schemas import AnswerIn, Question, QuestionResult, SurveyCreate, SurveyRead, SurveyResults


class SurveyNotFound(NotFound):
    code = "survey_not_found"
    message = "Survey not found."


class InvalidAnswers(Unprocessable):
    code = "invalid_survey_answers"
    message = "Some survey answers are invalid."


async def get(session: AsyncSession, survey_id: uuid.UUID, *, organization_id: uuid.UUID) -> Survey:
    s = await session.scalar(select(Survey).where(Survey.organization_id == organization_id, Survey.id == survey_id))
    if s is None:
        raise SurveyNotFound()
    return s


async def version(session: AsyncSession, s: Survey, v: int | None = None) -> SurveyVersion:
    sv = await session.scalar(
        select(SurveyVersion).where(
            SurveyVersion.organization_id == s.organization_id,
            SurveyVersion.survey_id == s.id,
            SurveyVersion.version == (v or s.current_version),
        )
    )
    if sv is None:
        raise Unprocessable("Unknown survey version.", details=[{"field": "survey_version", "message": "not found"}])
    return sv


async def read(session: AsyncSession, s: Survey, v: int | None = None) -> SurveyRead:
    sv = await version(session, s, v)
    return SurveyRead(
        id=s.id,
        title=s.title,
        version=sv.version,
        questions=[Question.model_validate(q) for q in sv.questions],
        created_at=s.created_at,
    )


async def list_current(session: AsyncSession, *, organization_id: uuid.UUID) -> list[SurveyRead]:
    """Every survey of the organization at its current version, in one statement."""
    rows = (
        await session.execute(
            select(Survey, SurveyVersion.questions)
            .join(
                SurveyVersion,
                (SurveyVersion.organization_id == Survey.organization_id)
                & (SurveyVersion.survey_id == Survey.id)
                & (SurveyVersion.version == Survey.current_version),
            )
            .where(Survey.organization_id == organization_id)
            .order_by(Survey.title)
        )
    ).all()
    return [
        SurveyRead(
            id=s.id,
            title=s.title,
            version=s.current_version,
            questions=[Question.model_validate(q) for q in questions],
            created_at=s.created_at,
        )
        for s, questions in rows
    ]


async def create(session: AsyncSession, body: SurveyCreate, *, actor: Principal) -> SurveyRead:
    s = Survey(
        organization_id=actor.organization_id,
        id=uuid.uuid4(),
        title=body.title,
        current_version=1,
        created_by=actor.user_id,
    )
    session.add(s)
    await session.flush()
    session.add(
        SurveyVersion(
            organization_id=s.organization_id,
            survey_id=s.id,
            version=1,
            questions=[q.model_dump(mode="json") for q in body.questions],
        )
    )
    await session.flush()
    return await read(session, s)


async def replace(session: AsyncSession, s: Survey, body: SurveyCreate) -> SurveyRead:
    """Edit in place while nobody answered; once answered, a new version (answers keep theirs)."""
    answered = await session.scalar(
        select(func.count())
        .select_from(SurveyAnswer)
        .where(
            SurveyAnswer.organization_id == s.organization_id,
            SurveyAnswer.survey_id == s.id,
            SurveyAnswer.survey_version == s.current_version,
        )
    )
    questions = [q.model_dump(mode="json") for q in body.questions]
    s.title = body.title
    if answered:
        s.current_version += 1
        session.add(
            SurveyVersion(
                organization_id=s.organization_id, survey_id=s.id, version=s.current_version, questions=questions
            )
        )
    else:
        sv = await version(session, s)
        sv.questions = questions
    await session.flush()
    return await read(session, s)


def validate_answers(
    questions: list[dict[str, Any]],
    answers: list[AnswerIn],
    *,
    field: str = "survey_answers",
) -> dict[str, Any]:
    """Types, options, ranges, required questions on the path taken through the skip logic."""
    by_id = {q["id"]: q for q in questions}
    given: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for i, a in enumerate(answers):
        q = by_id.get(a.question_id)
        if q is None:
            errors.append({"field": f"{field}.{i}.question_id", "message": "not a question of this survey"})
            continue
        if a.question_id in given:
            errors.append({"field": f"{field}.{i}.question_id", "message": "answered twice"})
            continue
        msg = _check_value(q, a.value)
        if msg:
            errors.append({"field": f"{field}.{i}.value", "message": msg})
        given[a.question_id] = a.value
    # Walk the path: required questions on it must be answered; answers off it are refused.
    on_path: set[str] = set()
    idx = 0
    while idx < len(questions):
        q = questions[idx]
        on_path.add(q["id"])
        if q["id"] not in given and q.get("required"):
            errors.append({"field": f"{field}", "message": f"question {q['id']} is required"})
        nxt = idx + 1
        for rule in q.get("skip_logic") or []:
            if q["id"] in given and given[q["id"]] == rule["equals"]:
                target = rule.get("goto_question_id")
                nxt = (
                    len(questions)
                    if target is None
                    else next((j for j, qq in enumerate(questions) if qq["id"] == target), len(questions))
                )
                break
        idx = nxt
    for qid in given:
        if qid not in on_path:
            errors.append({"field": field, "message": f"question {qid} is skipped by the answers given"})
    if errors:
        raise InvalidAnswers(details=errors)
    return given


def _check_value(q: dict[str, Any], v: Any) -> str | None:
    kind = q["kind"]
    options = {o["value"] for o in q.get("options") or []}
    if kind == "single_choice":
        return None if isinstance(v, str) and v in options else f"expected one of {sorted(options)}"
    if kind == "multiple_choice":
        return None if isinstance(v, list) and set(v) <= options else f"expected a list from {sorted(options)}"
    if kind == "text":
        return None if isinstance(v, str) and len(v) <= 2000 else "expected text (2000 characters at most)"
    if kind == "yes_no":
        return None if isinstance(v, bool) else "expected true or false"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return "expected a number"
    if kind == "scale" and not float(v).is_integer():
        return "expected a whole number"
    lo, hi = q.get("min"), q.get("max")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        return f"expected a value between {lo} and {hi}"
    return None


async def results(session: AsyncSession, s: Survey) -> SurveyResults:
    """Per question: counts per option (choices, yes/no, scale) or the mean (numbers), across versions."""
    latest = (await version(session, s)).questions
    labels = {q["id"]: q for q in latest}
    # One statement: answers per value (a multiple choice counts once, under no value), per chosen option of
    # a multiple choice, and the number of reports.
    rows = (
        await session.execute(
            text("""
        WITH a AS MATERIALIZED (
          SELECT question_id, report_id, value FROM survey_answers WHERE organization_id = :o AND survey_id = :s)
        SELECT 'value' AS kind, question_id,
               CASE WHEN jsonb_typeof(value) = 'array' THEN NULL ELSE value #>> '{}' END AS v, count(*) AS n
        FROM a GROUP BY 2, 3
        UNION ALL
        SELECT 'option', a.question_id, e, count(*) FROM a, jsonb_array_elements_text(a.value) e
        WHERE jsonb_typeof(a.value) = 'array' GROUP BY 2, 3
        UNION ALL
        SELECT 'responses', NULL, NULL, count(DISTINCT report_id) FROM a"""),
            {"o": s.organization_id, "s": s.id},
        )
    ).all()
    out: dict[str, QuestionResult] = {}
    for qid, q in labels.items():
        out[qid] = QuestionResult(
            question_id=qid,
            label=q["label"],
            kind=q["kind"],
            answers=0,
            counts={} if q["kind"] != "text" and q["kind"] != "number" else None,
        )
    sums: dict[str, float] = {}
    responses = 0
    for kind, qid, v, n in rows:
        if kind == "responses":
            responses = int(n)
            continue
        r = out.get(qid)
        if r is None:
            continue
        if kind == "option":
            if r.counts is not None:
                r.counts[v] = r.counts.get(v, 0) + n
            continue
        r.answers += n
        if r.counts is not None and v is not None:
            r.counts[v] = r.counts.get(v, 0) + n
        if r.kind in ("number", "scale") and v is not None:
            sums[qid] = sums.get(qid, 0.0) + float(v) * n
    for qid, total in sums.items():
        out[qid].mean = round(total / out[qid].answers, 3) if out[qid].answers else None
    return SurveyResults(survey_id=s.id, responses=int(responses), questions=list(out.values()))
