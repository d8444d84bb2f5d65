-- Ex-ante assessments commissioned to a third-party agency drawn from the pool (the draw and the
-- engagement stay in the agency service; their ids are kept here). One per project and year.
CREATE TABLE ex_ante_commissions (
    pro_code           TEXT NOT NULL,
    fiscal_year        INTEGER NOT NULL,
    agency_credit_code TEXT NOT NULL,
    draw_id            BIGINT NOT NULL,
    engagement_id      BIGINT NOT NULL,
    due_on             DATE NOT NULL,
    request_id         TEXT NOT NULL,
    commissioned_by    TEXT NOT NULL,
    commissioned_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (pro_code, fiscal_year),
    FOREIGN KEY (pro_code, fiscal_year) REFERENCES projects (pro_code, fiscal_year)
);
CREATE INDEX ex_ante_commissions_agency ON ex_ante_commissions (agency_credit_code);
