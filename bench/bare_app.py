"""The calling reference: a bare Starlette + asyncpg app serving the same three calls as the API
(next → start → report) on the same tables, with hand-written SQL and nothing else (no ORM, no validation layer,
no middleware). Run by the bench under uvicorn with the same number of workers as the real API:

    BARE_DSN=postgresql://groundgame_app:…@127.0.0.1:PORT/db uvicorn bench.bare_app:app --workers 4

Per call: auth = 2 statements (token → user + organization, setting the tenant; membership), then the work:
  next:   claim = UPDATE … WHERE id = (SELECT coalesce(mine, pool)) (each SELECT … FOR UPDATE SKIP LOCKED)
          RETURNING. The scalar subquery matters: `id = COALESCE((SELECT …), (SELECT …))` is not an index
          condition once row-level security wraps the table, and became a sequential scan of every target (the
          bench EXPLAINs these statements as the app role and fails the run on such a scan).
  start:  lease + phone reveal in one statement (UPDATE … RETURNING joined to contacts), audit row
  report: idempotent insert of the report (ON CONFLICT DO NOTHING), then target + answers + event + opportunities +
          counter in one statement (data-modifying CTEs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

AUTH = """
SELECT t.user_id, t.organization_id, set_config('app.organization_id', t.organization_id::text, true)
FROM auth_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.is_active
"""
ROLE = "SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2"
NEXT = """
WITH mine AS (
    SELECT id FROM action_targets
    WHERE organization_id = $1 AND action_id = $2 AND assignee_user_id = $3 AND status IN ('pending', 'callback')
      AND (available_at IS NULL OR available_at <= now()) AND (lease_expires_at IS NULL OR lease_expires_at < now())
    ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED),
