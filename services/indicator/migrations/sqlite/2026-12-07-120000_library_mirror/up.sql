-- Following an upstream library (docs/INDICATOR.md "Following an upstream library").

-- Who owns each version: '' for this deployment's own, else the origin region, with the
-- version number the origin gave it.
ALTER TABLE indicator_versions ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE indicator_versions ADD COLUMN origin_version BIGINT NOT NULL DEFAULT 0;

-- Every frame creation or change and every indicator version written, in commit order (SQLite
-- has one writer at a time), for followers' cursors. Compacted to the newest N rows.
CREATE TABLE library_log (
    revision     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('frame', 'indicator')),
    key          TEXT NOT NULL,
    version      BIGINT NOT NULL,
    fiscal_year  INTEGER NOT NULL,
    logged_at    TIMESTAMP NOT NULL
);

-- The follower's position in its upstream's log, advanced with the changes it covers.
CREATE TABLE library_mirror (
    upstream         TEXT PRIMARY KEY,
    cursor           TEXT NOT NULL,
    last_applied_at  TIMESTAMP,
    resyncs          BIGINT NOT NULL
);

-- Upstream indicators or frame nodes that met a local one of the same code.
CREATE TABLE library_clashes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    key              TEXT NOT NULL,
    upstream_region  TEXT NOT NULL,
    detail           TEXT NOT NULL,
    recorded_at      TIMESTAMP NOT NULL
);
