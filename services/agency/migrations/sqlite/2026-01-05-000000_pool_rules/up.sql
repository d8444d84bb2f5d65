-- The pool rules of this region per fiscal year (entry rules, rating rubric, decay, shrinkage,
-- penalties, credit grades and actions, draw rules), as JSON; versioned, never deleted.
CREATE TABLE pool_rules (
    fiscal_year INTEGER NOT NULL,
    version     BIGINT NOT NULL,
    rules       TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (fiscal_year, version)
);
