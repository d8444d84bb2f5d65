ALTER TABLE engagements DROP COLUMN cancel_reason;
ALTER TABLE engagements DROP COLUMN cancelled_at;
ALTER TABLE engagements DROP COLUMN cancelled_by;
