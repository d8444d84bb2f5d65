DROP TABLE expert_status_changes;
DROP TABLE experts;
