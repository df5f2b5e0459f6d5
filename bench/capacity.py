"""Capacity of a calling server: the highest rate of steps (next → start → report) it serves open loop with
p99 ≤ 150 ms and 0 errors. The load comes from bench/driver.py in its own process (its CPU is reported), at
rising rates: a coarse x1.5 climb, then x1.15 steps above the last rate that held (a rate that fails is tried
once more before it counts); then a 3x burst for 10 s
at the capacity rate. The same search runs against the API and against the bare app in the same run."""

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
FINE = 1.15
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
    """Climb until a rate fails its bar; `base` is the plan without phases (url, action, tokens, bodies)."""
    phases: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    rate = START_RATE
    step = COARSE
    failed_at: float | None = None
    retried = False
    while rate <= MAX_RATE:
        (ph,) = await drive({**base, "phases": [{"rate": rate, "seconds": phase_s}], "seed": len(phases) + 1})
        phases.append(ph)
        ok = holds(ph)
        log(
            f"  {rate:7.1f} steps/s offered: {ph['steps_per_s']:6.1f} served, p99 {ph['p99_ms']:.0f} ms, "
            f"{ph['errors']} errors, client {ph['client_cpu_ms_per_step']:.2f} ms CPU/step {'ok' if ok else 'FAIL'}"
        )
        if ph["out_of_targets"]:
            break  # no more people to call: the search ends here (grow the action for higher rates)
        if not ok and not retried:
            retried = True  # one hiccup on a shared machine does not end the search: the same rate once more
            continue
        retried = False
        if ok:
            best = ph
            nxt = rate * step
            if failed_at is not None and nxt >= failed_at * 0.999:
                break
            rate = nxt
            continue
        if step == FINE or best is None:
            break
        failed_at, step = rate, FINE  # refine between the last rate that held and this one
        rate = best["rate"] * FINE
        if rate >= failed_at * 0.999:
            break
    return {"capacity": best["rate"] if best else 0.0, "at_capacity": best, "phases": phases}


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
