-- The version being worked on (the state's `version`) as a column, so that a goal and its
-- current declaration are read in one statement.
ALTER TABLE goals ADD COLUMN working_version INTEGER NOT NULL DEFAULT 1;
UPDATE goals SET working_version = (state::json->>'version')::INTEGER;
