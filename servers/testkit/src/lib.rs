//! Test support shared by the servers' test suites. Not published.

pub mod deploy;
pub mod otlp;
