-- 绩效评价, part 1: scoring rules per fiscal year, the self-evaluation of a year (campaign) with
-- one sheet per project or 部门整体 and its indicators, the units' deadlines, the sheets' history,
-- spot checks with their sampled sheets, reviews and problems. docs/EVALUATION.md.

-- The scoring rules per fiscal year, versioned (version 0 = the national defaults, never
-- stored). `body` is the engine's RuleSet as JSON.
CREATE TABLE evaluation_rules (
    fiscal_year INTEGER NOT NULL,
    version     BIGINT NOT NULL,
    label       TEXT NOT NULL,
    body        TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (fiscal_year, version)
);

-- One self-evaluation per fiscal year of the region.
CREATE TABLE evaluation_campaigns (
    id              BIGSERIAL PRIMARY KEY,
    fiscal_year     INTEGER NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    deadline        DATE NOT NULL,
    lead_days       INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    rules_version   BIGINT NOT NULL,
    rules_label     TEXT NOT NULL,
    revision        BIGINT NOT NULL,
    sheets          BIGINT NOT NULL,
    execution_month INTEGER NOT NULL,
    opened_by       TEXT NOT NULL,
    opened_at       TIMESTAMP NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL
);

-- One sheet (自评表) per project with an approved goal and per 部门整体 goal (subject_key =
-- PRO_CODE or 'DEPT:<department>'), with the goal's snapshot, the execution figures, the
-- unit's texts and the engine's latest score (`score` = the Score as JSON, with its
-- explanation).
CREATE TABLE evaluation_sheets (
    id              BIGSERIAL PRIMARY KEY,
    campaign_id     BIGINT NOT NULL REFERENCES evaluation_campaigns (id),
    subject_key     TEXT NOT NULL,
    pro_code        TEXT NOT NULL,
    department_code TEXT NOT NULL,
    agency_code     TEXT NOT NULL,
    name            TEXT NOT NULL,
    fund_source     TEXT NOT NULL,
    special_field   TEXT NOT NULL,
    goal_id         BIGINT NOT NULL,
    goal_version    INTEGER NOT NULL,
    year_goal       TEXT NOT NULL,
    budget          NUMERIC(20, 2) NOT NULL,
    executed        NUMERIC(20, 2) NOT NULL,
    execution_month INTEGER NOT NULL,
    red_warnings    INTEGER NOT NULL,
    yellow_warnings INTEGER NOT NULL,
    deviated        BOOLEAN NOT NULL,
    execution_reason TEXT NOT NULL,
    summary         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('not_started', 'draft', 'submitted', 'reviewed', 'received', 'returned')),
    revision        BIGINT NOT NULL,
    total           NUMERIC(20, 2) NOT NULL,
    grade           TEXT NOT NULL,
    execution_rate  NUMERIC(20, 2) NOT NULL,
    score           TEXT NOT NULL,
    return_reason   TEXT NOT NULL,
    late            BOOLEAN NOT NULL,
    submitted_by    TEXT,
    submitted_at    TIMESTAMP,
    changed_by      TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, subject_key)
);
CREATE INDEX evaluation_sheets_unit ON evaluation_sheets (campaign_id, agency_code, id);
CREATE INDEX evaluation_sheets_department ON evaluation_sheets (campaign_id, department_code, id);
CREATE INDEX evaluation_sheets_status ON evaluation_sheets (campaign_id, status, id);

-- The goal's indicators as snapshotted, the unit's entry and the engine's score of each.
CREATE TABLE evaluation_sheet_indicators (
    sheet_id        BIGINT NOT NULL REFERENCES evaluation_sheets (id),
    seq             INTEGER NOT NULL,
    level1_name     TEXT NOT NULL,
    level2_name     TEXT NOT NULL,
    name            TEXT NOT NULL,
    direction       TEXT NOT NULL,
    unit            TEXT NOT NULL,
    target_value    TEXT NOT NULL,
    goal_weight     NUMERIC(20, 2),
    achieved_value  TEXT NOT NULL,
    tier            TEXT NOT NULL,
    qualitative_score NUMERIC(20, 2),
    not_applicable  BOOLEAN NOT NULL,
    not_applicable_reason TEXT NOT NULL,
    deviation_causes TEXT NOT NULL,
    improvement_measures TEXT NOT NULL,
    weight          NUMERIC(20, 2) NOT NULL,
    points          NUMERIC(20, 2) NOT NULL,
    applicable      BOOLEAN NOT NULL,
    deviates        BOOLEAN NOT NULL,
    PRIMARY KEY (sheet_id, seq)
);

