-- 专家库: experts with encrypted personal data and their status history.

CREATE TABLE experts (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL,
    -- AES-256-GCM (nonce ‖ ciphertext ‖ tag); never stored in clear.
    id_number_enc   BYTEA NOT NULL,
    -- Keyed HMAC of the ID number: one expert per person, without decrypting.
    id_number_index TEXT NOT NULL UNIQUE,
    phone_enc       BYTEA NOT NULL,
    -- Masked forms (first 3, last 4) for lists.
    id_number_masked TEXT NOT NULL,
    phone_masked    TEXT NOT NULL,
    birth_date      DATE NOT NULL,
    title           TEXT NOT NULL,
    years_in_field  INTEGER NOT NULL CHECK (years_in_field >= 0),
    -- '|FIELD|FIELD|' so one field can be matched with LIKE.
    fields          TEXT NOT NULL,
    affiliation     TEXT NOT NULL,
    -- Employment history and declared relations (JSON).
    details         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'under_review', 'exited')),
    version         BIGINT NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL
);
CREATE INDEX experts_status ON experts (status);

CREATE TABLE expert_status_changes (
    id           BIGSERIAL PRIMARY KEY,
    expert_id    BIGINT NOT NULL REFERENCES experts (id),
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    changed_by   TEXT NOT NULL,
    changed_at   TIMESTAMP NOT NULL
);
CREATE INDEX expert_status_changes_expert ON expert_status_changes (expert_id, id);
