-- 绩效运行监控 (双监控): rules per fiscal year, rounds with their goal snapshots, execution figures
-- per project and month, the units' reports, warnings that explain themselves, corrective
-- actions, finance's decisions and key monitoring. docs/MONITORING.md.

-- The warning bands per fiscal year, versioned (version 0 = the defaults, never stored).
CREATE TABLE monitoring_rules (
    fiscal_year INTEGER NOT NULL,
    version     BIGINT NOT NULL,
    label       TEXT NOT NULL,
    bands       TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (fiscal_year, version)
);

CREATE TABLE rounds (
    id            BIGSERIAL PRIMARY KEY,
    fiscal_year   INTEGER NOT NULL,
    name          TEXT NOT NULL,
    months_to     INTEGER NOT NULL CHECK (months_to BETWEEN 1 AND 12),
    starts_on     DATE NOT NULL,
    deadline      DATE NOT NULL,
    lead_days     INTEGER NOT NULL,
    scope         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('opening', 'open', 'closed')),
    rules_version BIGINT NOT NULL,
    rules_label   TEXT NOT NULL,
    revision      BIGINT NOT NULL,
    opened_by     TEXT NOT NULL,
    opened_at     TIMESTAMP NOT NULL,
    changed_by    TEXT NOT NULL,
    changed_at    TIMESTAMP NOT NULL
);
CREATE INDEX rounds_year ON rounds (fiscal_year, status);

-- One row per project or 部门整体 in a round's scope (subject_key = PRO_CODE or 'D:<dept>'),
-- with or without an approved goal, and its colours denormalised from `monitoring_warnings`.
CREATE TABLE round_subjects (
    round_id        BIGINT NOT NULL REFERENCES rounds (id),
    subject_key     TEXT NOT NULL,
    pro_code        TEXT NOT NULL,
    department_code TEXT NOT NULL,
    agency_code     TEXT NOT NULL,
    name            TEXT NOT NULL,
    fund_source     TEXT NOT NULL,
    special_field   TEXT NOT NULL,
    amount          NUMERIC(20, 2) NOT NULL,
    goal_state      TEXT NOT NULL CHECK (goal_state IN ('approved', 'no_goal', 'not_approved')),
    goal_id         BIGINT NOT NULL,
    goal_version    INTEGER NOT NULL,
    year_goal       TEXT NOT NULL,
    origin          TEXT NOT NULL CHECK (origin IN ('goal', 'execution')),
    is_key          BOOLEAN NOT NULL,
    budget_colour   TEXT NOT NULL,
    goal_colour     TEXT NOT NULL,
    forecast_colour TEXT NOT NULL,
    execution_forecast_colour TEXT NOT NULL,
    deviated        BOOLEAN NOT NULL,
    report_status   TEXT NOT NULL,
    snapshot_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, subject_key)
);
CREATE INDEX round_subjects_deviated
    ON round_subjects (round_id, deviated, department_code, subject_key);
CREATE INDEX round_subjects_agency ON round_subjects (round_id, agency_code);
CREATE INDEX round_subjects_pro_code ON round_subjects (pro_code);

-- The snapshot of each approved goal's indicators at opening.
CREATE TABLE round_indicators (
    round_id        BIGINT NOT NULL,
    subject_key     TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    level1_name     TEXT NOT NULL,
    level2_name     TEXT NOT NULL,
    name            TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('ge', 'le', 'eq', 'qualitative')),
    unit            TEXT NOT NULL,
    target_value    TEXT NOT NULL,
    target_num      NUMERIC(28, 6),
    library_code    TEXT NOT NULL,
    library_version BIGINT NOT NULL,
    PRIMARY KEY (round_id, subject_key, seq)
);

-- Per unit of a round: its department, a reopened deadline and how often it was reopened.
CREATE TABLE round_units (
    round_id          BIGINT NOT NULL REFERENCES rounds (id),
    agency_code       TEXT NOT NULL,
    department_code   TEXT NOT NULL,
    deadline_override DATE,
    reopened          INTEGER NOT NULL,
    revision          BIGINT NOT NULL,
    PRIMARY KEY (round_id, agency_code)
);

-- Execution figures from the budget system per project and month (cumulative `executed`), kept
-- for every month: the monthly history. They belong to the fiscal year, not to a round.
CREATE TABLE execution_months (
    fiscal_year     INTEGER NOT NULL,
    pro_code        TEXT NOT NULL,
    month           INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
    initial_budget  NUMERIC(20, 2) NOT NULL,
    adjusted_budget NUMERIC(20, 2),
    allocated       NUMERIC(20, 2),
    executed        NUMERIC(20, 2) NOT NULL,
    agency_code     TEXT NOT NULL,
    department_code TEXT NOT NULL,
    name            TEXT NOT NULL,
    version         BIGINT NOT NULL,
    request_id      TEXT NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (fiscal_year, pro_code, month)
);

