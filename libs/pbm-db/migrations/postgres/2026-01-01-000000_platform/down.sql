DROP TABLE pbm_outbox;
DROP TABLE pbm_audit_log;
DROP TABLE pbm_idempotency;
