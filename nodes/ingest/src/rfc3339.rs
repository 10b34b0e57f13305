//! Unix milliseconds to RFC 3339 in UTC with milliseconds, the form the
//! pipeline uses: `2024-05-01T12:00:00.000Z`. A few lines of calendar
//! arithmetic rather than a date crate.

/// The last instant with a four-digit year: 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// `2024-05-01T12:00:00.000Z` for 1714564800000; `None` before 1970 (Kafka
/// uses -1 for "no timestamp") or after year 9999.
pub fn from_millis(ms: i64) -> Option<String> {
    if !(0..=MAX_MILLIS).contains(&ms) {
        return None;
    }
    let (days, rem) = (ms / 86_400_000, ms % 86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z"
    ))
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::from_millis;

    #[test]
    fn known_instants() {
        assert_eq!(from_millis(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            from_millis(1_714_564_800_000).unwrap(),
            "2024-05-01T12:00:00.000Z"
        );
        assert_eq!(
            from_millis(1_700_000_000_123).unwrap(),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            from_millis(951_825_600_000).unwrap(),
            "2000-02-29T12:00:00.000Z"
        );
        assert_eq!(
            from_millis(253_402_300_799_999).unwrap(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(from_millis(-1), None);
        assert_eq!(from_millis(253_402_300_800_000), None);
    }
}
