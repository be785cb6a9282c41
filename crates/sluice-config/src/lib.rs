//! Sluice's configuration: the YAML schema, its validation, loading with `SLUICE__…`
//! environment overrides, and watching the file for hot reload.
//!
//! Loading happens in two stages. [`raw`] mirrors the YAML with `deny_unknown_fields`, each
//! section and each map entry deserialised on its own so that one mistake does not hide the
//! next. [`Config::from_value`] then checks cross-references (a policy naming a model that
//! does not exist, a model naming an unknown provider, ...) and produces the typed [`Config`]
//! the gateway runs on. Every error carries the YAML path it is about.
//!
//! Each top-level section has its own module under `section/` holding its raw structs, its
//! typed values and its checks; `check` runs them in order.
//!
//! This crate builds no services: it hands out values, and the gateway decides what to
//! rebuild from them.

mod check;
mod error;
mod load;
mod section;
pub mod watch;

pub use check::Config;
pub use error::{ConfigError, ConfigErrors};
pub use load::{file, load, load_str, Source, DEFAULT_YAML};
pub use section::cache::{CacheConfig, CacheScope};
pub use section::keys::{Budget, BudgetPeriod, KeyConfig};
pub use section::models::{ModelConfig, Pricing, Supports};
pub use section::outcomes::{OutcomesConfig, QualityConfig, StoreUrl, DEFAULT_RUBRIC};
pub use section::policies::{
    Aggregate, CascadeConfig, CompiledRegex, DecideAt, Overflow, PatternRule, PolicyConfig, Rules,
    SemanticRouteConfig, Strategy,
};
pub use section::providers::{LocalConfig, Protocol, ProviderConfig};
pub use section::router::{EmbedderConfig, RouterConfig};
pub use section::server::{parse_listen_or_off, ServerConfig};
pub use section::state::StateBackend;

/// The YAML schema as written by operators: the serde structs of every section, and the
/// word enums of their fixed-choice fields. Every field is documented on its struct.
pub mod raw {
    pub use crate::section::keys::{OnExceeded, RawBudget, RawKey, RawRateLimit};
    pub use crate::section::models::{RawModel, RawPricing, RawSupports};
    pub use crate::section::outcomes::{RawOutcomes, RawQuality};
    pub use crate::section::policies::{
        RawPattern, RawPolicy, RawRules, RawSemanticRoute, StrategyKind,
    };
    pub use crate::section::providers::{
        OnClientDisconnect, ProviderKind, RawLocalProvider, RawProvider, RawProviders,
    };
    pub use crate::section::router::{RawEmbedder, RawHead, RawRouter};
    pub use crate::section::server::RawServer;
    pub use crate::section::Word;
}
