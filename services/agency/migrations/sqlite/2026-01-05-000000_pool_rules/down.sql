DROP TABLE pool_rules;
