//! The `convoy` binary's library: configuration, wiring of store, queue, forge, server and
//! worker, the API client, and one module per subcommand. Integration tests start Convoy
//! through the same [`wiring`] functions the binary uses.

pub mod client;
pub mod commands;
pub mod config;
pub mod shutdown;
pub mod telemetry;
pub mod wiring;
