use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A database failure, classified so services can map it to a gRPC status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("row not found")]
    NotFound,
    /// A unique constraint was violated (PostgreSQL 23505, SQLite UNIQUE).
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    #[error("foreign key violated: {0}")]
    ForeignKeyViolation(String),
    /// A serialization failure or deadlock: the client may retry (PostgreSQL 40001/40P01).
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// No connection could be had (pool exhausted, server down).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let detail = info
                    .constraint_name()
                    .map_or_else(|| info.message().to_owned(), str::to_owned);
                match kind {
                    DatabaseErrorKind::UniqueViolation => StoreError::UniqueViolation(detail),
                    DatabaseErrorKind::ForeignKeyViolation => {
                        StoreError::ForeignKeyViolation(detail)
                    }
                    DatabaseErrorKind::SerializationFailure => StoreError::Conflict(detail),
                    DatabaseErrorKind::ClosedConnection => StoreError::Unavailable(detail),
                    _ if info.message().contains("database is locked") => {
                        StoreError::Conflict(detail)
                    }
                    _ => StoreError::Other(info.message().to_owned()),
                }
            }
            other => StoreError::Other(other.to_string()),
        }
    }
}
