//! Docker Hub agent.
