-- SQL cannot decrypt: the clear column stays empty for every expert whose name was sealed.
-- Whoever reverts must set each expert's name again.
ALTER TABLE experts DROP COLUMN name_enc;
