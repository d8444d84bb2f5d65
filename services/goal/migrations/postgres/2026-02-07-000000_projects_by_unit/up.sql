-- Who may register a project for a unit asks which department the unit's latest project is
-- registered under (every year of it): the unit's projects by year.
CREATE INDEX projects_unit ON projects (agency_code, fiscal_year);
