"""A tiny in-memory stand-in for the GroundGame API (the contract in the PWA brief), serving pwa/dist.

Used by e2e/smoke.py to drive the built PWA in Chromium before the real backend implements every
path. Not a test of the backend: the real e2e suite lives in tests/e2e/.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DIST = Path(__file__).resolve().parent.parent / "dist"
ACTION_CALL = "11111111-1111-4111-8111-111111111111"
ACTION_DOOR = "22222222-2222-4222-8222-222222222222"
SURVEY = "33333333-3333-4333-8333-333333333333"
Q1, Q2, Q3, Q4 = (f"4444444{i}-4444-4444-8444-444444444444" for i in range(1, 5))
OPP_TYPE = "55555555-5555-4555-8555-555555555555"


def _target(i: int, first: str, last: str) -> dict:
    return {
        "id": f"aaaaaaa{i}-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "contact_id": f"ccccccc{i}-cccc-4ccc-8ccc-cccccccccccc",
        "first_name": first, "last_name": last, "area": "Centre", "status": "pending", "attempts": 0,
        "callback_at": None, "last_outcome": None, "assignee_name": None,
    }


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mine = [_target(1, "Ana", "Popescu"), _target(2, "Ion", "Ionescu"), _target(3, "Maria", "Dumitru")]
        self.others = [{**_target(9, "Elena", "Stan"), "assignee_name": "Radu"}]
        self.claimed: set[str] = set()
        self.reports: dict[str, tuple[str, dict]] = {}  # id -> (body json, response)
        self.visits: dict[str, tuple[str, dict]] = {}
        self.participation: dict[str, str] = {}
        self.opportunities = [{
            "id": "66666666-6666-4666-8666-666666666666", "type_id": OPP_TYPE, "type_name": "Wants to volunteer",
            "note": "Weekends only", "status": "open", "due_at": None, "contact_id": None, "contact_name": "Ana Popescu",
        }]


STATE = State()


def action(aid: str, kind: str, title: str) -> dict:
    return {
        "id": aid, "type": kind, "title": title, "description": "", "status": "active", "survey_id": SURVEY,
        "brief": "# Welcome\nBe **kind**. <script>window.__xss = 1</script> [link](javascript:alert(1))",
        "starts_at": "2026-11-28T09:00:00+01:00", "ends_at": "2026-11-28T13:00:00+01:00",
        "meeting_point": {"label": "Piața Unirii", "lat": 46.7699, "lon": 23.5899},
        "my_participation": {"status": STATE.participation[aid], "availability": None} if aid in STATE.participation else None,
        "target_count": 3, "done_count": 0, "documents": [{"id": str(uuid.uuid4()), "name": "Script", "url": "javascript:alert(1)"}],
    }


SURVEY_BODY = {
    "id": SURVEY, "version": 1, "title": "Pensions survey", "questions": [
        {"id": Q1, "kind": "yes_no", "label": "Will you vote?", "required": True, "options": [], "min": None, "max": None,
         "skip_logic": [{"equals": False, "goto_question_id": Q4}]},
        {"id": Q2, "kind": "single_choice", "label": "Main concern", "required": True,
         "options": [{"value": "pensions", "label": "Pensions"}, {"value": "health", "label": "Health"}],
         "min": None, "max": None, "skip_logic": []},
        {"id": Q3, "kind": "scale", "label": "How likely to volunteer", "required": False, "options": [], "min": 1, "max": 5, "skip_logic": []},
        {"id": Q4, "kind": "text", "label": "Anything else", "required": False, "options": [], "min": None, "max": None, "skip_logic": []},
    ],
}

WALKLIST = {
    "streets": [{"street": "Strada Memorandumului", "city": "Cluj-Napoca", "buildings": [
        {"key": "b1", "number": "12", "lat": 46.7702, "lon": 23.5866, "households": [
            {"target_id": "bbbbbbb1-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "contact_id": str(uuid.uuid4()), "first_name": "Vasile", "last_name": "Pop", "status": "pending"},
            {"target_id": "bbbbbbb2-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "contact_id": str(uuid.uuid4()), "first_name": "Ioana", "last_name": "Pop", "status": "pending"}]},
        {"key": "b2", "number": "14", "lat": 46.7704, "lon": 23.5872, "households": [
            {"target_id": "bbbbbbb3-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "contact_id": str(uuid.uuid4()), "first_name": "Dan", "last_name": "Mureșan", "status": "done"}]},
    ]}],
    "geojson": {"type": "FeatureCollection", "features": []},
}


class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, directory=str(DIST), **kw)

    def log_message(self, *a) -> None:  # quiet
        pass

    def _json(self, status: int, body: object | None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _err(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message, "details": []}})

    def _body(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def _authed(self) -> bool:
        if self.headers.get("Authorization") != "Bearer tok":
            self._err(401, "unauthorized", "Not signed in")
            return False
        return True

    def do_GET(self) -> None:
        p = self.path.split("?")[0]
        if not p.startswith("/api/"):
            if "." not in p.rsplit("/", 1)[-1]:
                self.path = "/index.html"
            return super().do_GET()
        if p == "/api/v1/config":
            return self._json(200, {"map_tile_url": "http://127.0.0.1:9/{z}/{x}/{y}.png", "map_attribution": "none"})
        if not self._authed():
            return None
        parts = p.split("/")[3:]
        with STATE.lock:
            if parts == ["me"]:
                return self._json(200, {"id": str(uuid.uuid4()), "email": "vol@example.org", "full_name": "Vera Volunteer", "role": "volunteer",
                                        "organization": {"id": str(uuid.uuid4()), "name": "Demo", "slug": "demo", "timezone": "Europe/Bucharest", "default_region": "RO"},
                                        "teams": [{"id": str(uuid.uuid4()), "name": "Cluj"}], "two_factor_enabled": False})
            if parts == ["actions"]:
                return self._json(200, {"items": [action(ACTION_CALL, "call", "Saturday phone bank"), action(ACTION_DOOR, "door_to_door", "Canvass Centru")], "next_cursor": None})
            if len(parts) == 2 and parts[0] == "actions":
                return self._json(200, action(parts[1], "call" if parts[1] == ACTION_CALL else "door_to_door", "Saturday phone bank" if parts[1] == ACTION_CALL else "Canvass Centru"))
            if len(parts) == 4 and parts[2] == "calls":
                items = STATE.mine if parts[3] == "mine" else STATE.others
                return self._json(200, {"items": items, "next_cursor": None})
            if len(parts) == 3 and parts[2] == "walklist":
                return self._json(200, WALKLIST)
            if parts == ["surveys", SURVEY]:
                return self._json(200, SURVEY_BODY)
            if parts == ["opportunity-types"]:
                return self._json(200, [{"id": OPP_TYPE, "name": "Wants to volunteer"}])
            if parts == ["opportunities"]:
                return self._json(200, {"items": STATE.opportunities, "next_cursor": None})
        return self._err(404, "not_found", "Not found")

    def _idempotent(self, store: dict, body: dict, response: dict) -> None:
        raw = json.dumps(body, sort_keys=True)
        prev = store.get(body["id"])
        if prev and prev[0] != raw:
            return self._err(409, "idempotency_conflict", "Another record with this id exists")
        if prev:
            return self._json(200, prev[1])
        store[body["id"]] = (raw, response)
        return self._json(201, response)

    def do_POST(self) -> None:
        p = self.path.split("?")[0]
        parts = p.split("/")[3:]
        body = self._body()
        if parts == ["auth", "login"]:
            if body.get("password") != "secret":
                return self._err(401, "invalid_credentials", "Wrong email or password")
            return self._json(200, {"access_token": "tok", "token_type": "bearer", "expires_at": "2030-01-01T00:00:00Z"})
        if parts[:2] == ["auth", "invitations"]:
            return self._json(200, {"access_token": "tok", "token_type": "bearer", "expires_at": "2030-01-01T00:00:00Z"})
        if not self._authed():
            return None
        with STATE.lock:
            if parts == ["auth", "logout"]:
                return self._json(204, None)
            if len(parts) == 4 and parts[2:] == ["calls", "next"]:
                for t in STATE.mine:
                    if t["status"] == "pending" and t["id"] not in STATE.claimed:
                        STATE.claimed.add(t["id"])
                        return self._json(200, t)
                return self._err(404, "no_target_available", "No target available")
            if len(parts) == 3 and parts[0] == "calls" and parts[2] == "start":
                t = next((x for x in STATE.mine if x["id"] == parts[1]), None)
                if not t:
                    return self._err(404, "target_not_found", "Not found")
                STATE.claimed.add(t["id"])
                return self._json(200, {"target_id": t["id"], "lease_expires_at": "2030-01-01T00:00:00Z", "contact": {
                    "id": t["contact_id"], "first_name": t["first_name"], "last_name": t["last_name"],
                    "phones": [{"kind": "mobile", "e164": "+40712345678"}], "email": None, "address": "Str. Horea 3",
                    "support_level": 3, "tags": ["pensions"], "consents": {"email": "unknown", "sms": "unknown", "phone": "granted"}}})
            if len(parts) == 3 and parts[0] == "calls" and parts[2] == "report":
                t = next((x for x in STATE.mine if x["id"] == parts[1]), None)
                if t:
                    t["status"] = "done"
                return self._idempotent(STATE.reports, body, {"id": body["id"], "target_id": parts[1], "outcome": body["outcome"], "created_at": "2026-11-28T10:00:00Z"})
            if len(parts) == 3 and parts[2] == "visits":
                return self._idempotent(STATE.visits, body, {"id": body["id"], "target_id": body.get("target_id"), "outcome": body["outcome"], "contact_id": None, "created_at": "2026-11-28T10:00:00Z"})
        return self._err(404, "not_found", "Not found")

    def do_PUT(self) -> None:
        parts = self.path.split("?")[0].split("/")[3:]
        body = self._body()
        if not self._authed():
            return None
        if len(parts) == 3 and parts[2] == "participation":
            STATE.participation[parts[1]] = body["status"]
            return self._json(200, {"status": body["status"], "availability": None, "updated_at": "2026-11-22T00:00:00Z"})
        return self._err(404, "not_found", "Not found")

    def do_PATCH(self) -> None:
        parts = self.path.split("?")[0].split("/")[3:]
        body = self._body()
        if not self._authed():
            return None
        for o in STATE.opportunities:
            if parts == ["opportunities", o["id"]]:
                o["status"] = body["status"]
                return self._json(200, o)
        return self._err(404, "not_found", "Not found")


def serve(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    s = serve(8765)
    print("mock API + PWA on http://127.0.0.1:8765")
    threading.Event().wait()
