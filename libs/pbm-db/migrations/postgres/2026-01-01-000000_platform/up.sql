-- Platform tables every PBM service keeps in its own database.

-- Idempotency: the first response to a client request id, so a retry returns it again.
CREATE TABLE pbm_idempotency (
    service      TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    subject      TEXT NOT NULL,
    method       TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     BYTEA NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (service, request_id)
);

-- Audit trail: who did what, when, with what outcome. Written in the same transaction as the
-- effect (successful mutations) or on its own (refused ones).
CREATE TABLE pbm_audit_log (
    id           BIGSERIAL PRIMARY KEY,
    occurred_at  TIMESTAMP NOT NULL,
    service      TEXT NOT NULL,
    method       TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    subject      TEXT NOT NULL,
    role         TEXT NOT NULL,
    mof_div_code TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX pbm_audit_log_entity ON pbm_audit_log (entity_type, entity_id);
CREATE INDEX pbm_audit_log_subject ON pbm_audit_log (subject, occurred_at);

-- Transactional outbox: events written with the change, published afterwards.
CREATE TABLE pbm_outbox (
    id           BIGSERIAL PRIMARY KEY,
    occurred_at  TIMESTAMP NOT NULL,
    service      TEXT NOT NULL,
    topic        TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    payload      TEXT NOT NULL,
    published_at TIMESTAMP
);
CREATE INDEX pbm_outbox_unpublished ON pbm_outbox (id) WHERE published_at IS NULL;
