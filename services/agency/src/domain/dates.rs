//! Calendar arithmetic shared by the rules: exact ages (周岁) and "within the last N months"
//! windows. One definition for the whole crate, so an engagement's `age_months` shown in a
//! rating explanation and the windows used for violations and recusal always agree.

use chrono::{Datelike, Months, NaiveDate};

/// Age in completed years (周岁) on `on` of someone born on `birth`: the year difference,
/// minus one when the birthday has not yet come in `on`'s year. Someone born on 29 February
/// turns a year older on 1 March in common years. 0 when `on` is before `birth`.
pub fn age_years(birth: NaiveDate, on: NaiveDate) -> u32 {
    if on <= birth {
        return 0;
    }
    let before_birthday = (on.month(), on.day()) < (birth.month(), birth.day());
    let years = on.year() - birth.year() - i32::from(before_birthday);
    u32::try_from(years).unwrap_or(0)
}

/// `as_of` minus `months` calendar months; the day is clamped to the end of a shorter month
/// (31 March − 1 month = 28/29 February). Saturates at [`NaiveDate::MIN`].
pub fn months_before(as_of: NaiveDate, months: u32) -> NaiveDate {
    as_of
        .checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// True when `date` lies in the last `months` months up to `as_of`, both ends included:
/// `months_before(as_of, months) <= date <= as_of`. Dates after `as_of` are not within.
pub fn within_months(date: NaiveDate, as_of: NaiveDate, months: u32) -> bool {
    months_before(as_of, months) <= date && date <= as_of
}

/// [`within_months`] for whole years (12 months each).
pub fn within_years(date: NaiveDate, as_of: NaiveDate, years: u32) -> bool {
    within_months(date, as_of, years.saturating_mul(12))
}

/// How many months ago `date` was, seen from `as_of`: the smallest `m` with
/// `months_before(as_of, m) <= date`, so that `months_ago(d, t) <= m` exactly when
/// `within_months(d, t, m)` (for `d <= t`). The same day is 0 months ago, one day to one month
/// ago is 1, exactly twelve months ago is 12, twelve months and a day is 13. Dates on or after
/// `as_of` are 0 months ago.
pub fn months_ago(date: NaiveDate, as_of: NaiveDate) -> u32 {
    if date >= as_of {
        return 0;
    }
    let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    // `as_of - diff` months falls in `date`'s month; one month fewer falls after `date`.
    let diff = u32::try_from(index(as_of) - index(date)).unwrap_or(u32::MAX);
    if months_before(as_of, diff) <= date {
        diff
    } else {
        diff.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn age_counts_completed_years() {
        assert_eq!(age_years(d(1956, 3, 15), d(2026, 3, 14)), 69);
        assert_eq!(age_years(d(1956, 3, 15), d(2026, 3, 15)), 70);
        assert_eq!(age_years(d(1956, 3, 15), d(2027, 3, 14)), 70);
        assert_eq!(age_years(d(1956, 3, 15), d(2027, 3, 15)), 71);
        assert_eq!(age_years(d(2030, 1, 1), d(2026, 1, 1)), 0);
    }

    #[test]
    fn leap_day_birthdays_turn_on_first_of_march() {
        let birth = d(1956, 2, 29);
        assert_eq!(age_years(birth, d(2026, 2, 28)), 69);
        assert_eq!(age_years(birth, d(2026, 3, 1)), 70);
        assert_eq!(age_years(birth, d(2028, 2, 29)), 72);
    }

    #[test]
    fn months_ago_counts_started_months() {
        let t = d(2026, 1, 15);
        assert_eq!(months_ago(d(2026, 1, 15), t), 0);
        assert_eq!(months_ago(d(2026, 2, 1), t), 0);
        assert_eq!(months_ago(d(2026, 1, 14), t), 1);
        assert_eq!(months_ago(d(2025, 12, 15), t), 1);
        assert_eq!(months_ago(d(2025, 12, 14), t), 2);
        assert_eq!(months_ago(d(2025, 1, 15), t), 12);
        assert_eq!(months_ago(d(2025, 1, 14), t), 13);
        assert_eq!(months_ago(d(2023, 1, 15), t), 36);
        assert_eq!(months_ago(d(2023, 1, 14), t), 37);
    }

    #[test]
    fn month_ends_are_clamped_consistently() {
        // 31 March − 1 month = 28 February (2026 is a common year).
        assert_eq!(months_before(d(2026, 3, 31), 1), d(2026, 2, 28));
        assert_eq!(months_ago(d(2026, 2, 28), d(2026, 3, 31)), 1);
        assert_eq!(months_ago(d(2026, 2, 27), d(2026, 3, 31)), 2);
        assert!(within_months(d(2026, 2, 28), d(2026, 3, 31), 1));
        assert!(!within_months(d(2026, 2, 27), d(2026, 3, 31), 1));
    }

    #[test]
    fn windows_include_both_ends_and_exclude_the_future() {
        let t = d(2026, 6, 30);
        assert!(within_years(d(2023, 6, 30), t, 3));
        assert!(!within_years(d(2023, 6, 29), t, 3));
        assert!(within_years(t, t, 3));
        assert!(!within_years(d(2026, 7, 1), t, 3));
    }

    #[test]
    fn months_ago_agrees_with_windows() {
        let t = d(2024, 3, 31);
        let mut date = d(2020, 1, 1);
        while date <= t {
            for m in [0, 1, 6, 12, 24, 36] {
                assert_eq!(
                    months_ago(date, t) <= m,
                    within_months(date, t, m),
                    "{date} {m}"
                );
            }
            date = date.succ_opt().unwrap();
        }
    }
}
