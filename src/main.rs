//! `dockerhub`: the Docker Hub CLI (see `docs/cli.md`).

use std::process::ExitCode;

fn main() -> ExitCode {
    dockerhub_api::cli::main(std::env::args_os().collect())
}
