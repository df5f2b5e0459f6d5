"""dashboard rollups: hourly sums of the reports, survey answers, contacts added and consents given; the people
reached by their current support level; the open targets of each action. Kept by statement-level triggers

The organization dashboard used to scan the reports, contacts and consents of a period (1.5 s at 1M). Every figure
is now a sum over small rollup rows, kept in the writer's transaction by AFTER … FOR EACH STATEMENT triggers that
aggregate the statement's transition tables (one upsert per distinct key, whatever the number of rows: an import's
1M-row insert is one aggregate), so the figures equal a recount the moment a write commits.

- report_rollups: (organization, UTC hour of recorded_at, action, user, kind, outcome) → reports, mobilized. The
  key holds the user, so concurrent reports of different volunteers never meet on a row.
- survey_rollups: (organization, hour, action, user of the report, survey, question, value) → answers. Answers
  deleted by their report's cascade fire their trigger after the reports' (the foreign key queues it behind), when
  the reports are gone: the reports' delete trigger keeps their keys in a temporary table emptied at commit.
- contact_rollups (created_at, created_by, source) and consent_rollups (granted rows: recorded_at, recorded_by,
  source, channel); a null user is stored as the nil uuid. Contacts and consents span years (imports bring their
  history): each also has a per-UTC-day table (…_daily), which serves a period's whole days. Their `shard` is the
  writer's backend: every petition signer (no user, source "petition") adds to the same hour, and a signature in
  flight must hold up no other signer.
- contact_reach: each reached person's (person_id: a contact's id) last reach (max recorded_at of their answered
  or opened reports) with their current support level and donor flag (kept by the contacts' update trigger);
  reach_rollups counts them by (UTC hour of the last reach, level, donor) on 16 shards. "People reached since t" = contacts whose last reach is ≥ t.
- target_rollups: open targets (pending, in_progress, callback) per action, on 16 shards.

The shards of past hours (and the open targets' shards) are folded into shard 0 by the worker's nightly
gg_dashboard_rollups_compact(before), so a rollup keeps about one row per key and hour, whatever the writers were.

gg_dashboard_rollups_rebuild(org) recomputes an organization's rollups from its rows: the backfill here, and the
bench's seeds, which insert with session_replication_role = replica (no triggers), call it.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 21:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NIL = "'00000000-0000-0000-0000-000000000000'::uuid"
REACHED = "('answered', 'opened')"
OPEN = "('pending', 'in_progress', 'callback')"
SHARDS = 16
SHARD = f"floor(random() * {SHARDS})::smallint"  # a random shard for each row written
# Contacts and consents: the writer's backend, so that two transactions in flight never write the same row (each
# session runs one at a time); the rows of an hour or day are as many as the sessions that wrote in it.
BACKEND = "pg_backend_pid()"
TENANT = "organization_id = NULLIF(current_setting('app.organization_id', true), '')::uuid"

TABLES = [
    """CREATE TABLE report_rollups (
        organization_id uuid NOT NULL, hour_at timestamptz NOT NULL, action_id uuid NOT NULL, user_id uuid NOT NULL,
        kind varchar(5) NOT NULL, outcome varchar(20) NOT NULL,
        reports bigint NOT NULL DEFAULT 0, mobilized bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_report_rollups PRIMARY KEY (organization_id, hour_at, action_id, user_id, kind, outcome))""",
    """CREATE TABLE survey_rollups (
        organization_id uuid NOT NULL, hour_at timestamptz NOT NULL, action_id uuid NOT NULL, user_id uuid NOT NULL,
        survey_id uuid NOT NULL, question_id varchar(64) NOT NULL, value_key uuid NOT NULL, value jsonb,
        answers bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_survey_rollups
            PRIMARY KEY (organization_id, hour_at, action_id, user_id, survey_id, question_id, value_key))""",
    """CREATE TABLE contact_rollups (
        organization_id uuid NOT NULL, hour_at timestamptz NOT NULL, created_by uuid NOT NULL,
        source varchar(16) NOT NULL, shard integer NOT NULL, contacts bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_contact_rollups PRIMARY KEY (organization_id, hour_at, created_by, source, shard))""",
    """CREATE TABLE consent_rollups (
        organization_id uuid NOT NULL, hour_at timestamptz NOT NULL, recorded_by uuid NOT NULL,
        source varchar(32) NOT NULL, channel varchar(20) NOT NULL, shard integer NOT NULL,
        consents bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_consent_rollups PRIMARY KEY (organization_id, hour_at, recorded_by, source, channel, shard))""",
    """CREATE TABLE contact_rollups_daily (
        organization_id uuid NOT NULL, day_at timestamptz NOT NULL, created_by uuid NOT NULL,
        source varchar(16) NOT NULL, shard integer NOT NULL, contacts bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_contact_rollups_daily PRIMARY KEY (organization_id, day_at, created_by, source, shard))""",
    """CREATE TABLE consent_rollups_daily (
        organization_id uuid NOT NULL, day_at timestamptz NOT NULL, recorded_by uuid NOT NULL,
        source varchar(32) NOT NULL, channel varchar(20) NOT NULL, shard integer NOT NULL,
        consents bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_consent_rollups_daily
            PRIMARY KEY (organization_id, day_at, recorded_by, source, channel, shard))""",
    """CREATE TABLE contact_reach (
        organization_id uuid NOT NULL, person_id uuid NOT NULL, last_reached_at timestamptz NOT NULL,
        support_level smallint, is_donor boolean NOT NULL DEFAULT false,
        CONSTRAINT pk_contact_reach PRIMARY KEY (organization_id, person_id))""",
    "CREATE INDEX ix_contact_reach_organization_id_last_reached_at ON contact_reach (organization_id, last_reached_at)",
    """CREATE TABLE reach_rollups (
        organization_id uuid NOT NULL, hour_at timestamptz NOT NULL, support_level smallint NOT NULL,
        is_donor boolean NOT NULL, shard smallint NOT NULL, contacts bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_reach_rollups PRIMARY KEY (organization_id, hour_at, support_level, is_donor, shard))""",
    """CREATE TABLE target_rollups (
        organization_id uuid NOT NULL, action_id uuid NOT NULL, shard smallint NOT NULL,
        open bigint NOT NULL DEFAULT 0,
        CONSTRAINT pk_target_rollups PRIMARY KEY (organization_id, action_id, shard))""",
]
ROLLUPS = [
    "report_rollups",
    "survey_rollups",
    "contact_rollups",
    "consent_rollups",
    "contact_rollups_daily",
    "consent_rollups_daily",
    "contact_reach",
    "reach_rollups",
    "target_rollups",
]


def hour(col: str) -> str:
    return f"date_trunc('hour', {col}, 'UTC')"


def signed(op_: str) -> str:
    """The statement's rows with +1 (new) and -1 (old)."""
    return {
        "INSERT": "SELECT n.*, 1 AS s FROM new_rows n",
        "DELETE": "SELECT o.*, -1 AS s FROM old_rows o",
        "UPDATE": "SELECT n.*, 1 AS s FROM new_rows n UNION ALL SELECT o.*, -1 AS s FROM old_rows o",
    }[op_]


