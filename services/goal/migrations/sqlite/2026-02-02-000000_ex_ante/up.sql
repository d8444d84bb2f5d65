-- 事前绩效评估 reports, one per project and year (a resubmission replaces it and waits for a new
-- review); `report` is the checked report as JSON, conclusion and review state copied out for
-- the funding gate.
CREATE TABLE ex_ante_reports (
    pro_code       TEXT NOT NULL,
    fiscal_year    INTEGER NOT NULL,
    report         TEXT NOT NULL,
    conclusion     TEXT NOT NULL,
    review_state   TEXT NOT NULL,
    review_opinion TEXT NOT NULL,
    rules          TEXT NOT NULL,
    version        BIGINT NOT NULL,
    submitted_by   TEXT NOT NULL,
    submitted_at   TIMESTAMP NOT NULL,
    reviewed_by    TEXT,
    reviewed_at    TIMESTAMP,
    PRIMARY KEY (pro_code, fiscal_year)
);
