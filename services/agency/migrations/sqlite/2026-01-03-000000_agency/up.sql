-- 第三方机构库: admission batches, agencies, their status history and violations.

CREATE TABLE admission_batches (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    procurement_ref TEXT NOT NULL,
    qualified_from  DATE NOT NULL,
    qualified_to    DATE NOT NULL CHECK (qualified_to >= qualified_from),
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE agencies (
    credit_code          TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    agency_type          TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    -- Lead evaluators, branches, staff, contacts, relations (JSON; read and written whole).
    details              TEXT NOT NULL,
    -- '|scope|scope|' so one scope can be matched with LIKE.
    scopes               TEXT NOT NULL,
    lead_evaluators      INTEGER NOT NULL,
    admission_batch_id   BIGINT NOT NULL REFERENCES admission_batches (id),
    status               TEXT NOT NULL CHECK (status IN ('admitted', 'warned', 'suspended', 'removed')),
    suspended_until      DATE,
    version              BIGINT NOT NULL,
    changed_by           TEXT NOT NULL,
    changed_at           TIMESTAMP NOT NULL
);
CREATE INDEX agencies_batch ON agencies (admission_batch_id);

CREATE TABLE agency_status_changes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    credit_code  TEXT NOT NULL REFERENCES agencies (credit_code),
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    until        DATE,
    changed_by   TEXT NOT NULL,
    changed_at   TIMESTAMP NOT NULL
);
CREATE INDEX agency_status_changes_agency ON agency_status_changes (credit_code, id);

CREATE TABLE agency_violations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    credit_code  TEXT NOT NULL REFERENCES agencies (credit_code),
    occurred_on  DATE NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('minor', 'major')),
    description  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  TIMESTAMP NOT NULL
);
CREATE INDEX agency_violations_agency ON agency_violations (credit_code, occurred_on);
