//! Route handlers, one module per area of the Hub API.

pub mod access_tokens;
pub mod audit;
pub mod auth;
pub mod invites;
pub mod members;
pub mod oats;
pub mod repos;
pub mod scim;
pub mod settings;
pub mod tags;
pub mod teams;
pub mod user;
