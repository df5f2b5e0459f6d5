"""Adds the volunteer-app API contract (PWA brief, issue 7) to an OpenAPI schema, for the paths and
schemas the backend does not expose yet. The backend's own definitions always win.

Usage: python3 pwa/scripts/openapi_overlay.py BACKEND_SCHEMA.json OUT.json
Prints the paths it had to add: each one is a part of the contract still missing on the server.
"""
import json
import sys

base = json.load(open(sys.argv[1]))
real_paths = set(base["paths"])
real_schemas = set(base.setdefault("components", {}).setdefault("schemas", {}))
S = dict(base["components"]["schemas"])
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def obj(props, req=None, extra=True):
    o = {"type": "object", "properties": props, "required": list(props) if req is None else req}
    return o
def nullable(s): return {"anyOf": [s, {"type": "null"}]}
def arr(s): return {"type": "array", "items": s}
def enum(*v): return {"type": "string", "enum": list(v)}
STR = {"type": "string"}; UUID = {"type": "string", "format": "uuid"}; DT = {"type": "string", "format": "date-time"}
INT = {"type": "integer"}; NUM = {"type": "number"}; BOOL = {"type": "boolean"}
def page(n):
    S[f"Page_{n}_"] = obj({"items": arr(ref(n)), "next_cursor": nullable(STR)})
    return ref(f"Page_{n}_")
S["ErrorDetail"] = obj({"field": STR, "message": STR})
S["ErrorBody"] = obj({"code": STR, "message": STR, "details": arr(ref("ErrorDetail"))}, ["code", "message"])
S["ErrorResponse"] = obj({"error": ref("ErrorBody")})
S["ConfigRead"] = obj({"map_tile_url": STR, "map_attribution": STR})
S["MeetingPoint"] = obj({"label": STR, "lat": NUM, "lon": NUM})
S["ParticipationStatus"] = enum("going", "maybe", "not_going")
S["MyParticipation"] = obj({"status": ref("ParticipationStatus"), "availability": nullable(STR)})
S["DocumentRef"] = obj({"id": UUID, "name": STR, "url": STR})
S["ActionType"] = enum("call", "door_to_door", "petition", "event", "leafleting", "digital")
S["ActionRead"] = obj({"id": UUID, "type": ref("ActionType"), "title": STR, "description": STR, "brief": STR,
  "starts_at": DT, "ends_at": DT, "meeting_point": nullable(ref("MeetingPoint")),
  "status": enum("draft", "scheduled", "active", "closed"), "survey_id": nullable(UUID),
  "my_participation": nullable(ref("MyParticipation")), "target_count": INT, "done_count": INT,
  "documents": arr(ref("DocumentRef"))})
S["ParticipationUpdate"] = obj({"status": ref("ParticipationStatus"), "availability": nullable(STR)}, ["status"])
S["ParticipationRead"] = obj({"status": ref("ParticipationStatus"), "availability": nullable(STR), "updated_at": DT})
S["TargetStatus"] = enum("pending", "in_progress", "callback", "done")
S["CallTargetRead"] = obj({"id": UUID, "contact_id": UUID, "first_name": STR, "last_name": STR, "area": STR,
  "status": ref("TargetStatus"), "attempts": INT, "callback_at": nullable(DT), "last_outcome": nullable(STR), "assignee_name": nullable(STR)})
CONS = enum("granted", "withdrawn", "unknown")
S["ContactConsents"] = obj({"email": CONS, "sms": CONS, "phone": CONS})
S["Phone"] = obj({"kind": enum("mobile", "home"), "e164": STR})
S["ContactCard"] = obj({"id": UUID, "first_name": STR, "last_name": STR, "phones": arr(ref("Phone")), "email": nullable(STR),
  "address": nullable(STR), "support_level": nullable({"type": "integer", "minimum": 1, "maximum": 5}), "tags": arr(STR), "consents": ref("ContactConsents")})
