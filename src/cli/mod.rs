//! The `dockerhub` command-line interface.

use std::ffi::OsString;
use std::process::ExitCode;

/// Run the CLI with `args` (program name first) and return the exit code.
pub fn main(_args: Vec<OsString>) -> ExitCode {
    ExitCode::SUCCESS
}
