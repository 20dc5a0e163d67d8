//! CLI benchmarks (filled in below).
fn main() {}
