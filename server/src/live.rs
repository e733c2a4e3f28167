//! The live hub: pushes newly recorded release events to open pages (issue 5).
//!
//! Contract used by startup: `LiveHub::start(store: convoy_store::Store) -> LiveHub` (Clone),
//! registered as `web::Data<LiveHub>`.
