DROP TABLE goal_reviewers;
