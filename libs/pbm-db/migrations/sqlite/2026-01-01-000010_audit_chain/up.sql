-- A tamper-evident audit trail (docs/SECURITY.md "Audit log"). Each row written from now on
-- carries row_mac, an HMAC-SM3 of its fields under the audit key; a sealer then chains the rows
-- in the order it seals them: chain_seq 1, 2, 3 … without gaps, chain_hash = HMAC-SM3 of the
-- previous chain_hash, the sequence number and row_mac. A row whose row_mac fails is never
-- sealed: the sealer marks it chain_hash = 'rejected' and the verifier reports it.
ALTER TABLE pbm_audit_log ADD COLUMN row_mac TEXT;
ALTER TABLE pbm_audit_log ADD COLUMN chain_seq BIGINT;
ALTER TABLE pbm_audit_log ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX pbm_audit_log_chain_seq ON pbm_audit_log (chain_seq)
    WHERE chain_seq IS NOT NULL;
CREATE INDEX pbm_audit_log_unsealed ON pbm_audit_log (id)
    WHERE chain_seq IS NULL AND chain_hash IS NULL;

-- The chain's one head, locked by the sealer only (writers never touch it). legacy_through: the
-- last row written before this migration (those rows have no row_mac; they are sealed with one
-- computed when the chain starts, and bound into the chain's first link).
CREATE TABLE pbm_audit_chain (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    legacy_through BIGINT NOT NULL,
    head_seq       BIGINT NOT NULL,
    head_hash      TEXT NOT NULL
);
INSERT INTO pbm_audit_chain (id, legacy_through, head_seq, head_hash)
    SELECT 1, COALESCE(MAX(id), 0), 0, '' FROM pbm_audit_log;
