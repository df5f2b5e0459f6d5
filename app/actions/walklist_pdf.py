"""A turf's walk list on paper: households in walking order (app/actions/walklist.py), a box per visit outcome
to tick, rendered with fpdf2 in DejaVu Sans (embedded, subset) so that ș, ț, ă, â, î and é print as written.
Every download is audited as an export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.turfs import ensure_turf
from app.actions.walklist import Street, walklist
from app.audit import service as audit
from app.auth.principal import Principal
from app.core.errors import AppError
from app.models import Action
from app.models.statuses import VisitOutcome

Lang = Literal["en", "fr", "ro"]
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/dejavu"))
OUTCOMES = [o.value for o in VisitOutcome]

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "turf": "Turf",
        "assignee": "Volunteer",
        "printed": "Printed",
        "households": "households",
        "address": "Address",
        "name": "Name",
        "notes": "Notes",
        "not_home": "Not home",
        "opened": "Opened",
        "refused": "Refused",
        "moved": "Moved",
        "inaccessible": "Inaccessible",
        "other": "Other",
        "no_street": "(no street)",
    },
    "fr": {
        "turf": "Secteur",
        "assignee": "Bénévole",
        "printed": "Imprimé le",
        "households": "foyers",
        "address": "Adresse",
        "name": "Nom",
        "notes": "Notes",
        "not_home": "Absent",
        "opened": "Ouvert",
        "refused": "Refus",
        "moved": "A déménagé",
        "inaccessible": "Inaccessible",
        "other": "Autre",
        "no_street": "(sans rue)",
    },
    "ro": {
        "turf": "Sector",
        "assignee": "Voluntar",
        "printed": "Tipărit",
        "households": "gospodării",
        "address": "Adresă",
        "name": "Nume",
        "notes": "Note",
        "not_home": "Nu e acasă",
        "opened": "A deschis",
        "refused": "Refuz",
        "moved": "S-a mutat",
        "inaccessible": "Inaccesibil",
        "other": "Altceva",
        "no_street": "(fără stradă)",
    },
}


class FontMissing(AppError):
    status_code = 503
    code = "font_missing"
    message = "The walk-list font (DejaVu Sans, Debian package fonts-dejavu-core) is not installed on the server."


def _font_dir() -> Path:
    for d in FONT_DIRS:
        if (d / "DejaVuSans.ttf").exists() and (d / "DejaVuSans-Bold.ttf").exists():
            return d
    raise FontMissing()


def _fit(pdf: FPDF, label: str, width: float, size: float = 8.0) -> None:
    pdf.set_font("DejaVu", "B", size)
    while size > 5 and pdf.get_string_width(label) > width:
        size -= 0.5
        pdf.set_font("DejaVu", "B", size)


def render(title: str, turf_no: int, assignee: str | None, streets: list[Street], total: int, lang: Lang) -> bytes:
    L = LABELS[lang]
    fonts = _font_dir()
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"{title} - {L['turf']} {turf_no}")
    pdf.set_creator("GroundGame")
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 8, f"{title} - {L['turf']} {turf_no}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    line = f"{L['assignee']}: {assignee or '-'}   ·   {total} {L['households']}   ·   "
    line += f"{L['printed']} {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    widths = {"address": 50.0, "name": 62.0, "box": 19.0, "notes": 0.0}
    box_total = widths["box"] * len(OUTCOMES)
    widths["notes"] = pdf.epw - widths["address"] - widths["name"] - box_total

    def header() -> None:
        pdf.set_font("DejaVu", "B", 8)
        pdf.set_fill_color(235, 235, 235)
        pdf.cell(widths["address"], 7, L["address"], border=1, fill=True)
        pdf.cell(widths["name"], 7, L["name"], border=1, fill=True)
        for o in OUTCOMES:
            _fit(pdf, L[o], widths["box"] - 1.5)  # a long label ("A déménagé", "Inaccessible") shrinks to fit
            pdf.cell(widths["box"], 7, L[o], border=1, fill=True, align="C")
        pdf.set_font("DejaVu", "B", 8)
        pdf.cell(widths["notes"], 7, L["notes"], border=1, fill=True, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)

    for st in streets:
        if pdf.will_page_break(22):
            pdf.add_page()
        pdf.set_font("DejaVu", "B", 11)
        where = st.street or L["no_street"]
        pdf.cell(0, 8, f"{where}, {st.city}" if st.city else where, new_x="LMARGIN", new_y="NEXT")
        header()
        for b in st.buildings:
            addr = " ".join(x for x in (b.number, b.building) if x) or "-"
            for h in b.households:
                if pdf.will_page_break(8):
                    pdf.add_page()
                    header()
                pdf.cell(widths["address"], 8, addr, border=1)
                pdf.cell(widths["name"], 8, f"{h.first_name} {h.last_name}".strip(), border=1)
                for _ in OUTCOMES:
                    x, y = pdf.get_x(), pdf.get_y()
                    pdf.cell(widths["box"], 8, "", border=1)
                    pdf.rect(x + widths["box"] / 2 - 2, y + 2, 4, 4)  # the box to tick
                pdf.cell(widths["notes"], 8, "", border=1, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


async def walklist_pdf(session: AsyncSession, a: Action, *, actor: Principal, turf_no: int, lang: Lang) -> bytes:
    assignee = await ensure_turf(session, a, turf_no, actor=actor)
    streets: list[Street] = []
    cursor: str | None = None
    total = 0
    while True:  # every page of the turf's walk list, in walking order
        page = await walklist(
            session,
            organization_id=a.organization_id,
            action_id=a.id,
            user_id=None,
            turf_no=turf_no,
            limit=5000,
            cursor=cursor,
        )
        total = page.total
        for st in page.streets:
            if streets and streets[-1].street == st.street and streets[-1].city == st.city:
                streets[-1].buildings.extend(st.buildings)
            else:
                streets.append(st)
        cursor = page.next_cursor
        if cursor is None:
            break
    body = render(a.title, turf_no, assignee, streets, total, lang)
    await audit.record(
        session,
        actor=actor,
        action="export.walklist_pdf",
        object_type="action",
        object_id=a.id,
        details={"turf": turf_no, "households": total},
    )
    return body
