//! Chat templates, rendered with minijinja the way transformers' `apply_chat_template`
//! renders them: `trim_blocks` and `lstrip_blocks` on, `messages`, `add_generation_prompt`,
//! `bos_token`/`eos_token` (and the other special tokens) in the context, a
//! `raise_exception(msg)` function, Python string methods (`.strip()`, `.startswith()`, …)
//! through minijinja-contrib's pycompat, and `strftime_now`.

use std::path::Path;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::Value as Json;

use crate::model::read_json;
use crate::LocalError;

pub struct ChatTemplate {
    env: Environment<'static>,
    /// Special tokens from tokenizer_config.json (`bos_token`, `eos_token`, …).
    specials: Vec<(String, String)>,
}

/// A special token entry is either a string or `{"content": "..."}`.
fn token_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Object(o) => o.get("content").and_then(Json::as_str).map(str::to_owned),
        _ => None,
    }
}

impl ChatTemplate {
    /// From a model folder's `tokenizer_config.json` (or `chat_template.jinja` beside it).
    pub fn from_model_dir(dir: &Path) -> Result<ChatTemplate, LocalError> {
        let path = dir.join("tokenizer_config.json");
        let cfg = read_json(&path)?;
        let source = match cfg.get("chat_template") {
            Some(Json::String(s)) => s.clone(),
            // A list of named templates: the "default" one.
            Some(Json::Array(list)) => list
                .iter()
                .find(|t| t.get("name").and_then(Json::as_str) == Some("default"))
                .and_then(|t| t.get("template").and_then(Json::as_str))
                .map(str::to_owned)
                .ok_or_else(|| LocalError::Load {
                    file: path.display().to_string(),
                    message: "field 'chat_template' is a list without a \"default\" entry".into(),
                })?,
            _ => std::fs::read_to_string(dir.join("chat_template.jinja")).map_err(|_| LocalError::Load {
                file: path.display().to_string(),
                message: "no field 'chat_template' (and no chat_template.jinja): cannot format chat messages".into(),
            })?,
        };
        let specials = ["bos_token", "eos_token", "unk_token", "pad_token"]
            .iter()
            .filter_map(|k| cfg.get(*k).and_then(token_text).map(|v| (k.to_string(), v)))
            .collect();
        ChatTemplate::new(source, specials).map_err(|e| LocalError::Load {
            file: path.display().to_string(),
            message: format!("field 'chat_template' does not compile: {e}"),
        })
    }

    pub fn new(
        source: String,
        specials: Vec<(String, String)>,
    ) -> Result<ChatTemplate, LocalError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| LocalError::Template(e.to_string()))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<Value, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_function("strftime_now", |fmt: String| strftime_now(&fmt));
        env.add_template_owned("chat", source)
            .map_err(|e| LocalError::Template(e.to_string()))?;
        Ok(ChatTemplate { env, specials })
    }

    /// Renders a conversation. `messages` are OpenAI-style objects (`role`, `content` as a
    /// string — callers flatten content parts first — and any other fields such as
    /// `tool_calls`); `tools` is passed through for templates that describe them.
    pub fn render(
        &self,
        messages: &[Json],
        add_generation_prompt: bool,
        tools: Option<&Json>,
    ) -> Result<String, LocalError> {
        let tmpl = self
            .env
            .get_template("chat")
            .map_err(|e| LocalError::Template(e.to_string()))?;
        let mut ctx = serde_json::Map::new();
        ctx.insert("messages".into(), Json::Array(messages.to_vec()));
        ctx.insert(
            "add_generation_prompt".into(),
            Json::Bool(add_generation_prompt),
        );
        if let Some(t) = tools {
            ctx.insert("tools".into(), t.clone());
        }
        for (k, v) in &self.specials {
            ctx.insert(k.clone(), Json::String(v.clone()));
        }
        tmpl.render(Value::from(minijinja::value::Serde(Json::Object(ctx))))
            .map_err(|e| LocalError::Template(e.to_string()))
    }
}

/// `strftime_now(format)` as transformers provides it, for templates that print the date.
/// Supports %d %m %Y %y %b %B %H %M %S %%.
fn strftime_now(fmt: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS[(m - 1) as usize];
    let (h, mi, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('Y') => out.push_str(&y.to_string()),
            Some('y') => out.push_str(&format!("{:02}", y % 100)),
            Some('b') => out.push_str(&month[..3]),
            Some('B') => out.push_str(month),
            Some('H') => out.push_str(&format!("{h:02}")),
            Some('M') => out.push_str(&format!("{mi:02}")),
            Some('S') => out.push_str(&format!("{s:02}")),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}
