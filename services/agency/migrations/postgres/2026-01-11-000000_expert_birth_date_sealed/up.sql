-- Experts' birth dates are personal data: kept only encrypted (PiiCipher, like the 身份证号 they
-- come from), never in clear. Rows stored before have none yet: the service computes it from
-- the encrypted 身份证号 (digits 7–14, GB 11643-1999) and seals it at startup, before it
-- answers (ops::personal::seal_stored), so no birth date is lost.
ALTER TABLE experts ADD COLUMN birth_date_enc BYTEA;
ALTER TABLE experts DROP COLUMN birth_date;
