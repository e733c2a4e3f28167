//! Dashboard pages, embedded frontend assets and websockets (issue 5).

/// Registers the dashboard's routes.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    let _ = cfg;
}