-- One report per round subject.
CREATE TABLE monitoring_reports (
    id                  BIGSERIAL PRIMARY KEY,
    round_id            BIGINT NOT NULL REFERENCES rounds (id),
    subject_key         TEXT NOT NULL,
    agency_code         TEXT NOT NULL,
    department_code     TEXT NOT NULL,
    status              TEXT NOT NULL,
    execution_narrative TEXT NOT NULL,
    expected_year_end   NUMERIC(20, 2),
    revision            BIGINT NOT NULL,
    submitted_on        DATE,
    changed_by          TEXT NOT NULL,
    changed_at          TIMESTAMP NOT NULL,
    UNIQUE (round_id, subject_key)
) WITH (fillfactor = 75);
CREATE INDEX reports_round_agency ON monitoring_reports (round_id, agency_code);

CREATE TABLE monitoring_report_indicators (
    report_id  BIGINT NOT NULL REFERENCES monitoring_reports (id),
    seq        INTEGER NOT NULL,
    achieved   TEXT NOT NULL,
    forecast   TEXT NOT NULL,
    likelihood TEXT NOT NULL,
    causes     TEXT NOT NULL,
    other_text TEXT NOT NULL,
    remark     TEXT NOT NULL,
    PRIMARY KEY (report_id, seq)
);

CREATE TABLE monitoring_report_events (
    report_id   BIGINT NOT NULL REFERENCES monitoring_reports (id),
    seq         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    comments    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    PRIMARY KEY (report_id, seq)
);

-- One row per (round, subject, axis, seq): the colour and how it was computed.
CREATE TABLE monitoring_warnings (
    round_id      BIGINT NOT NULL,
    subject_key   TEXT NOT NULL,
    axis          TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    colour        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    progress      NUMERIC(20, 2),
    inputs        TEXT NOT NULL,
    explanation   TEXT NOT NULL,
    incomplete    BOOLEAN NOT NULL,
    rules_version BIGINT NOT NULL,
    computed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, subject_key, axis, seq)
);

CREATE TABLE corrective_actions (
    id                BIGSERIAL PRIMARY KEY,
    round_id          BIGINT NOT NULL REFERENCES rounds (id),
    subject_key       TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    description       TEXT NOT NULL,
    owner_agency_code TEXT NOT NULL,
    department_code   TEXT NOT NULL,
    contact           TEXT NOT NULL,
    due_on            DATE NOT NULL,
    status            TEXT NOT NULL,
    completion_note   TEXT NOT NULL,
    comments          TEXT NOT NULL,
    done_on           DATE,
    revision          BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    changed_by        TEXT NOT NULL,
    changed_at        TIMESTAMP NOT NULL
);
CREATE INDEX corrective_actions_round ON corrective_actions (round_id, status);
CREATE INDEX corrective_actions_owner ON corrective_actions (owner_agency_code, status);

-- Finance's decisions; the current one per (round, subject) has superseded_by = 0.
CREATE TABLE monitoring_decisions (
    id            BIGSERIAL PRIMARY KEY,
    round_id      BIGINT NOT NULL REFERENCES rounds (id),
    subject_key   TEXT NOT NULL,
    fiscal_year   INTEGER NOT NULL,
    pro_code      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount        NUMERIC(20, 2),
    reason        TEXT NOT NULL,
    superseded_by BIGINT NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    TIMESTAMP NOT NULL
);
CREATE INDEX decisions_project ON monitoring_decisions (fiscal_year, pro_code, decided_at DESC);
CREATE INDEX decisions_subject ON monitoring_decisions (round_id, subject_key);

-- 重点监控, optionally commissioned to an agency drawn from the pool.
CREATE TABLE key_monitoring (
    round_id      BIGINT NOT NULL REFERENCES rounds (id),
    subject_key   TEXT NOT NULL,
    status        TEXT NOT NULL,
    agency_id     TEXT NOT NULL,
    draw_id       BIGINT NOT NULL,
    engagement_id BIGINT NOT NULL,
    report        TEXT NOT NULL,
    conclusion    TEXT NOT NULL,
    findings      TEXT NOT NULL,
    comments      TEXT NOT NULL,
    revision      BIGINT NOT NULL,
    changed_by    TEXT NOT NULL,
    changed_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (round_id, subject_key)
);
CREATE INDEX key_monitoring_agency ON key_monitoring (agency_id);
