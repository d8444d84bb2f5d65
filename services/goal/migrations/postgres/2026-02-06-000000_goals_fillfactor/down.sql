ALTER TABLE goals RESET (fillfactor);