-- Every transition of a sheet (saved, submitted, reviewed, received, returned, reopened).
CREATE TABLE evaluation_sheet_events (
    id          BIGSERIAL PRIMARY KEY,
    sheet_id    BIGINT NOT NULL REFERENCES evaluation_sheets (id),
    revision    BIGINT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    total       NUMERIC(20, 2) NOT NULL,
    grade       TEXT NOT NULL,
    at_by       TEXT NOT NULL,
    at          TIMESTAMP NOT NULL
);
CREATE INDEX evaluation_sheet_events_sheet ON evaluation_sheet_events (sheet_id, id);

-- A unit reopened after the deadline: its own deadline and how often.
CREATE TABLE evaluation_unit_deadlines (
    campaign_id BIGINT NOT NULL REFERENCES evaluation_campaigns (id),
    agency_code TEXT NOT NULL,
    deadline    DATE NOT NULL,
    reopened    INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, agency_code)
);

-- A selection of sheets for review (抽查复核) and how it was made: method, seed, the candidates
-- (`candidate_list`: JSON of each candidate's sheet, key, stratum and risk, so that an auditor
-- replays the selection from the record) and their fingerprint, the risk weights (JSON), the strata; the reviewer and, when commissioned, the
-- agency, its draw and engagement in the agency service.
CREATE TABLE evaluation_spot_checks (
    id              BIGSERIAL PRIMARY KEY,
    campaign_id     BIGINT NOT NULL REFERENCES evaluation_campaigns (id),
    fiscal_year     INTEGER NOT NULL,
    name            TEXT NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('random', 'risk', 'stratified')),
    size            INTEGER NOT NULL,
    seed            BIGINT NOT NULL,
    fingerprint     TEXT NOT NULL,
    candidates      BIGINT NOT NULL,
    candidate_list  TEXT NOT NULL,
    weights         TEXT NOT NULL,
    stratum         TEXT NOT NULL,
    risk_percent    INTEGER NOT NULL,
    reviewer        TEXT NOT NULL CHECK (reviewer IN ('finance', 'joint', 'agency')),
    agency_credit_code TEXT NOT NULL,
    engagement_id   BIGINT NOT NULL,
    draw_id         BIGINT NOT NULL,
    revision        BIGINT NOT NULL,
    finished        INTEGER NOT NULL,
    selected_by     TEXT NOT NULL,
    selected_at     TIMESTAMP NOT NULL
);
CREATE INDEX evaluation_spot_checks_campaign ON evaluation_spot_checks (campaign_id, id);

-- One sampled sheet and its review: why it was picked (risk and factors as JSON), the
-- reviewer's entries (JSON) and the engine's corrected score (JSON), the difference and flag.
CREATE TABLE evaluation_reviews (
    spot_check_id   BIGINT NOT NULL REFERENCES evaluation_spot_checks (id),
    sheet_id        BIGINT NOT NULL REFERENCES evaluation_sheets (id),
    position        INTEGER NOT NULL,
    picked_by       TEXT NOT NULL,
    risk            NUMERIC(20, 2) NOT NULL,
    factors         TEXT NOT NULL,
    self_score      NUMERIC(20, 2) NOT NULL,
    self_grade      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'draft', 'finished')),
    entries         TEXT NOT NULL,
    corrected       TEXT NOT NULL,
    corrected_score NUMERIC(20, 2),
    corrected_grade TEXT NOT NULL,
    difference      NUMERIC(20, 2),
    flagged         BOOLEAN NOT NULL,
    problems        INTEGER NOT NULL,
    opinion         TEXT NOT NULL,
    revision        BIGINT NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL,
    finished_by     TEXT,
    finished_at     TIMESTAMP,
    PRIMARY KEY (spot_check_id, sheet_id)
);
CREATE INDEX evaluation_reviews_sheet ON evaluation_reviews (sheet_id);

-- Problems found by a review; agency_code and pro_code let a later year's risk score count
-- the problems found in past years.
CREATE TABLE evaluation_problems (
    spot_check_id BIGINT NOT NULL,
    sheet_id      BIGINT NOT NULL,
    seq           INTEGER NOT NULL,
    fiscal_year   INTEGER NOT NULL,
    agency_code   TEXT NOT NULL,
    pro_code      TEXT NOT NULL,
    category      TEXT NOT NULL,
    indicator_seq INTEGER NOT NULL,
    description   TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    PRIMARY KEY (spot_check_id, sheet_id, seq),
    FOREIGN KEY (spot_check_id, sheet_id) REFERENCES evaluation_reviews (spot_check_id, sheet_id)
);
CREATE INDEX evaluation_problems_unit ON evaluation_problems (agency_code, fiscal_year);
CREATE INDEX evaluation_problems_project ON evaluation_problems (pro_code, fiscal_year);
