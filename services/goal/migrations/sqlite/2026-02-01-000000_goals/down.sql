DROP TABLE goal_rules;
DROP TABLE goal_events;
DROP TABLE goal_versions;
DROP TABLE goals;
DROP TABLE projects;
