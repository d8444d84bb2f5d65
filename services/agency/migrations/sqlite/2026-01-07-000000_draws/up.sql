-- Random draws of experts: the eligible candidate set, the seed, every round and every answer,
-- so an auditor can replay a draw years later.
CREATE TABLE draws (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_ref        TEXT NOT NULL,
    field           TEXT NOT NULL,
    count           INTEGER NOT NULL,
    evaluated_party TEXT NOT NULL,
    kind            TEXT NOT NULL,
    on_date         DATE NOT NULL,
    seed            TEXT NOT NULL,
    -- JSON [[id, weight], …] sorted by id, and its SHA-256.
    candidates      TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    rules           TEXT NOT NULL,
    version         BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX draws_task ON draws (task_ref);

CREATE TABLE draw_members (
    draw_id     BIGINT NOT NULL REFERENCES draws (id),
    expert_id   BIGINT NOT NULL REFERENCES experts (id),
    round       INTEGER NOT NULL,
    answer      TEXT NOT NULL CHECK (answer IN ('pending', 'accepted', 'declined')),
    reason      TEXT NOT NULL,
    answered_at TIMESTAMP,
    PRIMARY KEY (draw_id, expert_id)
);
CREATE INDEX draw_members_expert ON draw_members (expert_id);
