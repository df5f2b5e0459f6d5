"""Splitting targets: round-robin (balanced to within one), geographic turfs (k-means), manual, unassign.
All set-based: one UPDATE per strategy, never a row per loop iteration."""

from __future__ import annotations

import math
import uuid

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.schemas import Assignment, AssignResult
from app.core.errors import Unprocessable
from app.models import Action, ActionVolunteer, TeamMember
from app.push import triggers as push


async def resolve_volunteers(session: AsyncSession, org: uuid.UUID, a: Assignment) -> list[uuid.UUID]:
    """The volunteers named, then the members of the teams named (ids checked by the caller, through
    app/auth/references.py)."""
    ids = list(dict.fromkeys(a.volunteer_ids))
    if a.team_ids:
        members = (
            await session.scalars(
                select(TeamMember.user_id)
                .where(TeamMember.organization_id == org, TeamMember.team_id.in_(a.team_ids))
                .order_by(TeamMember.user_id)
            )
        ).all()
        ids += [m for m in members if m not in ids]
    return ids


async def _add_volunteers(session: AsyncSession, org: uuid.UUID, action_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    if ids:
        added = await session.scalars(
            pg_insert(ActionVolunteer)
            .values([{"organization_id": org, "action_id": action_id, "user_id": u} for u in ids])
            .on_conflict_do_nothing()
            .returning(ActionVolunteer.user_id)
        )
        title = await session.scalar(select(Action.title).where(Action.organization_id == org, Action.id == action_id))
        push.action_assigned(session, org, action_id, title or "", list(added))


async def assign(session: AsyncSession, action: Action, a: Assignment) -> AssignResult:
    org, aid = action.organization_id, action.id
    p: dict[str, object] = {"o": org, "a": aid}
    turfs = 0
    if a.strategy == "unassign":
        await session.execute(
            text(
                "UPDATE action_targets SET assignee_user_id = NULL, turf_no = NULL "
                "WHERE organization_id = :o AND action_id = :a AND status <> 'done'"
            ),
            p,
        )
    elif a.strategy == "manual":
        if not a.target_ids:
            raise Unprocessable("Give the targets to move.", details=[{"field": "target_ids", "message": "empty"}])
        if a.user_id is not None:
            await _add_volunteers(session, org, aid, [a.user_id])
        res = await session.execute(
            text(
                "UPDATE action_targets SET assignee_user_id = :u WHERE organization_id = :o AND action_id = :a "
                "AND id = ANY(:ids)"
            ),
            {**p, "u": a.user_id, "ids": a.target_ids},
        )
        if res.rowcount != len(set(a.target_ids)):  # type: ignore[attr-defined]
            raise Unprocessable(
                "Some targets are not in this action.", details=[{"field": "target_ids", "message": "not found"}]
            )
    else:
        vols = await resolve_volunteers(session, org, a)
        if not vols:
            raise Unprocessable("Nobody to assign to.", details=[{"field": "volunteer_ids", "message": "empty"}])
        await _add_volunteers(session, org, aid, vols)
        scope = "AND assignee_user_id IS NULL" if a.only_unassigned else ""
        if a.strategy == "round_robin":
            await session.execute(
                text(f"""
                UPDATE action_targets t SET assignee_user_id = (CAST(:v AS uuid[]))[(r.rn - 1) % :n + 1]
                FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM action_targets
                      WHERE organization_id = :o AND action_id = :a AND status <> 'done' {scope}) r
                WHERE t.organization_id = :o AND t.id = r.id"""),  # noqa: S608 - scope is a constant clause
                {**p, "v": vols, "n": len(vols)},
            )
        else:
            turfs = await _turfs(session, action, vols, a, scope)
    rows = (
        await session.execute(
            text(
                "SELECT assignee_user_id, count(*) FROM action_targets WHERE organization_id = :o AND action_id = :a "
                "GROUP BY 1"
            ),
            p,
        )
    ).all()
    per = {str(u): int(n) for u, n in rows if u is not None}
    return AssignResult(
        assigned=sum(per.values()), unassigned=sum(int(n) for u, n in rows if u is None), per_volunteer=per, turfs=turfs
    )


async def _turfs(session: AsyncSession, action: Action, vols: list[uuid.UUID], a: Assignment, scope: str) -> int:
    """Cut turfs of about `doors_per_turf` doors with ST_ClusterKMeans over the doors (distinct addresses),
    then hand turfs to volunteers (or pairs) round-robin."""
    p: dict[str, object] = {"o": action.organization_id, "a": action.id}
    doors = (
        await session.scalar(
            text(f"""
        SELECT count(DISTINCT c.location) FROM action_targets t
        JOIN contacts c ON c.organization_id = t.organization_id AND c.id = t.contact_id
        WHERE t.organization_id = :o AND t.action_id = :a AND c.location IS NOT NULL
              {scope.replace("assignee", "t.assignee")}"""),  # noqa: S608 - scope is a constant clause
            p,
        )
    ) or 0
    if doors == 0:
        return 0
    k = max(1, math.ceil(doors / a.doors_per_turf))
    groups = [vols[i : i + 2] for i in range(0, len(vols), 2)] if a.pairs else [[v] for v in vols]
    leads = [g[0] for g in groups]
    partners = [g[1] if len(g) > 1 else None for g in groups]
    await session.execute(text("DELETE FROM turfs WHERE organization_id = :o AND action_id = :a"), p)
    await session.execute(
        text(f"""
        WITH doors AS (
          SELECT DISTINCT c.location AS geom FROM action_targets t
          JOIN contacts c ON c.organization_id = t.organization_id AND c.id = t.contact_id
          WHERE t.organization_id = :o AND t.action_id = :a AND c.location IS NOT NULL
                {scope.replace("assignee", "t.assignee")}),
        clustered AS (SELECT geom, ST_ClusterKMeans(geom, LEAST(:k, (SELECT count(*) FROM doors)::int)) OVER () AS cid
                      FROM doors),
        turf AS (SELECT cid, dense_rank() OVER (ORDER BY min(ST_X(geom)), cid) AS turf_no FROM clustered GROUP BY cid)
        UPDATE action_targets t SET turf_no = turf.turf_no,
               assignee_user_id = (CAST(:leads AS uuid[]))[(turf.turf_no - 1) % :g + 1]
        FROM contacts c, clustered cl, turf
        WHERE t.organization_id = :o AND t.action_id = :a AND c.organization_id = t.organization_id
          AND c.id = t.contact_id AND cl.geom = c.location AND turf.cid = cl.cid"""),  # noqa: S608 - scope is a constant clause
        {**p, "k": k, "leads": leads, "g": len(groups)},
    )
    await session.execute(
        text("""
        INSERT INTO turfs (organization_id, action_id, turf_no, assignee_user_id, partner_user_id, door_count)
        SELECT :o, :a, t.turf_no, (CAST(:leads AS uuid[]))[(t.turf_no - 1) % :g + 1],
               (CAST(:partners AS uuid[]))[(t.turf_no - 1) % :g + 1], count(DISTINCT c.location)
        FROM action_targets t JOIN contacts c ON c.organization_id = t.organization_id AND c.id = t.contact_id
        WHERE t.organization_id = :o AND t.action_id = :a AND t.turf_no IS NOT NULL GROUP BY t.turf_no"""),
        {**p, "leads": leads, "partners": partners, "g": len(groups)},
    )
    return int(k)
