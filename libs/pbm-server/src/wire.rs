//! The `pbm.common.v1` forms every service writes the same way: audit stamps and exact
//! decimals.

use pbm_proto::common::v1 as common;
use pbm_types::Decimal;

/// Who did it and when: RFC 3339 UTC with microseconds and `Z`.
pub fn stamp(actor: &str, at: chrono::NaiveDateTime) -> common::AuditStamp {
    use chrono::{Datelike, Timelike};
    common::AuditStamp {
        actor: actor.to_owned(),
        // RFC 3339 with microseconds, written field by field: `format` parses its pattern on
        // every call, and every response that lists records writes several stamps each.
        at: format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            // A leap second (nanoseconds past 10^9) shows as :60, as chrono's `%S` does.
            at.second() + at.nanosecond() / 1_000_000_000,
            at.nanosecond() % 1_000_000_000 / 1_000
        ),
    }
}

/// An exact decimal on the wire (canonical text, never a float); `Some` for the optional
/// message fields it fills.
pub fn decimal(d: Decimal) -> Option<common::Decimal> {
    Some(common::Decimal {
        value: pbm_types::decimal::to_wire(d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_with_microseconds() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_micro_opt(8, 5, 1, 42)
            .unwrap();
        assert_eq!(stamp("u", at).at, "2026-11-23T08:05:01.000042Z");
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 1_500_000)
            .unwrap();
        assert_eq!(
            stamp("u", leap).at,
            format!("{}Z", leap.format("%Y-%m-%dT%H:%M:%S%.6f"))
        );
    }

    #[test]
    fn decimals_keep_their_exact_text() {
        assert_eq!(decimal(Decimal::new(8050, 2)).unwrap().value, "80.5");
    }
}
