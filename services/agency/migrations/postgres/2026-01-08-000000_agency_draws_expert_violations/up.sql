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

-- Draws count each expert's workload in the fiscal year (engagements ended, draws accepted) on
-- every draw: the engagement's end date is kept beside each of its experts (it never changes
-- after the engagement is recorded), so the count reads one index.
ALTER TABLE engagement_experts ADD COLUMN ended_on DATE;
UPDATE engagement_experts
    SET ended_on = (SELECT e.ended_on FROM engagements e WHERE e.id = engagement_experts.engagement_id);
CREATE INDEX engagement_experts_ended_on ON engagement_experts (ended_on, expert_id);
CREATE INDEX draws_on_date ON draws (on_date);

-- A counter bumped by every write to the experts table: draws keep the experts' eligibility
-- facts in memory and reload them only when this stamp moved.
CREATE TABLE pool_stamps (
    name  TEXT PRIMARY KEY,
    stamp BIGINT NOT NULL
);
INSERT INTO pool_stamps (name, stamp) VALUES ('experts', 0);
CREATE FUNCTION bump_experts_stamp() RETURNS trigger AS $$
BEGIN
    UPDATE pool_stamps SET stamp = stamp + 1 WHERE name = 'experts';
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER experts_stamp AFTER INSERT OR UPDATE OR DELETE ON experts
    FOR EACH STATEMENT EXECUTE FUNCTION bump_experts_stamp();
