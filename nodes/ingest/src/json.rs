//! The JSON form: one object with at least `sensor_id`, `metric` and
//! `value`, e.g. `{"sensor_id":"alpha","metric":"temperature","value":24.5,"site":"plant-1"}`.
//!
//! It is normalised into the same shape as a device line: `value` may be a
//! number or a numeric string (devices send both); `unit` and `ts` are kept
//! as given, and default as for lines when absent or null; every other
//! member is kept, in input order, after those five.

use serde_json::{Map, Value};

use crate::event::{default_ts, default_unit, parse_number, Event};
use crate::quote;

/// Parses a trimmed line that starts with `{` or `[`.
pub fn parse(text: &str, timestamp: i64) -> Result<Event, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut m) = v else {
        return Err(format!(
            "invalid JSON: expected an object, got {}",
            describe(&v)
        ));
    };
    let sensor_id = required_string(&mut m, "sensor_id")?;
    let metric = required_string(&mut m, "metric")?;
    let value = match take(&mut m, "value") {
        None => return Err("missing value".into()),
        Some(Value::Number(n)) => n,
        Some(Value::String(s)) => {
            parse_number(s.trim()).ok_or_else(|| format!("value {} is not a number", quote(&s)))?
        }
        Some(other) => return Err(format!("value {} is not a number", describe(&other))),
    };
    let unit =
        take(&mut m, "unit").or_else(|| default_unit(&metric).map(|u| Value::String(u.into())));
    let ts = take(&mut m, "ts").or_else(|| default_ts(timestamp));
    Ok(Event {
        sensor_id,
        metric,
        value,
        unit,
        ts,
        extra: m.into_iter().collect(),
    })
}

/// Removes a member, keeping the others in order; null counts as absent.
fn take(m: &mut Map<String, Value>, key: &str) -> Option<Value> {
    m.shift_remove(key).filter(|v| !v.is_null())
}

fn required_string(m: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match take(m, key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        None | Some(Value::String(_)) => Err(format!("missing {key}")),
        Some(other) => Err(format!("{key} must be a string, got {}", describe(&other))),
    }
}

/// A JSON value for an error message: scalars with their text, containers
/// by their kind.
fn describe(v: &Value) -> String {
    match v {
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
        Value::String(s) => format!("string {}", quote(s)),
        other => other.to_string(),
    }
}
