-- 绩效指标库: frames per fiscal year, third-level indicators with every version, proposals.

CREATE TABLE frames (
    fiscal_year  INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE frame_nodes (
    fiscal_year  INTEGER NOT NULL REFERENCES frames (fiscal_year),
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    level        INTEGER NOT NULL CHECK (level IN (1, 2)),
    parent_code  TEXT NOT NULL,
    sort_order   INTEGER NOT NULL,
    PRIMARY KEY (fiscal_year, code)
);

-- Every version of every indicator; (code, version) never changes once written.
CREATE TABLE indicator_versions (
    code                TEXT NOT NULL,
    version             BIGINT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    fiscal_year         INTEGER NOT NULL,
    frame_node_code     TEXT NOT NULL,
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('common', 'specific')),
    industry_tags       TEXT NOT NULL,
    field_tags          TEXT NOT NULL,
    level_tags          TEXT NOT NULL,
    direction           TEXT NOT NULL CHECK (direction IN ('ge', 'le', 'eq', 'qualitative')),
    unit                TEXT NOT NULL,
    explanation         TEXT NOT NULL,
    formula             TEXT NOT NULL,
    scoring_rule        TEXT NOT NULL,
    value_standard      TEXT NOT NULL,
    value_standard_note TEXT NOT NULL,
    reference_target    TEXT NOT NULL,
    last_year_value     NUMERIC(20, 4),
    year_before_value   NUMERIC(20, 4),
    fixed               BOOLEAN NOT NULL,
    enabled_from_year   INTEGER,
    enabled_to_year     INTEGER,
    owner_department    TEXT NOT NULL,
    change_note         TEXT NOT NULL,
    changed_by          TEXT NOT NULL,
    changed_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (code, version),
    FOREIGN KEY (fiscal_year, frame_node_code) REFERENCES frame_nodes (fiscal_year, code)
);

-- The current version of each indicator.
CREATE TABLE indicators (
    code        TEXT PRIMARY KEY,
    version     BIGINT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    FOREIGN KEY (code, version) REFERENCES indicator_versions (code, version)
);
CREATE INDEX indicators_changed_at ON indicators (changed_at);
CREATE INDEX indicator_versions_year_node ON indicator_versions (fiscal_year, frame_node_code);

-- 个性 indicators proposed by departments, decided by finance.
CREATE TABLE proposals (
    id                BIGSERIAL PRIMARY KEY,
    code              TEXT NOT NULL,
    spec              TEXT NOT NULL,
    department        TEXT NOT NULL,
    reason            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decision_comment  TEXT NOT NULL,
    version           BIGINT NOT NULL,
    proposed_by       TEXT NOT NULL,
    proposed_at       TIMESTAMP NOT NULL,
    decided_by        TEXT,
    decided_at        TIMESTAMP,
    indicator_version BIGINT
);
CREATE INDEX proposals_department ON proposals (department, status);
