ALTER TABLE draw_agencies DROP COLUMN pick_order;
ALTER TABLE draw_members DROP COLUMN pick_order;