S["CallStartRead"] = obj({"target_id": UUID, "lease_expires_at": DT, "contact": ref("ContactCard")})
VAL = {"anyOf": [STR, NUM, BOOL, arr(STR)]}
S["SurveyAnswer"] = obj({"question_id": UUID, "value": VAL})
CW = enum("granted", "withdrawn")
S["ConsentUpdates"] = obj({"email": CW, "sms": CW, "phone": CW}, [])
S["ContactUpdates"] = obj({"email": STR, "mobile": STR, "support_level": {"type": "integer", "minimum": 1, "maximum": 5},
  "tags_add": arr(STR), "consents": ref("ConsentUpdates")}, [])
S["OpportunityCreate"] = obj({"type_id": UUID, "note": STR}, ["type_id"])
S["CallOutcome"] = enum("refused", "absent", "answered", "callback", "wrong_number", "do_not_call", "other")
common = {"survey_answers": arr(ref("SurveyAnswer")), "contact_updates": ref("ContactUpdates"), "comment": STR,
  "quality": {"type": "integer", "minimum": 1, "maximum": 5}, "mobilized": BOOL, "opportunities": arr(ref("OpportunityCreate"))}
S["CallReportCreate"] = obj({"id": UUID, "outcome": ref("CallOutcome"), "outcome_text": STR, "callback_at": DT, "consent_given": BOOL, **common}, ["id", "outcome"])
S["CallReportRead"] = obj({"id": UUID, "target_id": UUID, "outcome": ref("CallOutcome"), "created_at": DT})
S["SkipRule"] = obj({"equals": VAL, "goto_question_id": nullable(UUID)})
S["SurveyOption"] = obj({"value": STR, "label": STR})
S["SurveyQuestion"] = obj({"id": UUID, "kind": enum("single_choice", "multiple_choice", "text", "number", "scale", "yes_no"), "label": STR,
  "required": BOOL, "options": arr(ref("SurveyOption")), "min": nullable(NUM), "max": nullable(NUM), "skip_logic": arr(ref("SkipRule"))})
S["SurveyRead"] = obj({"id": UUID, "version": INT, "title": STR, "questions": arr(ref("SurveyQuestion"))})
S["Household"] = obj({"target_id": UUID, "contact_id": UUID, "first_name": STR, "last_name": STR, "status": ref("TargetStatus")})
S["Building"] = obj({"key": STR, "number": STR, "lat": NUM, "lon": NUM, "households": arr(ref("Household"))})
S["Street"] = obj({"street": STR, "city": STR, "buildings": arr(ref("Building"))})
S["PointFeature"] = obj({"type": {"type": "string", "const": "Feature"}, "geometry": obj({"type": {"type": "string", "const": "Point"}, "coordinates": arr(NUM)}),
  "properties": obj({"target_id": nullable(UUID), "building_key": STR})})
S["FeatureCollection"] = obj({"type": {"type": "string", "const": "FeatureCollection"}, "features": arr(ref("PointFeature"))})
S["WalkListRead"] = obj({"streets": arr(ref("Street")), "geojson": ref("FeatureCollection")})
S["NewContact"] = obj({"first_name": STR, "last_name": STR, "mobile": STR, "email": STR, "consent_data_processing": BOOL, "consents": ref("ConsentUpdates")}, ["first_name", "last_name", "consent_data_processing"])
S["VisitOutcome"] = enum("not_home", "opened", "refused", "moved", "inaccessible", "other")
S["VisitCreate"] = obj({"id": UUID, "target_id": UUID, "outcome": ref("VisitOutcome"), "outcome_text": STR, **common, "new_contact": ref("NewContact")}, ["id", "outcome"])
S["VisitRead"] = obj({"id": UUID, "target_id": nullable(UUID), "outcome": ref("VisitOutcome"), "contact_id": nullable(UUID), "created_at": DT})
S["OpportunityTypeRead"] = obj({"id": UUID, "name": STR})
S["OpportunityStatus"] = enum("open", "in_progress", "done", "dropped")
S["OpportunityRead"] = obj({"id": UUID, "type_id": UUID, "type_name": STR, "note": nullable(STR), "status": ref("OpportunityStatus"),
  "due_at": nullable(DT), "contact_id": nullable(UUID), "contact_name": nullable(STR)})
S["OpportunityUpdate"] = obj({"status": ref("OpportunityStatus")}, [])

