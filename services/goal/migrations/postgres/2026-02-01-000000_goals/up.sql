-- 绩效目标管理: projects from the budget system, goals with every declaration version, the
-- history of every transition, and the rules per fiscal year.

CREATE TABLE projects (
    pro_code         TEXT NOT NULL,
    fiscal_year      INTEGER NOT NULL,
    name             TEXT NOT NULL,
    agency_code      TEXT NOT NULL,
    department_code  TEXT NOT NULL,
    fund_source      TEXT NOT NULL,
    special_field    TEXT NOT NULL,
    continuity       TEXT NOT NULL,
    nature           TEXT NOT NULL,
    requested_amount NUMERIC(20, 2) NOT NULL,
    mid_term_from    INTEGER,
    mid_term_to      INTEGER,
    version          BIGINT NOT NULL,
    changed_by       TEXT NOT NULL,
    changed_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (pro_code, fiscal_year)
);
CREATE INDEX projects_agency ON projects (fiscal_year, agency_code);
CREATE INDEX projects_department ON projects (fiscal_year, department_code);

-- One goal per project (target_kind 'project', target_code = PRO_CODE) or per department as a
-- whole ('department_overall', target_code = department code) and fiscal year. `state` is the
-- workflow state as JSON; `status` its kind and the approved and published versions are copied
-- from it for lists, statistics and the public list.
CREATE TABLE goals (
    id              BIGSERIAL PRIMARY KEY,
    fiscal_year     INTEGER NOT NULL,
    target_kind     TEXT NOT NULL CHECK (target_kind IN ('project', 'department_overall')),
    target_code     TEXT NOT NULL,
    agency_code     TEXT NOT NULL,
    department_code TEXT NOT NULL,
    status          TEXT NOT NULL,
    approved_version  INTEGER,
    published_version INTEGER,
    state           TEXT NOT NULL,
    revision        BIGINT NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL,
    UNIQUE (fiscal_year, target_kind, target_code)
);
CREATE INDEX goals_agency ON goals (fiscal_year, agency_code);
CREATE INDEX goals_department ON goals (fiscal_year, department_code);

-- Every declaration version stays readable (the approved one while an adjustment is reviewed).
CREATE TABLE goal_versions (
    goal_id     BIGINT NOT NULL REFERENCES goals (id),
    version     INTEGER NOT NULL,
    declaration TEXT NOT NULL,
    saved_by    TEXT NOT NULL,
    saved_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (goal_id, version)
);

-- Full history per goal: who did what, when, with comments and diffs.
CREATE TABLE goal_events (
    id                    BIGSERIAL PRIMARY KEY,
    goal_id               BIGINT NOT NULL REFERENCES goals (id),
    action                TEXT NOT NULL,
    from_status           TEXT NOT NULL,
    to_status             TEXT NOT NULL,
    version               INTEGER NOT NULL,
    comments              TEXT NOT NULL,
    changes               TEXT NOT NULL,
    budget_adjustment_ref TEXT NOT NULL,
    role                  TEXT NOT NULL,
    actor                 TEXT NOT NULL,
    at                    TIMESTAMP NOT NULL
);
CREATE INDEX goal_events_goal ON goal_events (goal_id, id);

-- Rules of this region per fiscal year, versioned, never deleted.
CREATE TABLE goal_rules (
    fiscal_year       INTEGER NOT NULL,
    version           BIGINT NOT NULL,
    ex_ante_threshold NUMERIC(20, 2),
    weight_total      NUMERIC(20, 2) NOT NULL,
    changed_by        TEXT NOT NULL,
    changed_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (fiscal_year, version)
);
