//! ASL timestamps: RFC 3339 with an uppercase `T` between date and time and an uppercase `Z`
//! when there is no numeric offset (the extra restrictions the ASL spec puts on RFC 3339).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

pub fn parse(text: &str) -> Option<OffsetDateTime> {
    if !text.contains('T') || text.contains('t') || text.contains('z') {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// The format Step Functions uses in the context object: UTC, milliseconds, `Z`.
pub fn format(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .expect("a UTC timestamp always formats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uppercase_t_and_z_are_required() {
        assert!(parse("2016-03-14T01:59:00Z").is_some());
        assert!(parse("2016-03-14T01:59:00.123+02:00").is_some());
        assert!(parse("2016-03-14t01:59:00Z").is_none());
        assert!(parse("2016-03-14T01:59:00z").is_none());
        assert!(parse("2016-03-14 01:59:00Z").is_none());
        assert!(parse("yesterday").is_none());
    }

    #[test]
    fn timestamps_are_formatted_in_utc_with_milliseconds() {
        let at = parse("2016-03-14T03:59:00.5+02:00").unwrap();
        assert_eq!(format(at), "2016-03-14T01:59:00.500Z");
    }
}
