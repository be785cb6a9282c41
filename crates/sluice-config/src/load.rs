//! Reading a config source: YAML text, then `SLUICE__SECTION__KEY` environment overrides
//! (through the `config` crate), then validation.

use std::path::{Path, PathBuf};

use crate::check::Config;
use crate::error::{ConfigError, ConfigErrors};

/// `config/default.yaml`, built into the binary so `sluice serve` runs with no file at all.
pub const DEFAULT_YAML: &str = include_str!("../../../config/default.yaml");

/// Where a configuration came from; reload re-reads the same source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Embedded,
    File(PathBuf),
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::Embedded => "<embedded default config>".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Loads and validates a config source, applying environment overrides.
pub fn load(source: &Source) -> Result<Config, ConfigErrors> {
    let text = match source {
        Source::Embedded => DEFAULT_YAML.to_owned(),
        Source::File(p) => std::fs::read_to_string(p).map_err(|e| ConfigErrors {
            source_name: source.name(),
            errors: vec![ConfigError::new("", format!("cannot read file: {e}"))],
        })?,
    };
    load_str(&text, &source.name())
}

/// Like [`load`], from text already in memory; `name` is used in error messages.
pub fn load_str(yaml: &str, name: &str) -> Result<Config, ConfigErrors> {
    let wrap = |errors| ConfigErrors {
        source_name: name.to_owned(),
        errors,
    };
    let doc = parse(yaml).map_err(|e| wrap(vec![e]))?;
    Config::from_value(&doc).map_err(wrap)
}

fn parse(yaml: &str) -> Result<serde_json::Value, ConfigError> {
    let built = config::Config::builder()
        .add_source(config::File::from_str(yaml, config::FileFormat::Yaml))
        .add_source(
            config::Environment::with_prefix("SLUICE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .build()
        .map_err(|e| ConfigError::new("", format!("invalid YAML: {e}")))?;
    let value: serde_json::Value = built
        .try_deserialize()
        .map_err(|e| ConfigError::new("", format!("invalid YAML: {e}")))?;
    Ok(match value {
        // An empty file is an empty config, which is valid (and serves nothing).
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        v => v,
    })
}

/// Convenience for tests and `check-config`: a path as a [`Source`].
pub fn file(path: impl AsRef<Path>) -> Source {
    Source::File(path.as_ref().to_owned())
}
