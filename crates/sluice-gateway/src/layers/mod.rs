//! The request path's layers, one concern per file, in the order `stack.rs` puts them.

pub mod admission;
pub mod auth;
pub mod cache;
pub mod header_limit;
pub mod ledger;
pub mod limits;
pub mod outcome;
pub mod request_id;
pub mod route;
