/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A plan handed to `save_plan` names a dependency that is not in the plan.
    #[error("invalid plan: {0}")]
    InvalidPlan(String),
    /// `create_main_release` for an app and ref that already have an active release (at most
    /// one may be active, migration 0006).
    #[error(
        "release {id} of {app_project} at {app_ref} is still {state}: finish or cancel it first"
    )]
    ActiveRelease {
        id: i64,
        app_project: String,
        app_ref: String,
        /// The active release's state, by its stored name (e.g. `analyzing`).
        state: String,
    },
}