# --- field_reports ---------------------------------------------------------------------------------------------
def reports_body(op_: str) -> str:
    body = f"""
    INSERT INTO report_rollups AS t (organization_id, hour_at, action_id, user_id, kind, outcome, reports, mobilized)
    SELECT organization_id, {hour("recorded_at")}, action_id, user_id, kind, outcome,
           sum(s), coalesce(sum(s) FILTER (WHERE mobilized), 0)
    FROM ({signed(op_)}) d
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(s) <> 0 OR coalesce(sum(s) FILTER (WHERE mobilized), 0) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (organization_id, hour_at, action_id, user_id, kind, outcome)
    DO UPDATE SET reports = t.reports + excluded.reports, mobilized = t.mobilized + excluded.mobilized;
"""
    if op_ == "INSERT":
        # the contacts' rows are locked (FOR SHARE) so that a concurrent change of level waits, then sees this reach
        body += f"""
    IF EXISTS (SELECT 1 FROM new_rows WHERE contact_id IS NOT NULL AND outcome IN {REACHED}) THEN
        INSERT INTO contact_reach AS t (organization_id, person_id, last_reached_at, support_level, is_donor)
        SELECT r.organization_id, r.contact_id, r.at, c.support_level, c.is_donor
        FROM (SELECT organization_id, contact_id, max(recorded_at) AS at FROM new_rows
              WHERE contact_id IS NOT NULL AND outcome IN {REACHED} GROUP BY 1, 2) r
        JOIN LATERAL (SELECT support_level, is_donor FROM contacts c
                      WHERE c.organization_id = r.organization_id AND c.id = r.contact_id FOR SHARE) c ON true
        ORDER BY 1, 2
        ON CONFLICT (organization_id, person_id) DO UPDATE SET last_reached_at = excluded.last_reached_at
        WHERE t.last_reached_at < excluded.last_reached_at;
    END IF;
"""
        return body
    if op_ == "UPDATE":
        # reports whose survey key (hour, action, user) moved take their answers along
        body += f"""
    INSERT INTO survey_rollups AS t (organization_id, hour_at, action_id, user_id, survey_id, question_id, value_key,
                                     value, answers)
    SELECT a.organization_id, {hour("m.recorded_at")}, m.action_id, m.user_id, a.survey_id, a.question_id,
           md5(a.value::text)::uuid, a.value, sum(m.s)
    FROM (SELECT n.*, 1 AS s FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
          WHERE ({hour("n.recorded_at")}, n.action_id, n.user_id) IS DISTINCT FROM
                ({hour("o.recorded_at")}, o.action_id, o.user_id)
          UNION ALL
          SELECT o.*, -1 FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
          WHERE ({hour("n.recorded_at")}, n.action_id, n.user_id) IS DISTINCT FROM
                ({hour("o.recorded_at")}, o.action_id, o.user_id)) m
    JOIN survey_answers a ON a.organization_id = m.organization_id AND a.report_id = m.id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(m.s) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (organization_id, hour_at, action_id, user_id, survey_id, question_id, value_key)
    DO UPDATE SET answers = t.answers + excluded.answers;
"""
        moved = """
        SELECT o.organization_id, o.contact_id FROM new_rows n
        JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
        WHERE (n.contact_id, n.outcome, n.recorded_at) IS DISTINCT FROM (o.contact_id, o.outcome, o.recorded_at)
        UNION
        SELECT n.organization_id, n.contact_id FROM new_rows n
        JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
        WHERE (n.contact_id, n.outcome, n.recorded_at) IS DISTINCT FROM (o.contact_id, o.outcome, o.recorded_at)"""
    else:  # DELETE: the answers' cascade fires its trigger after this one, when the reports are gone: their keys
        body += f"""
    CREATE TEMP TABLE IF NOT EXISTS gg_deleted_reports (
        organization_id uuid, id uuid, hour_at timestamptz, action_id uuid, user_id uuid) ON COMMIT DELETE ROWS;
    INSERT INTO pg_temp.gg_deleted_reports
    SELECT organization_id, id, {hour("recorded_at")}, action_id, user_id FROM old_rows;
"""
        moved = f"SELECT organization_id, contact_id FROM old_rows WHERE outcome IN {REACHED}"
    # the contacts whose reports changed: their last reach recounted from their reports
    body += f"""
    WITH m AS (
        SELECT m.organization_id, m.contact_id,
               (SELECT max(r.recorded_at) FROM field_reports r WHERE r.organization_id = m.organization_id
                  AND r.contact_id = m.contact_id AND r.outcome IN {REACHED}) AS at
        FROM (SELECT DISTINCT * FROM ({moved}) x WHERE contact_id IS NOT NULL) m),
    gone AS (
        DELETE FROM contact_reach t USING m
        WHERE t.organization_id = m.organization_id AND t.person_id = m.contact_id AND m.at IS NULL)
    INSERT INTO contact_reach AS t (organization_id, person_id, last_reached_at, support_level, is_donor)
    SELECT m.organization_id, m.contact_id, m.at, c.support_level, c.is_donor
    FROM m JOIN contacts c ON c.organization_id = m.organization_id AND c.id = m.contact_id
    WHERE m.at IS NOT NULL ORDER BY 1, 2
    ON CONFLICT (organization_id, person_id) DO UPDATE SET last_reached_at = excluded.last_reached_at
    WHERE t.last_reached_at IS DISTINCT FROM excluded.last_reached_at;
"""
    return body


