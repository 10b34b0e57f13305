//! The device line form: `<metric>:<number> key=value ...`, tokens split on
//! white space, e.g. `humidity:41 sensor_id=beta unit=% ts=2024-05-01T12:00:00Z`.
//!
//! Keys: `sensor_id` (required), `unit` (default by metric, see
//! [`default_unit`]), `ts` (as given: a number when it is an integer, else a
//! string; absent → the Kafka timestamp). Other keys are kept as string
//! fields after those. A key given twice keeps its last value; a key with an
//! empty value (`unit=`) counts as absent.

use serde_json::{Number, Value};

use crate::event::{default_ts, default_unit, parse_number, Event};
use crate::quote;

/// Parses a trimmed, non-empty line.
pub fn parse(line: &str, timestamp: i64) -> Result<Event, String> {
    let mut tokens = line.split_ascii_whitespace();
    let first = tokens.next().ok_or("empty line")?;
    let (metric, raw) = first
        .split_once(':')
        .filter(|(m, v)| !m.is_empty() && !v.is_empty())
        .ok_or_else(|| format!("expected <metric>:<value>, got {}", quote(first)))?;
    let value = parse_number(raw).ok_or_else(|| format!("value {} is not a number", quote(raw)))?;

    let (mut sensor_id, mut unit, mut ts) = (None, None, None);
    let mut extra: Vec<(String, Value)> = Vec::new();
    for tok in tokens {
        let (k, v) = tok
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("expected key=value, got {}", quote(tok)))?;
        let v = Some(v).filter(|v| !v.is_empty());
        match k {
            "sensor_id" => sensor_id = v,
            "unit" => unit = v,
            "ts" => ts = v,
            _ => {
                extra.retain(|(e, _)| e != k);
                if let Some(v) = v {
                    extra.push((k.to_string(), Value::String(v.to_string())));
                }
            }
        }
    }
    let sensor_id = sensor_id.ok_or("missing sensor_id")?;
    Ok(Event {
        sensor_id: sensor_id.to_string(),
        metric: metric.to_string(),
        value,
        unit: unit
            .or_else(|| default_unit(metric))
            .map(|u| Value::String(u.to_string())),
        ts: match ts {
            Some(t) => Some(t.parse::<i64>().map_or_else(
                |_| Value::String(t.to_string()),
                |n| Value::Number(Number::from(n)),
            )),
            None => default_ts(timestamp),
        },
        extra,
    })
}
