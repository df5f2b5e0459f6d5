"""PWA: initial JS gzip size of the production builds (pwa/scripts/size.mjs): volunteer app bar 150 kB, HQ console
(dist/hq/, the map loaded on demand) bar 300 kB."""

from __future__ import annotations

import asyncio
import json
import shutil

from app.config import ROOT
from bench.context import Ctx
from bench.report import Row, unavailable

BAR_BYTES = 150 * 1024
HQ_BAR_BYTES = 300 * 1024


async def run(ctx: Ctx) -> list[Row]:
    script = ROOT / "pwa" / "scripts" / "size.mjs"
    metric = "PWA initial JS (gzip)"
    bar = "<= 150 kB"
    if not script.exists():
        return [unavailable("pwa", metric, "pwa/scripts/size.mjs does not exist", bar=bar)]
    if not (ROOT / "pwa" / "dist" / "index.html").exists():
        return [unavailable("pwa", metric, "pwa/dist is not built (make pwa)", bar=bar)]
    node = shutil.which("node")
    if node is None:
        return [unavailable("pwa", metric, "node is not installed", bar=bar)]
    proc = await asyncio.create_subprocess_exec(
        node, str(script), "--verbose", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        return [Row("pwa", metric, None, None, "B", None, bar, False, f"size.mjs failed: {err.decode()[:200]}")]
    data = json.loads(out.decode().strip().splitlines()[-1])
    n = int(data["initial_js_gzip_bytes"])
    rows = [
        Row(
            "pwa",
            metric,
            n,
            BAR_BYTES,
            "B",
            n / BAR_BYTES,
            bar,
            n <= BAR_BYTES,
            f"{len(data.get('files', {}))} initial script(s)",
            {"files": data.get("files", {})},
        )
    ]
    if "hq_initial_js_gzip_bytes" in data:
        h = int(data["hq_initial_js_gzip_bytes"])
        rows.append(
            Row(
                "pwa",
                "HQ console initial JS (gzip)",
                h,
                HQ_BAR_BYTES,
                "B",
                h / HQ_BAR_BYTES,
                "<= 300 kB",
                h <= HQ_BAR_BYTES,
                f"{len(data.get('hq_files') or {})} initial script(s), map on demand",
                {"files": data.get("hq_files") or {}},
            )
        )
    return rows