ERR = {"description": "Error", "content": {"application/json": {"schema": ref("ErrorResponse")}}}
def ok(schema, code="200"):
    r = {code: {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    for c in ("401", "404", "409", "422", "429"): r[c] = ERR
    return r
def pp(name): return {"in": "path", "name": name, "required": True, "schema": UUID}
def body(n): return {"required": True, "content": {"application/json": {"schema": ref(n)}}}
def op(oid, tag, resp, params=(), req=None, sec=True, query=()):
    o = {"operationId": oid, "tags": [tag], "responses": resp, "parameters": list(params) + list(query)}
    if req: o["requestBody"] = body(req)
    if sec: o["security"] = [{"HTTPBearer": []}]
    return o
P: dict = {}
V = "/api/v1"
P[V + "/config"] = {"get": op("config-read", "config", ok(ref("ConfigRead")), sec=False)}
page_q = [{"in": "query", "name": "limit", "required": False, "schema": INT}, {"in": "query", "name": "cursor", "required": False, "schema": STR}]
P[V + "/actions"] = {"get": op("actions-list", "actions", ok(page("ActionRead")), query=[{"in": "query", "name": "mine", "required": False, "schema": BOOL}] + page_q)}
P[V + "/actions/{action_id}"] = {"get": op("actions-read", "actions", ok(ref("ActionRead")), [pp("action_id")])}
P[V + "/actions/{action_id}/participation"] = {"put": op("actions-participation-update", "actions", ok(ref("ParticipationRead")), [pp("action_id")], "ParticipationUpdate")}
P[V + "/actions/{action_id}/calls/mine"] = {"get": op("calls-mine", "calling", ok(page("CallTargetRead")), [pp("action_id")], query=page_q)}
P[V + "/actions/{action_id}/calls/others"] = {"get": op("calls-others", "calling", ok({"$ref": "#/components/schemas/Page_CallTargetRead_"}), [pp("action_id")], query=page_q)}
P[V + "/actions/{action_id}/calls/next"] = {"post": op("calls-next", "calling", ok(ref("CallTargetRead")), [pp("action_id")])}
P[V + "/calls/{target_id}/start"] = {"post": op("calls-start", "calling", ok(ref("CallStartRead")), [pp("target_id")])}
P[V + "/calls/{target_id}/report"] = {"post": op("calls-report", "calling", ok(ref("CallReportRead"), "201") | {"200": {"description": "Replay", "content": {"application/json": {"schema": ref("CallReportRead")}}}}, [pp("target_id")], "CallReportCreate")}
P[V + "/surveys/{survey_id}"] = {"get": op("surveys-read", "surveys", ok(ref("SurveyRead")), [pp("survey_id")])}
P[V + "/actions/{action_id}/walklist"] = {"get": op("canvassing-walklist", "canvassing", ok(ref("WalkListRead")), [pp("action_id")])}
P[V + "/actions/{action_id}/visits"] = {"post": op("canvassing-visits-create", "canvassing", ok(ref("VisitRead"), "201") | {"200": {"description": "Replay", "content": {"application/json": {"schema": ref("VisitRead")}}}}, [pp("action_id")], "VisitCreate")}
P[V + "/opportunity-types"] = {"get": op("opportunity-types-list", "opportunities", ok(arr(ref("OpportunityTypeRead"))))}
P[V + "/opportunities"] = {"get": op("opportunities-list", "opportunities", ok(page("OpportunityRead")), query=[{"in": "query", "name": "mine", "required": False, "schema": BOOL}] + page_q)}
P[V + "/opportunities/{opportunity_id}"] = {"patch": op("opportunities-update", "opportunities", ok(ref("OpportunityRead")), [pp("opportunity_id")], "OpportunityUpdate")}
added = sorted(p for p in P if p not in real_paths)
for p in added:
    base["paths"][p] = P[p]
for name, schema in S.items():
    if name not in real_schemas:
        base["components"]["schemas"][name] = schema
base.setdefault("components", {}).setdefault("securitySchemes", {}).setdefault("HTTPBearer", {"type": "http", "scheme": "bearer"})
with open(sys.argv[2], "w") as f:
    json.dump(base, f, indent=2, sort_keys=True)
    f.write("\n")
for p in added:
    print(f"contract path added (missing on the backend): {p}")

