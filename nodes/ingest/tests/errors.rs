//! Each reason a record is refused with, exactly: the runtime puts it in the
//! DLQ record's `sluice.error` header.

use ingest::parse;

#[test]
fn reasons() {
    let long = format!("{} sensor_id=a", "m".repeat(100));
    let cases: &[(&[u8], &str)] = &[
        (b"temperature:24.5", "missing sensor_id"),
        (b"temperature:24.5 unit=C sensor_id=", "missing sensor_id"),
        (
            b"temperature:abc sensor_id=alpha",
            r#"value "abc" is not a number"#,
        ),
        (
            b"temperature:NaN sensor_id=alpha",
            r#"value "NaN" is not a number"#,
        ),
        (
            b"temperature:inf sensor_id=alpha",
            r#"value "inf" is not a number"#,
        ),
        (
            b"temperature 24.5 sensor_id=alpha",
            r#"expected <metric>:<value>, got "temperature""#,
        ),
        (
            b"sensor_id=alpha temperature:24.5",
            r#"expected <metric>:<value>, got "sensor_id=alpha""#,
        ),
        (
            b"temperature: sensor_id=alpha",
            r#"expected <metric>:<value>, got "temperature:""#,
        ),
        (
            b":24.5 sensor_id=alpha",
            r#"expected <metric>:<value>, got ":24.5""#,
        ),
        (
            long.as_bytes(),
            r#"expected <metric>:<value>, got "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm...""#,
        ),
        (
            b"temperature:24.5 sensor_id=alpha oops",
            r#"expected key=value, got "oops""#,
        ),
        (
            b"temperature:24.5 =alpha",
            r#"expected key=value, got "=alpha""#,
        ),
        (b"", "empty line"),
        (b" \t\r\n ", "empty line"),
        (
            br#"{"sensor_id":"alpha","metric":"temperature","value":24.5"#,
            "invalid JSON: EOF while parsing an object at line 1 column 56",
        ),
        (
            br#"{"sensor_id":alpha}"#,
            "invalid JSON: expected value at line 1 column 14",
        ),
        (
            br#"{"sensor_id":"#,
            "invalid JSON: EOF while parsing a value at line 1 column 13",
        ),
        (br#"[1,2]"#, "invalid JSON: expected an object, got array"),
        (
            br#"{"metric":"temperature","value":24.5}"#,
            "missing sensor_id",
        ),
        (
            br#"{"sensor_id":"","metric":"temperature","value":24.5}"#,
            "missing sensor_id",
        ),
        (
            br#"{"sensor_id":null,"metric":"temperature","value":24.5}"#,
            "missing sensor_id",
        ),
        (
            br#"{"sensor_id":42,"metric":"temperature","value":24.5}"#,
            "sensor_id must be a string, got 42",
        ),
        (br#"{"sensor_id":"a","value":24.5}"#, "missing metric"),
        (br#"{"value":1,"sensor_id":"a"}"#, "missing metric"),
        (
            br#"{"sensor_id":"a","metric":"temperature"}"#,
            "missing value",
        ),
        (
            br#"{"sensor_id":"a","metric":"temperature","value":"abc"}"#,
            r#"value "abc" is not a number"#,
        ),
        (
            br#"{"sensor_id":"a","metric":"temperature","value":true}"#,
            "value true is not a number",
        ),
        (
            br#"{"sensor_id":"a","metric":"temperature","value":[1]}"#,
            "value array is not a number",
        ),
        (
            &[b't', b':', b'1', b' ', 0xff],
            "line is not valid UTF-8: invalid utf-8 sequence of 1 bytes from index 4",
        ),
    ];
    for (input, want) in cases {
        let got = parse(Some(input), 0).map(|e| String::from_utf8(e.to_json()).unwrap());
        assert_eq!(
            got,
            Err(want.to_string()),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(parse(None, 0), Err("empty line (null value)".to_string()));
}
