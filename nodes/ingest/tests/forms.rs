//! Each input form to its sensor event JSON.

use ingest::parse;

/// 2024-05-01T12:00:00.000Z
const TS: i64 = 1_714_564_800_000;

fn json(input: &str) -> String {
    let e = parse(Some(input.as_bytes()), TS).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    String::from_utf8(e.to_json()).unwrap()
}

#[test]
fn device_lines() {
    let cases = [
        (
            "temperature:24.5 sensor_id=alpha",
            r#"{"sensor_id":"alpha","metric":"temperature","value":24.5,"unit":"C","ts":"2024-05-01T12:00:00.000Z"}"#,
        ),
        (
            "humidity:41 sensor_id=beta unit=% ts=2024-05-01T12:00:00Z",
            r#"{"sensor_id":"beta","metric":"humidity","value":41,"unit":"%","ts":"2024-05-01T12:00:00Z"}"#,
        ),
        (
            "pressure:1013.2 sensor_id=gamma ts=1714564800",
            r#"{"sensor_id":"gamma","metric":"pressure","value":1013.2,"unit":"hPa","ts":1714564800}"#,
        ),
        // Surrounding and repeated white space, sensor_id as given, an
        // explicit unit over the default, a float ts kept as a string.
        (
            "  \ttemperature:-3.25   sensor_id=Alpha-7  unit=F ts=1714564800.5 \r\n",
            r#"{"sensor_id":"Alpha-7","metric":"temperature","value":-3.25,"unit":"F","ts":"1714564800.5"}"#,
        ),
        // A metric without a default unit; extra keys are kept; the default
        // unit is found whatever the metric's case.
        (
            "co2:415 sensor_id=delta site=plant-1",
            r#"{"sensor_id":"delta","metric":"co2","value":415,"ts":"2024-05-01T12:00:00.000Z","site":"plant-1"}"#,
        ),
        (
            "Temperature:1e2 sensor_id=a sensor_id=b",
            r#"{"sensor_id":"b","metric":"Temperature","value":100.0,"unit":"C","ts":"2024-05-01T12:00:00.000Z"}"#,
        ),
        (
            "humidity:55 sensor_id=e unit= ts=",
            r#"{"sensor_id":"e","metric":"humidity","value":55,"unit":"%","ts":"2024-05-01T12:00:00.000Z"}"#,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(json(input), want, "{input:?}");
    }
}

#[test]
fn json_lines() {
    let cases = [
        (
            r#"{"sensor_id":"alpha","metric":"temperature","value":24.5}"#,
            r#"{"sensor_id":"alpha","metric":"temperature","value":24.5,"unit":"C","ts":"2024-05-01T12:00:00.000Z"}"#,
        ),
        // Members reordered, extras kept in input order, unit and ts as given.
        (
            r#" {"site":"plant-1","ts":"2024-05-01 12:00:00","value":41,"unit":"%","metric":"humidity","sensor_id":"Beta ","tags":["a",1]} "#,
            r#"{"sensor_id":"Beta ","metric":"humidity","value":41,"unit":"%","ts":"2024-05-01 12:00:00","site":"plant-1","tags":["a",1]}"#,
        ),
        // A numeric string value becomes a number; null unit and ts default.
        (
            r#"{"sensor_id":"gamma","metric":"pressure","value":" 1013.2","unit":null,"ts":null}"#,
            r#"{"sensor_id":"gamma","metric":"pressure","value":1013.2,"unit":"hPa","ts":"2024-05-01T12:00:00.000Z"}"#,
        ),
        (
            r#"{"sensor_id":"x","metric":"co2","value":400,"ts":1714564800}"#,
            r#"{"sensor_id":"x","metric":"co2","value":400,"ts":1714564800}"#,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(json(input), want, "{input:?}");
    }
}

#[test]
fn no_kafka_timestamp_leaves_ts_out() {
    let e = parse(Some(b"temperature:20 sensor_id=a"), -1).unwrap();
    assert_eq!(
        String::from_utf8(e.to_json()).unwrap(),
        r#"{"sensor_id":"a","metric":"temperature","value":20,"unit":"C"}"#
    );
}
