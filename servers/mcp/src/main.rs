//! `dockerhub-mcp` binary.

fn main() {}
