-- SQL cannot decrypt: the clear column comes back as 1900-01-01 for every expert. Whoever
-- reverts must set each expert's birth date again from its 身份证号 (digits 7–14).
ALTER TABLE experts ADD COLUMN birth_date DATE NOT NULL DEFAULT '1900-01-01';
ALTER TABLE experts DROP COLUMN birth_date_enc;
