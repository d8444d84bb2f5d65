DROP INDEX pbm_outbox_published;
DROP TABLE pbm_dead_letters;
DROP TABLE pbm_event_cursors;
DROP TABLE pbm_processed_events;
