DROP TABLE library_clashes;
DROP TABLE library_mirror;
DROP TABLE library_log;
ALTER TABLE indicator_versions DROP COLUMN origin_version;
ALTER TABLE indicator_versions DROP COLUMN origin;
