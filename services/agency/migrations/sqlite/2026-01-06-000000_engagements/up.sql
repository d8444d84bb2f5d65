-- Engagements (委托) of agencies and experts, and their rating on the rubric.
CREATE TABLE engagements (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    commissioner       TEXT NOT NULL,
    evaluated_party    TEXT NOT NULL,
    kind               TEXT NOT NULL,
    agency_credit_code TEXT REFERENCES agencies (credit_code),
    started_on         DATE NOT NULL,
    ended_on           DATE NOT NULL CHECK (ended_on >= started_on),
    -- Criterion scores as JSON once rated.
    scores             TEXT NOT NULL,
    score              TEXT,
    rules              TEXT NOT NULL,
    version            BIGINT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    rated_by           TEXT,
    rated_at           TIMESTAMP
);
CREATE INDEX engagements_agency ON engagements (agency_credit_code);

CREATE TABLE engagement_experts (
    engagement_id BIGINT NOT NULL REFERENCES engagements (id),
    expert_id     BIGINT NOT NULL REFERENCES experts (id),
    PRIMARY KEY (engagement_id, expert_id)
);
CREATE INDEX engagement_experts_expert ON engagement_experts (expert_id);
