-- A replacement round that could not be drawn after a decline (every eligible candidate already
-- drawn): the decline stands, the draw says why it has no replacement (docs/AGENCY.md).
CREATE TABLE draw_shortfalls (
    draw_id     BIGINT NOT NULL REFERENCES draws (id),
    round       INTEGER NOT NULL,
    declined    TEXT NOT NULL,
    message     TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (draw_id, round)
);
