DROP INDEX projects_unit;