# --- survey_answers --------------------------------------------------------------------------------------------
def answers_body(op_: str) -> str:
    body = f"""
    INSERT INTO survey_rollups AS t (organization_id, hour_at, action_id, user_id, survey_id, question_id, value_key,
                                     value, answers)
    SELECT d.organization_id, {hour("r.recorded_at")}, r.action_id, r.user_id, d.survey_id, d.question_id,
           md5(d.value::text)::uuid, d.value, sum(d.s)
    FROM ({signed(op_)}) d
    JOIN field_reports r ON r.organization_id = d.organization_id AND r.id = d.report_id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(d.s) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (organization_id, hour_at, action_id, user_id, survey_id, question_id, value_key)
    DO UPDATE SET answers = t.answers + excluded.answers;
"""
    if op_ == "DELETE":  # answers deleted by their reports' cascade: the keys the reports' trigger kept
        body += """
    IF to_regclass('pg_temp.gg_deleted_reports') IS NOT NULL THEN
        INSERT INTO survey_rollups AS t (organization_id, hour_at, action_id, user_id, survey_id, question_id,
                                         value_key, value, answers)
        SELECT o.organization_id, g.hour_at, g.action_id, g.user_id, o.survey_id, o.question_id,
               md5(o.value::text)::uuid, o.value, -count(*)
        FROM old_rows o JOIN pg_temp.gg_deleted_reports g ON g.organization_id = o.organization_id AND g.id = o.report_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (organization_id, hour_at, action_id, user_id, survey_id, question_id, value_key)
        DO UPDATE SET answers = t.answers + excluded.answers;
    END IF;
"""
    return body


