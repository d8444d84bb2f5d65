-- The order in which a round drew its members (0, 1, …): a draw is read and replayed in the
-- order it was made. Members recorded before the order was kept have none (NULL).
ALTER TABLE draw_members ADD COLUMN pick_order INTEGER;
ALTER TABLE draw_agencies ADD COLUMN pick_order INTEGER;