pool AS (
    SELECT id FROM action_targets
    WHERE organization_id = $1 AND action_id = $2 AND assignee_user_id IS NULL AND status IN ('pending', 'callback')
      AND (available_at IS NULL OR available_at <= now()) AND (lease_expires_at IS NULL OR lease_expires_at < now())
    ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE action_targets t SET lease_user_id = $3, lease_expires_at = now() + interval '15 minutes',
       status = 'in_progress'
WHERE t.organization_id = $1 AND t.id = (SELECT COALESCE((SELECT id FROM mine), (SELECT id FROM pool)))
RETURNING t.id, t.contact_id
"""
START = """
WITH t AS (
  UPDATE action_targets SET lease_expires_at = now() + interval '15 minutes', last_attempt_at = now()
  WHERE organization_id = $1 AND id = $2 AND lease_user_id = $3 AND lease_expires_at > now()
  RETURNING contact_id)
SELECT c.id, c.first_name, c.last_name, c.mobile_e164, c.home_e164
FROM t JOIN contacts c ON c.organization_id = $1 AND c.id = t.contact_id
"""
AUDIT = """
INSERT INTO audit_log (organization_id, actor_user_id, action, object_type, object_id, details)
VALUES ($1, $2, 'contact.phone_revealed', 'contact', $3, $4::jsonb)
"""
REPORT_INSERT = """
INSERT INTO field_reports (organization_id, id, kind, action_id, target_id, contact_id, user_id, outcome, comment,
                           quality, mobilized, consent_given, request_hash, response)
SELECT $1, $2, 'call', t.action_id, t.id, t.contact_id, $4, $5, $6, $7, $8, $9, $10, $11::jsonb
FROM action_targets t WHERE t.organization_id = $1 AND t.id = $3 AND t.lease_user_id = $4
ON CONFLICT (organization_id, id) DO NOTHING
RETURNING action_id, contact_id
"""
REPORT_EFFECTS = """
WITH tgt AS (
  UPDATE action_targets SET status = 'done', attempts = attempts + 1, last_outcome = $4, lease_user_id = NULL,
         lease_expires_at = NULL
  WHERE organization_id = $1 AND id = $2 RETURNING action_id, contact_id),
ans AS (
  INSERT INTO survey_answers (organization_id, report_id, question_id, survey_id, survey_version, contact_id, value)
  SELECT $1, $3, a->>'question_id', ac.survey_id, $7, tgt.contact_id, a->'value'
  FROM tgt JOIN actions ac ON ac.organization_id = $1 AND ac.id = tgt.action_id,
       jsonb_array_elements($6::jsonb) a
  WHERE ac.survey_id IS NOT NULL),
ev AS (
  INSERT INTO contact_events (organization_id, contact_id, kind, actor_user_id, action_id, summary)
  SELECT $1, contact_id, 'call', $5, action_id, $4 FROM tgt),
opp AS (
  INSERT INTO opportunities (organization_id, type_id, contact_id, action_id, report_id, note, created_by)
  SELECT $1, (o->>'type_id')::uuid, (SELECT contact_id FROM tgt), (SELECT action_id FROM tgt), $3, o->>'note', $5
  FROM jsonb_array_elements($8::jsonb) o),
cnt AS (
  INSERT INTO action_counters (organization_id, action_id, key, shard, value)
  SELECT $1, action_id, 'outcome:' || $4, (hashtext($3::text) & 7)::smallint, 1 FROM tgt
  ON CONFLICT (organization_id, action_id, key, shard) DO UPDATE SET value = action_counters.value + 1)
SELECT 1
"""

_pool: asyncpg.Pool | None = None


async def startup() -> None:
    global _pool
    _pool = await asyncpg.create_pool(
        os.environ["BARE_DSN"], min_size=2, max_size=int(os.environ.get("BARE_POOL", "20")), reset=_no_reset
    )


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """Every request runs in its own transaction and sets nothing outside it: no RESET ALL round trip."""


async def shutdown() -> None:
    if _pool is not None:
        await _pool.close()


def _token(request: Request) -> str:
    h = request.headers.get("authorization", "")
    return hashlib.sha256(h.removeprefix("Bearer ").encode()).hexdigest()


async def _auth(conn: asyncpg.Connection, request: Request) -> asyncpg.Record | None:
    """Token → user and organization (tenant set in the same statement), then the membership (under RLS)."""
    me = await conn.fetchrow(AUTH, _token(request))
    if me is None or await conn.fetchval(ROLE, me["organization_id"], me["user_id"]) is None:
        return None
    return me


def _err(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": code, "details": []}}, status_code=status)


async def next_target(request: Request) -> Response:
    assert _pool is not None
    async with _pool.acquire() as conn, conn.transaction():
        me = await _auth(conn, request)
        if me is None:
            return _err(401, "unauthorized")
        row = await conn.fetchrow(
            NEXT, me["organization_id"], uuid.UUID(request.path_params["action_id"]), me["user_id"]
        )
    if row is None:
        return Response(status_code=204)
    return JSONResponse({"target_id": str(row["id"]), "contact_id": str(row["contact_id"])})


async def start_call(request: Request) -> Response:
    assert _pool is not None
    async with _pool.acquire() as conn, conn.transaction():
        me = await _auth(conn, request)
        if me is None:
            return _err(401, "unauthorized")
        row = await conn.fetchrow(
            START, me["organization_id"], uuid.UUID(request.path_params["target_id"]), me["user_id"]
        )
        if row is None:
            return _err(404, "target_not_found")
        await conn.execute(
            AUDIT,
            me["organization_id"],
            me["user_id"],
            str(row["id"]),
            json.dumps({"target_id": request.path_params["target_id"]}),
        )
    return JSONResponse(
        {
            "target_id": request.path_params["target_id"],
            "contact_id": str(row["id"]),
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "phones": [p for p in (row["mobile_e164"], row["home_e164"]) if p],
        }
    )


async def report(request: Request) -> Response:
    assert _pool is not None
    raw = await request.body()
    body: dict[str, Any] = json.loads(raw)
    digest = hashlib.sha256(raw).hexdigest()
    rid = uuid.UUID(body["id"])
    tid = uuid.UUID(request.path_params["target_id"])
    response = {"id": str(rid), "target_id": str(tid), "outcome": body["outcome"]}
    async with _pool.acquire() as conn, conn.transaction():
        me = await _auth(conn, request)
        if me is None:
            return _err(401, "unauthorized")
        ins = await conn.fetchrow(
            REPORT_INSERT,
            me["organization_id"],
            rid,
            tid,
            me["user_id"],
            body["outcome"],
            body.get("comment"),
            body.get("quality"),
            body.get("mobilized"),
            body.get("consent_given"),
            digest,
            json.dumps(response),
        )
        if ins is None:  # a replay (or not my lease): the first response, or 409 on a different body
            prev = await conn.fetchrow(
                "SELECT request_hash, response FROM field_reports WHERE organization_id = $1 AND id = $2",
                me["organization_id"],
                rid,
            )
            if prev is None:
                return _err(404, "target_not_found")
            if prev["request_hash"] != digest:
                return _err(409, "idempotency_conflict")
            return JSONResponse(json.loads(prev["response"]))
        await conn.execute(
            REPORT_EFFECTS,
            me["organization_id"],
            tid,
            rid,
            body["outcome"],
            me["user_id"],
            json.dumps(body.get("survey_answers") or []),
            body.get("survey_version") or 1,
            json.dumps(body.get("opportunities") or []),
        )
    return JSONResponse(response, status_code=201)


@contextlib.asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    await startup()
    try:
        yield
    finally:
        await shutdown()


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/api/v1/actions/{action_id}/calls/next", next_target, methods=["POST"]),
        Route("/api/v1/calls/{target_id}/start", start_call, methods=["POST"]),
        Route("/api/v1/calls/{target_id}/report", report, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ],
    lifespan=lifespan,
)
