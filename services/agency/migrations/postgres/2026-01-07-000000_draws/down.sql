DROP TABLE draw_members;
DROP TABLE draws;
