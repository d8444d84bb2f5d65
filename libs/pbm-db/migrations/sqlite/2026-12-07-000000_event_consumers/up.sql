-- Event consumers (docs/ARCHITECTURE.md "Events"): what each consumer of this database applied,
-- where an embedded consumer has read the outboxes to, and what it gave up on.

-- Idempotency by event id: a consumer's effect and this row commit in one transaction, so an
-- event delivered again is recognised and skipped.
CREATE TABLE pbm_processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

-- Embedded delivery: how far each consumer has read each source outbox, in the order the relay
-- published it (published_at, id).
CREATE TABLE pbm_event_cursors (
    consumer     TEXT NOT NULL,
    source       TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    last_id      BIGINT NOT NULL,
    PRIMARY KEY (consumer, source)
);

-- Dead letters: events a consumer failed permanently or too many times; an operator inspects
-- and replays them (docs/OPERATIONS.md "Dead letters").
CREATE TABLE pbm_dead_letters (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer         TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    topic            TEXT NOT NULL,
    event            TEXT NOT NULL,
    reason           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    first_failed_at  TIMESTAMP NOT NULL,
    last_failed_at   TIMESTAMP NOT NULL,
    replayed_at      TIMESTAMP
);
CREATE UNIQUE INDEX pbm_dead_letters_event ON pbm_dead_letters (consumer, event_id);

-- Embedded consumers read published rows in publication order.
CREATE INDEX pbm_outbox_published ON pbm_outbox (published_at, id);
