//! The checked configuration the gateway runs on, and the pass that builds it. Each
//! section module checks its own fields; this module reads the sections in order, hands
//! each check the sections it refers to (models name providers, policies name models and
//! router heads, keys name policies and models), and collects every error.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ConfigError;
use crate::section::keys::{check_key, KeyConfig, RawKey};
use crate::section::models::{check_model, ModelConfig, RawModel};
use crate::section::outcomes::{check_outcomes, OutcomesConfig, RawOutcomes};
use crate::section::policies::{check_policy, PolicyConfig, RawPolicy};
use crate::section::providers::{
    check_local, check_provider, provider_entries, LocalConfig, ProviderConfig,
};
use crate::section::router::{check_router, RawRouter, RouterConfig};
use crate::section::server::{check_server, RawServer, ServerConfig};
use crate::section::state::{check_state, StateBackend};

/// A validated configuration. Cheap to share: the gateway holds it in an `Arc` and swaps the
/// whole thing on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub providers: BTreeMap<String, Arc<ProviderConfig>>,
    /// Providers with `kind: local`: in-process models.
    pub locals: BTreeMap<String, Arc<LocalConfig>>,
    pub models: BTreeMap<String, ModelConfig>,
    pub policies: BTreeMap<String, PolicyConfig>,
    /// Present when the config has a `router` section.
    pub router: Option<RouterConfig>,
    /// Gateway API keys by id; empty: no authentication.
    pub keys: BTreeMap<String, KeyConfig>,
    /// Where rate-limit and budget counters live.
    pub state: StateBackend,
    /// The outcome store; `None` when the config has no `outcomes` section.
    pub outcomes: Option<OutcomesConfig>,
}

const SECTIONS: &[&str] = &[
    "server",
    "providers",
    "models",
    "policies",
    "router",
    "keys",
    "state",
    "outcomes",
];

impl Config {
    /// Checks a parsed document (YAML after env overrides) and returns every problem found.
    pub fn from_value(doc: &Value) -> Result<Config, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let Some(top) = doc.as_object() else {
            return Err(vec![ConfigError::new(
                "",
                "expected a mapping at the top level",
            )]);
        };
        for key in top.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                errors.push(ConfigError::new(
                    key.clone(),
                    format!("unknown section, expected one of: {}", SECTIONS.join(", ")),
                ));
            }
        }

        // Shapes first: every entry deserialised on its own.
        let raw_server: RawServer = match top.get("server") {
            Some(v) => section(v, "server", &mut errors).unwrap_or_default(),
            None => RawServer::default(),
        };
        let raw_providers = provider_entries(top.get("providers"), &mut errors);
        let raw_models: BTreeMap<String, RawModel> =
            entries(top.get("models"), "models", &mut errors);
        let raw_policies: BTreeMap<String, RawPolicy> =
            entries(top.get("policies"), "policies", &mut errors);
        let raw_router: Option<RawRouter> = match top.get("router") {
            None | Some(Value::Null) => None,
            Some(v) => section(v, "router", &mut errors),
        };

        // Then values and references, each section after the ones it names.
        let router = raw_router.map(|r| check_router(r, &mut errors));
        let server = check_server(raw_server, &mut errors);

        let mut providers = BTreeMap::new();
        for (name, p) in raw_providers.upstream {
            let path = format!("providers.{name}");
            if let Some(provider) = check_provider(&name, p, &path, &mut errors) {
                providers.insert(name, Arc::new(provider));
            }
        }
        let mut locals = BTreeMap::new();
        for (name, l) in raw_providers.local {
            let path = format!("providers.{name}");
            if let Some(local) = check_local(&name, l, &path, &mut errors) {
                locals.insert(name, Arc::new(local));
            }
        }

        let mut models = BTreeMap::new();
        for (name, m) in raw_models {
            let model = check_model(name.clone(), m, &providers, &locals, &mut errors);
            models.insert(name, model);
        }

        let mut policies = BTreeMap::new();
        for (name, p) in raw_policies {
            let path = format!("policies.{name}");
            if let Some(policy) =
                check_policy(&name, p, &path, &models, router.as_ref(), &mut errors)
            {
                policies.insert(name, policy);
            }
        }

        let raw_keys: BTreeMap<String, RawKey> = entries(top.get("keys"), "keys", &mut errors);
        let mut keys = BTreeMap::new();
        for (id, k) in raw_keys {
            if let Some(key) = check_key(&id, k, &models, &policies, &mut errors) {
                keys.insert(id, key);
            }
        }

        let state = check_state(top.get("state"), &mut errors);
        let outcomes = match top.get("outcomes") {
            None | Some(Value::Null) => None,
            Some(v) => section::<RawOutcomes>(v, "outcomes", &mut errors)
                .and_then(|r| check_outcomes(r, &mut errors)),
        };

        if errors.is_empty() {
            Ok(Config {
                server,
                providers,
                locals,
                models,
                policies,
                router,
                keys,
                state,
                outcomes,
            })
        } else {
            Err(errors)
        }
    }

    /// Every name a client may put in `model`: policies first, then models not shadowed by
    /// a policy of the same name.
    pub fn exposed_names(&self) -> impl Iterator<Item = (&str, bool)> {
        self.policies.keys().map(|k| (k.as_str(), true)).chain(
            self.models
                .keys()
                .filter(|k| !self.policies.contains_key(*k))
                .map(|k| (k.as_str(), false)),
        )
    }
}

/// `, expected one of: a, b` for an unknown-name error; empty when there is nothing to name.
pub(crate) fn one_of<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(", expected one of: {}", names.join(", "))
    }
}

/// Deserialises one value found at `path`; on failure records the error at the full path of
/// the offending field.
pub(crate) fn section<T: DeserializeOwned>(
    v: &Value,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let full = if inner == "." || inner.is_empty() {
                path.to_owned()
            } else {
                format!("{path}.{inner}")
            };
            errors.push(ConfigError::new(full, e.into_inner().to_string()));
            None
        }
    }
}

/// Deserialises each entry of a map section on its own, so every broken entry is reported.
pub(crate) fn entries<T: DeserializeOwned>(
    v: Option<&Value>,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if k.is_empty() {
                    errors.push(ConfigError::new(path, "names must not be empty"));
                    continue;
                }
                if let Some(t) = section(v, &format!("{path}.{k}"), errors) {
                    out.insert(k.clone(), t);
                }
            }
        }
        Some(_) => errors.push(ConfigError::new(
            path,
            "expected a mapping of names to entries",
        )),
    }
    out
}
