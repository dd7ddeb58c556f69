//! Human durations as written in manifests: `90s`, `5m`, `1h30m`, `2h`, `0s`.

/// The longest duration a manifest may ask for anywhere (a Step Functions task token lives a year,
/// but a deployment that waits longer than a week is a mistake, not a plan).
pub const MAX_SECONDS: u64 = 7 * 24 * 3600;

/// Parses `1h30m`, `90s`, `5m`, `2h`, `1d`. Units must appear largest first, each at most once.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("expected a duration like 90s, 5m or 1h30m, found an empty string".into());
    }
    let units = [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)];
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut last_unit_index: Option<usize> = None;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let Some(index) = units.iter().position(|(unit, _)| *unit == ch) else {
            return Err(format!(
                "expected a duration like 90s, 5m or 1h30m, found `{text}` (unknown unit `{ch}`; use d, h, m or s)"
            ));
        };
        if digits.is_empty() {
            return Err(format!(
                "expected a duration like 90s, 5m or 1h30m, found `{text}` (a number must come before `{ch}`)"
            ));
        }
        if last_unit_index.is_some_and(|last| index <= last) {
            return Err(format!(
                "expected a duration like 90s, 5m or 1h30m, found `{text}` (units go largest first, each once)"
            ));
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| format!("duration `{text}` is too long"))?;
        total = value
            .checked_mul(units[index].1)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(|| format!("duration `{text}` is too long"))?;
        digits.clear();
        last_unit_index = Some(index);
    }
    if !digits.is_empty() {
        return Err(format!(
            "expected a duration like 90s, 5m or 1h30m, found `{text}` (a unit is missing after {digits}; write {digits}s or {digits}m)"
        ));
    }
    Ok(total)
}

/// `count` seconds as a span of time (saturating: manifest durations are far below the limit).
pub fn seconds(count: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(count).unwrap_or(i64::MAX / 2))
}

/// Formats seconds the way a person writes them: `5m`, `1h30m`, `45s`, `0s`.
pub fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".into();
    }
    let mut rest = seconds;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_compound_units() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("1d2h3m4s"), Ok(93_784));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn refuses_bare_numbers_unknown_units_and_disorder() {
        assert!(
            parse_duration("90")
                .unwrap_err()
                .contains("unit is missing")
        );
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(
            parse_duration("30m1h")
                .unwrap_err()
                .contains("largest first")
        );
        assert!(
            parse_duration("m")
                .unwrap_err()
                .contains("number must come")
        );
        assert!(parse_duration("").is_err());
        assert!(
            parse_duration("99999999999999999999d")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn formats_round_trip() {
        for seconds in [0, 1, 59, 60, 61, 300, 3600, 5400, 86_400, 93_784] {
            assert_eq!(parse_duration(&format_duration(seconds)), Ok(seconds));
        }
    }
}
