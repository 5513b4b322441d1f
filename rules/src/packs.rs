//! Built-in rule packs: the rules every operator wants for a kind of log, shipped as TOML
//! documents (rules/packs/*.toml) compiled into the binary, so that a source of that kind
//! yields metrics and alerts with no rule written.
//!
//! A pack is `description`, a `[params]` table of defaults and `[[rules]]` in the usual
//! rule syntax, where `${param}` stands for a parameter's value. The configuration
//! overrides parameters by name (`[packs.windows] failed_logons = 20`); substitution is
//! textual, before the TOML is parsed, and an override must have its default's type (an
//! integer may stand for a float), so a pack cannot be turned into something else.

use std::collections::BTreeMap;

use serde::Deserialize;
use serversage_parsers::EventKind;

use crate::config::{ConfigError, RuleConfig};

/// One built-in pack.
#[derive(Debug, Clone, Copy)]
pub struct Pack {
    /// Name, the key under `[packs]` and the prefix of its rule names.
    pub name: &'static str,
    /// The event kind whose sources turn it on by default.
    pub kind: EventKind,
    /// The TOML document.
    pub text: &'static str,
}

/// Every built-in pack.
pub const PACKS: [Pack; 4] = [
    Pack {
        name: "kernel",
        kind: EventKind::Kernel,
        text: include_str!("../packs/kernel.toml"),
    },
    Pack {
        name: "gc",
        kind: EventKind::Gc,
        text: include_str!("../packs/gc.toml"),
    },
    Pack {
        name: "db",
        kind: EventKind::SlowQuery,
        text: include_str!("../packs/db.toml"),
    },
    Pack {
        name: "windows",
        kind: EventKind::Windows,
        text: include_str!("../packs/windows.toml"),
    },
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    // Read by `Pack::head`; here only so that deny_unknown_fields accepts them.
    #[allow(dead_code)]
    description: String,
    #[allow(dead_code)]
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    rules: Vec<RuleConfig>,
}

/// The pack called `name`.
pub fn find(name: &str) -> Option<&'static Pack> {
    PACKS.iter().find(|p| p.name == name)
}

impl Pack {
    /// The pack's description and its parameters with their defaults.
    pub fn head(&self) -> Result<(String, BTreeMap<String, toml::Value>), String> {
        // The `[params]` table holds no placeholder: parse the document up to the rules.
        let params_end = self.text.find("[[rules]]").unwrap_or(self.text.len());
        let head: PackHead =
            toml::from_str(&self.text[..params_end]).map_err(|e| e.message().to_string())?;
        Ok((head.description, head.params))
    }

    /// The pack's rules with `overrides` applied; errors name `<key>.<param>` (for
    /// `key = "packs.gc"`) and the reason.
    pub fn rules(
        &self,
        overrides: &BTreeMap<String, toml::Value>,
        key: &str,
    ) -> Result<Vec<RuleConfig>, Vec<ConfigError>> {
        let (_, defaults) = self
            .head()
            .map_err(|e| vec![ConfigError::new(key, format!("built-in pack: {e}"))])?;
        let mut errors = Vec::new();
        let mut values = defaults.clone();
        for (name, value) in overrides {
            match defaults.get(name) {
                None => errors.push(ConfigError::new(
                    format!("{key}.{name}"),
                    format!(
                        "the {} pack has no parameter {name:?} (parameters: {})",
                        self.name,
                        defaults.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )),
                Some(default) if !same_type(default, value) => errors.push(ConfigError::new(
                    format!("{key}.{name}"),
                    format!(
                        "must be a {} like the default {default}, not {value}",
                        default.type_str()
                    ),
                )),
                Some(_) => {
                    values.insert(name.clone(), value.clone());
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let text = substitute(self.text, &values)
            .map_err(|e| vec![ConfigError::new(key, format!("built-in pack: {e}"))])?;
        let file: PackFile = toml::from_str(&text).map_err(|e| {
            vec![ConfigError::new(
                key,
                format!("built-in pack: {}", e.message()),
            )]
        })?;
        Ok(file.rules)
    }
}

#[derive(Deserialize)]
struct PackHead {
    description: String,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
}

fn same_type(default: &toml::Value, value: &toml::Value) -> bool {
    use toml::Value::*;
    matches!(
        (default, value),
        (String(_), String(_))
            | (Integer(_), Integer(_))
            | (Float(_), Float(_) | Integer(_))
            | (Boolean(_), Boolean(_))
    ) || matches!((default, value), (Array(_), Array(_)))
}

/// Replaces each `${name}` by the parameter's value: strings without quotes (the pack
/// quotes them, and quotes and backslashes are escaped), numbers and booleans as TOML
/// writes them, arrays as TOML arrays.
fn substitute(text: &str, values: &BTreeMap<String, toml::Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find('}')
            .ok_or_else(|| "unclosed ${ in the pack".to_string())?;
        let name = &rest[at + 2..at + end];
        let value = values
            .get(name)
            .ok_or_else(|| format!("${{{name}}} is not a parameter"))?;
        match value {
            toml::Value::String(s) => out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\"")),
            toml::Value::Float(f) => out.push_str(&format!("{f:?}")),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests;
