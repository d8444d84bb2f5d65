DROP TABLE pbm_audit_chain;
DROP INDEX pbm_audit_log_unsealed;
DROP INDEX pbm_audit_log_chain_seq;
ALTER TABLE pbm_audit_log DROP COLUMN chain_hash;
ALTER TABLE pbm_audit_log DROP COLUMN chain_seq;
ALTER TABLE pbm_audit_log DROP COLUMN row_mac;
