//! Raw flag values into domain values, each failure one `error:` line that names the flag.

use std::str::FromStr;

use memory_core::{Category, Confidence, Layer, MemoryId, Metadata, NamespaceKey, Timestamp};
use serde_json::Value;

use crate::error::CliError;

/// A namespace key given with `flag`.
pub fn namespace(flag: &str, raw: &str) -> Result<NamespaceKey, CliError> {
    NamespaceKey::new(raw).map_err(|e| CliError::invalid_input(format!("{flag}: {e}")))
}

/// A value of one of the core's text enums (layer, sensitivity, kind, status, ...).
pub fn text_enum<T: FromStr<Err = memory_core::Error>>(flag: &str, raw: &str) -> Result<T, CliError> {
    raw.parse().map_err(|e: memory_core::Error| CliError::invalid_input(format!("{flag}: {}", e.message())))
}

/// A layer.
pub fn layer(flag: &str, raw: &str) -> Result<Layer, CliError> {
    text_enum(flag, raw)
}

/// A category.
pub fn category(flag: &str, raw: &str) -> Result<Category, CliError> {
    Category::new(raw).map_err(|e| CliError::invalid_input(format!("{flag}: {}", e.message())))
}

/// A confidence in 0..=1; `f64` parsing alone would let `NaN` and `inf` through.
pub fn confidence(flag: &str, raw: &str) -> Result<Confidence, CliError> {
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|_| CliError::invalid_input(format!("{flag}: {raw:?} is not a number; give one in 0..=1")))?;
    Confidence::new(value).map_err(|e| CliError::invalid_input(format!("{flag}: {}", e.message())))
}

/// An RFC 3339 time.
pub fn timestamp(flag: &str, raw: &str) -> Result<Timestamp, CliError> {
    Timestamp::parse_rfc3339(raw).map_err(|e| CliError::invalid_input(format!("{flag}: {}", e.message())))
}

/// A memory id (a UUID).
pub fn memory_id(raw: &str) -> Result<MemoryId, CliError> {
    raw.parse().map_err(|e: memory_core::Error| CliError::invalid_input(e.message()))
}

/// A whole number in `min..=max`.
pub fn whole(flag: &str, raw: &str, min: u64, max: u64) -> Result<u64, CliError> {
    raw.trim().parse::<u64>().ok().filter(|n| (min..=max).contains(n)).ok_or_else(|| {
        CliError::invalid_input(format!("{flag}: expected a whole number in {min}..={max}, got {raw:?}"))
    })
}

/// `KEY=VALUE` entries as metadata; VALUE is JSON when it parses as JSON, else the text itself
/// (so `--meta project=alpha` needs no quoting). A key given twice is an error.
pub fn metadata(flag: &str, entries: &[String]) -> Result<Metadata, CliError> {
    let mut metadata = Metadata::new();
    for entry in entries {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(CliError::invalid_input(format!("{flag} {entry:?}: expected KEY=VALUE")));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(CliError::invalid_input(format!("{flag} {entry:?}: the key is empty")));
        }
        let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        if metadata.insert(key.to_owned(), value).is_some() {
            return Err(CliError::invalid_input(format!("{flag}: the key {key:?} is given twice")));
        }
    }
    Ok(metadata)
}

/// A number of seconds (fractions allowed), 0..=86400.
pub fn seconds(flag: &str, raw: &str) -> Result<std::time::Duration, CliError> {
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|_| CliError::invalid_input(format!("{flag}: {raw:?} is not a number of seconds")))?;
    if !(0.0..=86_400.0).contains(&value) {
        return Err(CliError::invalid_input(format!("{flag}: {raw} is outside 0..=86400 seconds")));
    }
    Ok(std::time::Duration::from_secs_f64(value))
}