# --- contacts --------------------------------------------------------------------------------------------------
def day(col: str) -> str:
    return f"date_trunc('day', {col}, 'UTC')"


def contacts_body(op_: str) -> str:
    body = ""
    for table, at, grain in (("contact_rollups", "hour_at", hour), ("contact_rollups_daily", "day_at", day)):
        body += f"""
    INSERT INTO {table} AS t (organization_id, {at}, created_by, source, shard, contacts)
    SELECT organization_id, {grain("created_at")}, coalesce(created_by, {NIL}), source, {BACKEND}, sum(s)
    FROM ({signed(op_)}) d GROUP BY 1, 2, 3, 4 HAVING sum(s) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (organization_id, {at}, created_by, source, shard)
    DO UPDATE SET contacts = t.contacts + excluded.contacts;
"""
    if op_ == "UPDATE":
        body += """
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
               WHERE (n.support_level, n.is_donor) IS DISTINCT FROM (o.support_level, o.is_donor)) THEN
        UPDATE contact_reach t SET support_level = n.support_level, is_donor = n.is_donor
        FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
        WHERE (n.support_level, n.is_donor) IS DISTINCT FROM (o.support_level, o.is_donor)
          AND t.organization_id = n.organization_id AND t.person_id = n.id;
    END IF;
"""
    if op_ == "DELETE":
        body += """
    DELETE FROM contact_reach t USING old_rows o WHERE t.organization_id = o.organization_id AND t.person_id = o.id;
"""
    return body


def consents_body(op_: str) -> str:
    body = ""
    for table, at, grain in (("consent_rollups", "hour_at", hour), ("consent_rollups_daily", "day_at", day)):
        body += f"""
    INSERT INTO {table} AS t (organization_id, {at}, recorded_by, source, channel, shard, consents)
    SELECT organization_id, {grain("recorded_at")}, coalesce(recorded_by, {NIL}), source, channel, {BACKEND},
           sum(s)
    FROM ({signed(op_)}) d WHERE status = 'granted' GROUP BY 1, 2, 3, 4, 5 HAVING sum(s) <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, {at}, recorded_by, source, channel, shard)
    DO UPDATE SET consents = t.consents + excluded.consents;
"""
    return body


def reach_body(op_: str) -> str:
    return f"""
    INSERT INTO reach_rollups AS t (organization_id, hour_at, support_level, is_donor, shard, contacts)
    SELECT organization_id, {hour("last_reached_at")}, coalesce(support_level, 0), is_donor,
           {SHARD}, sum(s)
    FROM ({signed(op_)}) d GROUP BY 1, 2, 3, 4 HAVING sum(s) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (organization_id, hour_at, support_level, is_donor, shard)
    DO UPDATE SET contacts = t.contacts + excluded.contacts;
"""


