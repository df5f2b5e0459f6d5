"""Capacity of a calling server: the highest rate of steps (next → start → report) it serves open loop with
p99 ≤ 150 ms and 0 errors. The load comes from bench/driver.py in its own process (its CPU is reported), at
rising rates: a coarse x1.5 climb until a rate fails, then a geometric bisection between the last rate that held
and the first that failed until they are within 4% of each other (a rate that fails is tried once more before it
counts), so two capacities compared against a 10% bar are told apart; then a 3x burst for 10 s at the capacity
rate. The same search runs against the API and against the bare app in the same run."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import asyncpg

from app.config import ROOT

P99_BAR_MS = 150.0
COARSE = 1.5
RESOLUTION = 1.04  # the search stops when the first failing rate is within 4% of the best that held
START_RATE = float(os.environ.get("BENCH_CALLING_START_RATE", "3"))
MAX_RATE = float(os.environ.get("BENCH_CALLING_MAX_RATE", "2000"))
BURST_S = 10.0


def holds(ph: dict[str, Any]) -> bool:
    """The bar for one phase: every offered step served, 0 errors, p99 ≤ 150 ms, targets left to call."""
    p99 = ph.get("p99_ms")
    return bool(
        ph["steps"] > 0
        and ph["errors"] == 0
        and ph["out_of_targets"] == 0
        and p99 is not None
        and p99 == p99  # not NaN
        and p99 <= P99_BAR_MS
    )


async def drive(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One run of the load generator process over `plan["phases"]`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.driver",
        cwd=str(ROOT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(json.dumps(plan).encode())
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {err.decode(errors='replace')[-1500:]}")
    result: list[dict[str, Any]] = json.loads(out)
    return result


async def search(base: dict[str, Any], phase_s: float, log: Any) -> dict[str, Any]:
    """Climb x1.5 until a rate fails its bar, then bisect (geometric mean) between the best rate that held and the
    lowest that failed until they are within RESOLUTION; `base` is the plan without phases (url, action, tokens,
    bodies)."""
    phases: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    failed_at: float | None = None

    async def trial(rate: float) -> tuple[bool, dict[str, Any]]:
        for attempt in (1, 2):  # one hiccup on a shared machine does not decide: a failing rate is run once more
            (ph,) = await drive({**base, "phases": [{"rate": rate, "seconds": phase_s}], "seed": len(phases) + 1})
            phases.append(ph)
            ok = holds(ph)
            log(
                f"  {rate:7.1f} steps/s offered: {ph['steps_per_s']:6.1f} served, p99 {ph['p99_ms']:.0f} ms, "
                f"{ph['errors']} errors, client {ph['client_cpu_ms_per_step']:.2f} ms CPU/step "
                f"{'ok' if ok else 'FAIL'}"
            )
            if ok or ph["out_of_targets"] or attempt == 2:
                return ok, ph
        raise AssertionError("unreachable")

    rate = START_RATE
    while rate <= MAX_RATE:
        ok, ph = await trial(rate)
        if ph["out_of_targets"]:
            break  # no more people to call: the search ends here (grow the action for higher rates)
        if not ok:
            failed_at = rate
            break
        best, rate = ph, rate * COARSE
    while best is not None and failed_at is not None and failed_at / best["rate"] > RESOLUTION:
        ok, ph = await trial((best["rate"] * failed_at) ** 0.5)
        if ph["out_of_targets"]:
            break
        if ok:
            best = ph
        else:
            failed_at = ph["rate"]
    return {
        "capacity": best["rate"] if best else 0.0,
        "failed_at": failed_at,
        "at_capacity": best,
        "phases": phases,
    }


async def burst(base: dict[str, Any], rate: float, log: Any) -> dict[str, Any]:
    """10 s at the capacity rate, 10 s at 3x, 10 s back at the capacity rate: what the burst costs and whether
    the server recovers (reported, not part of the bar)."""
    plan = {
        **base,
        "phases": [
            {"rate": rate, "seconds": BURST_S},
            {"rate": rate * 3, "seconds": BURST_S},
            {"rate": rate, "seconds": BURST_S},
        ],
        "seed": 99,
    }
    before, during, after = await drive(plan)
    log(
        f"  burst {rate * 3:.0f} steps/s for {BURST_S:.0f}s: p99 {during['p99_ms']:.0f} ms, {during['errors']} errors; "
        f"after: p99 {after['p99_ms']:.0f} ms, {after['errors']} errors"
    )
    return {"before": before, "burst": during, "after": after}


# The bare app's plans, checked: a sequential scan of action_targets (what RLS made of the old claim) fails the run.
EXPLAINED = ("NEXT", "START", "REPORT_INSERT", "REPORT_EFFECTS")


async def check_bare_plans(conn: asyncpg.Connection, org: str, action_id: str, user_id: str) -> dict[str, Any]:
    """EXPLAIN each of the bare app's statements as the app role (RLS on, tenant set), with real ids."""
    import uuid

    from bench import bare_app

    async with conn.transaction():
        await conn.execute("SELECT set_config('app.organization_id', $1, true)", org)
        target = await conn.fetchval(
            "SELECT id FROM action_targets WHERE organization_id = $1 AND action_id = $2 LIMIT 1",
            uuid.UUID(org),
            uuid.UUID(action_id),
        )
    args: dict[str, tuple[Any, ...]] = {
        "NEXT": (uuid.UUID(org), uuid.UUID(action_id), uuid.UUID(user_id)),
        "START": (uuid.UUID(org), target, uuid.UUID(user_id)),
        "REPORT_INSERT": (
            uuid.UUID(org),
            uuid.uuid4(),
            target,
            uuid.UUID(user_id),
            "answered",
            "c",
            3,
            True,
            True,
            "h",
            "{}",
        ),
        "REPORT_EFFECTS": (uuid.UUID(org), target, uuid.uuid4(), "answered", uuid.UUID(user_id), "[]", 1, "[]"),
    }
    plans: dict[str, Any] = {}
    seq_scans: list[str] = []
    for name in EXPLAINED:
        sql = getattr(bare_app, name)
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.organization_id', $1, true)", org)
            raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args[name])
        plan = json.loads(raw)[0]["Plan"]
        scans = [n for n in _nodes(plan) if n.get("Node Type") == "Seq Scan"]
        plans[name] = {"cost": plan.get("Total Cost"), "seq_scans": [n.get("Relation Name") for n in scans]}
        seq_scans += [f"{name}: {n.get('Relation Name')}" for n in scans if n.get("Relation Name") == "action_targets"]
    return {"plans": plans, "seq_scans_of_action_targets": seq_scans, "ok": not seq_scans}


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for p in plan.get("Plans", []):
        out += _nodes(p)
    return out
