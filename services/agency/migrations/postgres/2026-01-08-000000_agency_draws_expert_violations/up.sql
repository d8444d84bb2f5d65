-- Violations of experts (as for agencies: a major one bars selection for the rules' window and
-- every one within the penalty window lowers the rating).
CREATE TABLE expert_violations (
    id           BIGSERIAL PRIMARY KEY,
    expert_id    BIGINT NOT NULL REFERENCES experts (id),
    occurred_on  DATE NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('minor', 'major')),
    description  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  TIMESTAMP NOT NULL
);
CREATE INDEX expert_violations_expert ON expert_violations (expert_id, occurred_on);

-- Draws of agencies share the draw record (seed, candidates, fingerprint, rules): `subject`
-- says what was drawn and `weighted` whether picks were weighted by rating.
ALTER TABLE draws ADD COLUMN subject TEXT NOT NULL DEFAULT 'experts'
    CHECK (subject IN ('experts', 'agencies'));
ALTER TABLE draws ADD COLUMN weighted BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE draw_agencies (
    draw_id     BIGINT NOT NULL REFERENCES draws (id),
    credit_code TEXT NOT NULL REFERENCES agencies (credit_code),
    round       INTEGER NOT NULL,
    answer      TEXT NOT NULL CHECK (answer IN ('pending', 'accepted', 'declined')),
    reason      TEXT NOT NULL,
    answered_at TIMESTAMP,
    PRIMARY KEY (draw_id, credit_code)
);
CREATE INDEX draw_agencies_agency ON draw_agencies (credit_code);
