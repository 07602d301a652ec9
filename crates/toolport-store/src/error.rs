//! [`StoreError`]: what every store operation can fail with, independent of the backend.
//!
//! Messages name the kind of record involved, never a bound value: a secret's sealed text, a token
//! or its hash never appear in an error.

/// A store operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record (or one it refers to, such as the tenant of a new token) does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken, e.g. a second tenant with the same name.
    #[error("conflict: {0}")]
    Conflict(String),
    /// An argument the store refuses before touching the database (e.g. an imported token without
    /// the `tp_` prefix).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A creation would take the tenant past the limit it was given; the tenant holds this many.
    #[error("limit reached: the tenant already holds {0}")]
    LimitReached(u64),
    /// The database failed (I/O, locking, corruption, a value it holds cannot be read back).
    #[error("database error: {0}")]
    Database(String),
    /// The schema could not be brought up to date, or is newer than this build.
    #[error("migration failed: {0}")]
    Migration(String),
}

impl StoreError {
    /// Maps a backend error: unique violations become [`StoreError::Conflict`] (with `conflict` as
    /// the message), foreign-key violations [`StoreError::NotFound`] (`missing`), anything else
    /// [`StoreError::Database`]. The classification uses `sqlx`'s portable error kinds, so every
    /// backend maps the same way.
    pub(crate) fn from_sqlx(err: sqlx::Error, conflict: &str, missing: &'static str) -> Self {
        if let sqlx::Error::Database(db) = &err {
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return Self::Conflict(conflict.to_owned());
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => return Self::NotFound(missing),
                _ => {}
            }
        }
        Self::Database(err.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err.to_string())
    }
}
