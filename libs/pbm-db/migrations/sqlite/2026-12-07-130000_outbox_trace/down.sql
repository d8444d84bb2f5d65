ALTER TABLE pbm_outbox DROP COLUMN trace_context;
