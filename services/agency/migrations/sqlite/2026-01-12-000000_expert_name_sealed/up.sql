-- Experts' names are personal data: kept encrypted (PiiCipher, like their 身份证号 and phones).
-- SQL cannot encrypt, so the clear column stays for the rows stored before: the service seals
-- each of their names into name_enc and empties the clear column at startup, before it answers
-- (ops::personal::seal_stored); new rows store an empty clear name. Nothing sorts, filters or
-- searches experts by name in SQL. The emptied column can be dropped by a later migration, once
-- every deployment has started on this one (docs/SECURITY.md "Personal data at rest").
ALTER TABLE experts ADD COLUMN name_enc BLOB;
