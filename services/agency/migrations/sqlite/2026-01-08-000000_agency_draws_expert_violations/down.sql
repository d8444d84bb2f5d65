DROP TABLE draw_agencies;
ALTER TABLE draws DROP COLUMN weighted;
ALTER TABLE draws DROP COLUMN subject;
DROP TABLE expert_violations;
