//! How long platform rows are kept. Idempotency records answer retries of a request for a
//! stated retention (`pbm_server::mutation::IDEMPOTENCY_RETENTION`) and are then deleted; the
//! audit log is kept (it is the record auditors read).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::platform::schema::pbm_idempotency;
use crate::{AnyConnection, StoreError};

/// Deletes the idempotency records created before `before`; returns how many.
pub fn expire_idempotency(
    conn: &mut AnyConnection,
    before: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(pbm_idempotency::table.filter(pbm_idempotency::created_at.lt(before)))
            .execute(conn)?,
    )
}
