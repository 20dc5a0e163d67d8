//! MCP server benchmark (placeholder; filled in below).
fn main() {}
