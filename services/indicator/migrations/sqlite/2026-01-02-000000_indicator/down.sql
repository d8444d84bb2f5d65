DROP TABLE proposals;
DROP TABLE indicators;
DROP TABLE indicator_versions;
DROP TABLE frame_nodes;
DROP TABLE frames;
