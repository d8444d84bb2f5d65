ALTER TABLE goals DROP COLUMN working_version;
