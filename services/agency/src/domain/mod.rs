//! Pure rules of the agency and expert pool: no transport, no database.
