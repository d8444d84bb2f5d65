-- Reviewers of a goal drawn from the agency and expert pool (the draw stays in the agency
-- service; its id is kept here). A reviewer reads the goal and may record the review.
CREATE TABLE goal_reviewers (
    goal_id     BIGINT NOT NULL REFERENCES goals (id),
    kind        TEXT NOT NULL CHECK (kind IN ('expert', 'agency')),
    reviewer_id TEXT NOT NULL,
    draw_id     BIGINT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (goal_id, kind, reviewer_id)
);
CREATE INDEX goal_reviewers_reviewer ON goal_reviewers (reviewer_id);
