DROP TABLE agency_violations;
DROP TABLE agency_status_changes;
DROP TABLE agencies;
DROP TABLE admission_batches;
