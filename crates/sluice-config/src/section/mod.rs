//! The YAML schema as written by operators, one module per top-level section. Each module
//! holds the section's raw serde structs (which mirror the YAML with `deny_unknown_fields`),
//! the typed values the gateway runs on, and the checks that turn one into the other.
//!
//! Every field is documented on its raw struct; the README's configuration reference
//! follows these files, in the order `server`, `providers`, `models`, `policies`, `router`,
//! `keys`, `state`.

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde_json::Value;

use crate::error::ConfigError;

pub mod cache;
pub mod keys;
pub mod models;
pub mod outcomes;
pub mod policies;
pub mod providers;
pub mod router;
pub mod server;
pub mod state;

/// A field that takes one of a fixed set of words (`drain`/`cancel`, `day`/`month`, ...),
/// parsed by `T`'s serde derive (a `rename_all = "snake_case"` enum of unit variants).
///
/// A string that is not one of the words does not fail its whole entry: it is kept here
/// and reported by the section's check at the field's path, beside the entry's other
/// mistakes (a policy with `strategy: magic` and an unknown `target` gets both errors). A
/// value that is not a string at all is a type error like any other and fails the entry.
/// Either message lists the accepted words.
#[derive(Debug, Clone)]
pub struct Word<T>(Result<T, String>);

impl<T: DeserializeOwned> Word<T> {
    pub(crate) fn from_value(value: Value) -> Self {
        Word(T::deserialize(WordDeserializer(value)).map_err(|e| e.to_string()))
    }
}

impl<T> Word<T> {
    /// The word, or `None` with the problem recorded at `path`.
    pub(crate) fn check(self, path: String, errors: &mut Vec<ConfigError>) -> Option<T> {
        self.0
            .map_err(|message| errors.push(ConfigError::new(path, message)))
            .ok()
    }
}

/// The field's default when it is absent.
impl<T: Default> Default for Word<T> {
    fn default() -> Self {
        Word(Ok(T::default()))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Word<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let is_word = value.is_string();
        match Word::from_value(value) {
            Word(Err(message)) if !is_word => Err(de::Error::custom(message)),
            word => Ok(word),
        }
    }
}

/// Hands a YAML value to an enum's derive as a word. Only a string names a variant
/// (serde_json alone would also take a one-key map, and answer a number with "expected
/// string or map"); anything else is refused with the accepted words.
struct WordDeserializer(Value);

impl<'de> Deserializer<'de> for WordDeserializer {
    type Error = serde_json::Error;

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            other => {
                let words: Vec<String> = variants.iter().map(|v| format!("`{v}`")).collect();
                let expected = match words.as_slice() {
                    [a, b] => format!("{a} or {b}"),
                    _ => format!("one of {}", words.join(", ")),
                };
                Err(de::Error::custom(format!(
                    "expected {expected}, got {other}"
                )))
            }
        }
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// `variant:` of local providers and of the embedder.
fn default_variant() -> String {
    "model.onnx".into()
}
