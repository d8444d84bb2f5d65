-- Withdrawn engagements (撤销委托): who withdrew one, when and why. A withdrawn engagement is
-- never rated; its experts' workload rows lose their end date (engagement_experts.ended_on).
ALTER TABLE engagements ADD COLUMN cancelled_by TEXT;
ALTER TABLE engagements ADD COLUMN cancelled_at TIMESTAMP;
ALTER TABLE engagements ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';
