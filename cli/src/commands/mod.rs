//! One module per subcommand.

pub mod check_config;
pub mod demo;
pub mod inspect;
pub mod release;
pub mod service;
pub mod sim;