def targets_body(op_: str) -> str:
    return f"""
    INSERT INTO target_rollups AS t (organization_id, action_id, shard, open)
    SELECT organization_id, action_id, {SHARD},
           sum(s) FILTER (WHERE status IN {OPEN})
    FROM ({signed(op_)}) d GROUP BY 1, 2
    HAVING coalesce(sum(s) FILTER (WHERE status IN {OPEN}), 0) <> 0 ORDER BY 1, 2
    ON CONFLICT (organization_id, action_id, shard) DO UPDATE SET open = t.open + excluded.open;
"""


SOURCES = {
    "field_reports": reports_body,
    "survey_answers": answers_body,
    "contacts": contacts_body,
    "consent_log": consents_body,
    "contact_reach": reach_body,
    "action_targets": targets_body,
}
REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}

REBUILD = f"""
CREATE FUNCTION gg_dashboard_rollups_rebuild(p_org uuid) RETURNS void LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
    DELETE FROM report_rollups WHERE organization_id = p_org;
    DELETE FROM survey_rollups WHERE organization_id = p_org;
    DELETE FROM contact_rollups WHERE organization_id = p_org;
    DELETE FROM consent_rollups WHERE organization_id = p_org;
    DELETE FROM contact_reach WHERE organization_id = p_org;
    DELETE FROM reach_rollups WHERE organization_id = p_org;
    DELETE FROM target_rollups WHERE organization_id = p_org;
    INSERT INTO report_rollups (organization_id, hour_at, action_id, user_id, kind, outcome, reports, mobilized)
    SELECT organization_id, {hour("recorded_at")}, action_id, user_id, kind, outcome, count(*),
           count(*) FILTER (WHERE mobilized)
    FROM field_reports WHERE organization_id = p_org GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO survey_rollups (organization_id, hour_at, action_id, user_id, survey_id, question_id, value_key,
                                value, answers)
    SELECT a.organization_id, {hour("r.recorded_at")}, r.action_id, r.user_id, a.survey_id, a.question_id,
           md5(a.value::text)::uuid, a.value, count(*)
    FROM survey_answers a JOIN field_reports r ON r.organization_id = a.organization_id AND r.id = a.report_id
    WHERE a.organization_id = p_org GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    INSERT INTO contact_rollups (organization_id, hour_at, created_by, source, shard, contacts)
    SELECT organization_id, {hour("created_at")}, coalesce(created_by, {NIL}), source, 0, count(*)
    FROM contacts WHERE organization_id = p_org GROUP BY 1, 2, 3, 4;
    INSERT INTO consent_rollups (organization_id, hour_at, recorded_by, source, channel, shard, consents)
    SELECT organization_id, {hour("recorded_at")}, coalesce(recorded_by, {NIL}), source, channel, 0, count(*)
    FROM consent_log WHERE organization_id = p_org AND status = 'granted' GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM contact_rollups_daily WHERE organization_id = p_org;
    INSERT INTO contact_rollups_daily (organization_id, day_at, created_by, source, shard, contacts)
    SELECT organization_id, {day("hour_at")}, created_by, source, 0, sum(contacts)
    FROM contact_rollups WHERE organization_id = p_org GROUP BY 1, 2, 3, 4;
    DELETE FROM consent_rollups_daily WHERE organization_id = p_org;
    INSERT INTO consent_rollups_daily (organization_id, day_at, recorded_by, source, channel, shard, consents)
    SELECT organization_id, {day("hour_at")}, recorded_by, source, channel, 0, sum(consents)
    FROM consent_rollups WHERE organization_id = p_org GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO contact_reach (organization_id, person_id, last_reached_at, support_level, is_donor)
    SELECT r.organization_id, r.contact_id, r.at, c.support_level, c.is_donor
    FROM (SELECT organization_id, contact_id, max(recorded_at) AS at FROM field_reports
          WHERE organization_id = p_org AND contact_id IS NOT NULL AND outcome IN {REACHED} GROUP BY 1, 2) r
    JOIN contacts c ON c.organization_id = r.organization_id AND c.id = r.contact_id;
    DELETE FROM reach_rollups WHERE organization_id = p_org;  -- whatever the triggers did (none in replica mode)
    INSERT INTO reach_rollups (organization_id, hour_at, support_level, is_donor, shard, contacts)
    SELECT organization_id, {hour("last_reached_at")}, coalesce(support_level, 0), is_donor, 0, count(*)
    FROM contact_reach WHERE organization_id = p_org GROUP BY 1, 2, 3, 4;
    INSERT INTO target_rollups (organization_id, action_id, shard, open)
    SELECT organization_id, action_id, 0, count(*) FROM action_targets
    WHERE organization_id = p_org AND status IN {OPEN} GROUP BY 1, 2;
END $$"""

