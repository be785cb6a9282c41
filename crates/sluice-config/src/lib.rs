//! Sluice's configuration: the YAML schema, its validation, loading with `SLUICE__…`
//! environment overrides, and watching the file for hot reload.
//!
//! Loading happens in two stages. [`raw`] mirrors the YAML with `deny_unknown_fields`, each
//! section and each map entry deserialised on its own so that one mistake does not hide the
//! next. [`Config::from_raw`] then checks cross-references (a policy naming a model that does
//! not exist, a model naming an unknown provider, ...) and produces the typed [`Config`] the
//! gateway runs on. Every error carries the YAML path it is about.
//!
//! This crate builds no services: it hands out values, and the gateway decides what to
//! rebuild from them.

mod error;
mod load;
pub mod raw;
mod typed;
pub mod watch;

pub use error::{ConfigError, ConfigErrors};
pub use load::{file, load, load_str, Source, DEFAULT_YAML};
pub use typed::*;
