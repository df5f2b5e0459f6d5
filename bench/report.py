"""Result rows, the printed table and bench/results.json."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.config import ROOT

RESULTS = ROOT / "bench" / "results.json"


@dataclass
class Row:
    workload: str
    metric: str
    figure: float | None = None
    reference: float | None = None
    unit: str = ""
    ratio: float | None = None
    bar: str = ""
    passed: bool | None = None  # None: not judged (not available, or informational)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    correct: bool | None = None  # the correctness part of the bar alone (same set, 0 rows added…)

    @property
    def status(self) -> str:
        if self.passed is None:
            return "n/a" if self.figure is None else "info"
        return "PASS" if self.passed else "FAIL"


def unavailable(
    workload: str,
    metric: str,
    reason: str,
    *,
    reference: float | None = None,
    unit: str = "",
    bar: str = "",
    details: dict[str, Any] | None = None,
) -> Row:
    return Row(workload, metric, None, reference, unit, None, bar, None, f"not available yet: {reason}", details or {})


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit in ("ms",):
        return f"{v:,.1f} ms"
    if unit == "s":
        return f"{v:,.2f} s"
    if unit in ("rows/s", "req/s", "steps/s"):
        return f"{v:,.0f} {unit}"
    if unit in ("B", "bytes"):
        return f"{v / 1024:,.1f} kB"
    if unit == "MB":
        return f"{v:,.0f} MB"
    if float(v).is_integer():
        return f"{int(v):,} {unit}".strip()
    return f"{v:,.2f} {unit}".strip()


def _ratio_bar(r: float | None, width: int = 12) -> str:
    if r is None:
        return ""
    n = max(0, min(width, round(r * width / 4)))
    return "█" * n + ("▸" if r > 4 else "")


def table(rows: list[Row]) -> str:
    head = ["workload", "metric", "figure", "reference", "ratio", "", "bar", "result"]
    body = []
    for r in rows:
        body.append(
            [
                r.workload,
                r.metric,
                _fmt(r.figure, r.unit),
                _fmt(r.reference, r.unit),
                "—" if r.ratio is None else f"{r.ratio:.2f}x",
                _ratio_bar(r.ratio),
                r.bar,
                r.status,
            ]
        )
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) if body else len(head[i]) for i in range(len(head))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), "-+-".join("-" * w for w in widths)]
    for b, r in zip(body, rows, strict=True):
        lines.append(" | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)))
        if r.note:
            lines.append(" " * (widths[0] + 3) + "↳ " + r.note)
    return "\n".join(lines)


def markdown(rows: list[Row]) -> str:
    out = ["| workload | metric | figure | reference | ratio | bar | result |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}x"
        res = r.status + (f" ({r.note})" if r.note and r.passed is None and r.figure is None else "")
        out.append(
            f"| {r.workload} | {r.metric} | {_fmt(r.figure, r.unit)} | {_fmt(r.reference, r.unit)} | "
            f"{ratio} | {r.bar} | {res} |"
        )
    return "\n".join(out)


def write(rows: list[Row], meta: dict[str, Any], path: Path = RESULTS) -> None:
    doc = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        **meta,
        "rows": [{**asdict(r), "status": r.status} for r in rows],
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