# (table, time column or None, key columns but the shard, count column)
SHARDED = [
    ("reach_rollups", "hour_at", "organization_id, hour_at, support_level, is_donor", "contacts"),
    ("target_rollups", None, "organization_id, action_id", "open"),
    ("contact_rollups", "hour_at", "organization_id, hour_at, created_by, source", "contacts"),
    ("contact_rollups_daily", "day_at", "organization_id, day_at, created_by, source", "contacts"),
    ("consent_rollups", "hour_at", "organization_id, hour_at, recorded_by, source, channel", "consents"),
    ("consent_rollups_daily", "day_at", "organization_id, day_at, recorded_by, source, channel", "consents"),
]


def _fold(table: str, at: str | None, key: str, count: str) -> str:
    """One statement: the shards of the rows before p_before (all rows, for a table without time) summed into
    shard 0; the sums are unchanged in every snapshot (the delete and the insert commit together)."""
    before = f"{at} < p_before AND " if at else ""
    return f"""
    WITH gone AS (DELETE FROM {table} WHERE {before}shard <> 0 RETURNING *)
    INSERT INTO {table} AS t ({key}, shard, {count})
    SELECT {key}, 0, sum({count}) FROM gone GROUP BY {key} ORDER BY {key}
    ON CONFLICT ({key}, shard) DO UPDATE SET {count} = t.{count} + excluded.{count};
    GET DIAGNOSTICS n = ROW_COUNT;
    folded := folded + n;
    DELETE FROM {table} WHERE {before}shard = 0 AND {count} = 0;"""


COMPACT = f"""
CREATE FUNCTION gg_dashboard_rollups_compact(p_before timestamptz) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
DECLARE n bigint; folded bigint := 0;
BEGIN
    {"".join(_fold(*t) for t in SHARDED)}
    DELETE FROM report_rollups WHERE hour_at < p_before AND reports = 0 AND mobilized = 0;
    DELETE FROM survey_rollups WHERE hour_at < p_before AND answers = 0;
    RETURN folded;
END $$"""


def upgrade() -> None:
    for sql in TABLES:
        op.execute(sql)
    for table in ROLLUPS:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT}) WITH CHECK ({TENANT})")
    for source, body in SOURCES.items():
        for op_ in ("INSERT", "UPDATE", "DELETE"):
            fn = f"gg_rollup_{source}_{op_.lower()}"
            # definer's rights: the rollups are written whatever tenant the session names (an organization's
            # deletion cascades with none); each function reads only its statement's rows.
            op.execute(f"""
                CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
                AS $$ BEGIN {body(op_)} RETURN NULL; END $$""")
            op.execute(f"""
                CREATE TRIGGER {fn} AFTER {op_} ON {source} {REFERENCING[op_]}
                FOR EACH STATEMENT EXECUTE FUNCTION {fn}()""")
    op.execute(REBUILD)
    op.execute(COMPACT)
    op.execute("SELECT gg_dashboard_rollups_rebuild(id) FROM organizations")
    for table in ROLLUPS:
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gg_dashboard_rollups_compact(timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS gg_dashboard_rollups_rebuild(uuid)")
    for source in SOURCES:
        for op_ in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS gg_rollup_{source}_{op_} ON {source}")
            op.execute(f"DROP FUNCTION IF EXISTS gg_rollup_{source}_{op_}()")
    for table in reversed(ROLLUPS):
        op.execute(f"DROP TABLE IF EXISTS {table}")
