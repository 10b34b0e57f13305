//! The sensor event both input forms become, and how it is written.

use serde_json::{Map, Number, Value};

use crate::rfc3339;

/// A sensor event, as written to events.parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The sensor, as given (the filter stage normalises it).
    pub sensor_id: String,
    /// What was measured, as given.
    pub metric: String,
    /// The measurement.
    pub value: Number,
    /// The unit; `None` leaves it out (a metric without a default unit).
    pub unit: Option<Value>,
    /// The time of the measurement; `None` leaves it out (no `ts` and no
    /// usable Kafka timestamp).
    pub ts: Option<Value>,
    /// Other fields, in input order, after the five above.
    pub extra: Vec<(String, Value)>,
}

impl Event {
    /// Compact JSON with the members in the order sensor_id, metric, value,
    /// unit, ts, then the extra fields.
    pub fn to_json(&self) -> Vec<u8> {
        let mut m = Map::new();
        m.insert("sensor_id".into(), Value::String(self.sensor_id.clone()));
        m.insert("metric".into(), Value::String(self.metric.clone()));
        m.insert("value".into(), Value::Number(self.value.clone()));
        if let Some(u) = &self.unit {
            m.insert("unit".into(), u.clone());
        }
        if let Some(t) = &self.ts {
            m.insert("ts".into(), t.clone());
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        serde_json::to_vec(&Value::Object(m)).expect("a JSON value always serialises")
    }
}

/// The unit a metric has when the input gives none: the generator's three
/// metrics (matched case-insensitively, as the filter lower-cases metrics
/// and then requires a unit for temperature).
pub fn default_unit(metric: &str) -> Option<&'static str> {
    match metric.to_ascii_lowercase().as_str() {
        "temperature" => Some("C"),
        "humidity" => Some("%"),
        "pressure" => Some("hPa"),
        _ => None,
    }
}

/// A measurement written as text: an integer stays an integer (`41`, not
/// `41.0`), anything else Rust reads as a finite float (`24.5`, `-3`,
/// `1e3`, `.5`) becomes a float. NaN and infinities are not numbers in
/// JSON, so they are refused.
pub fn parse_number(s: &str) -> Option<Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    s.parse::<f64>().ok().and_then(Number::from_f64)
}

/// `ts` when the input has none: the Kafka record's timestamp in RFC 3339,
/// or nothing for a record without one (negative) or beyond year 9999.
pub fn default_ts(timestamp: i64) -> Option<Value> {
    rfc3339::from_millis(timestamp).map(Value::String)
}
