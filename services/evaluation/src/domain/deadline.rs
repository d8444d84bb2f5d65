//! A sheet's deadline status: submitted, overdue, due soon or normal (docs/EVALUATION.md
//! "Deadlines"; the lead days and the deadline are the campaign's, the deadline the unit's own
//! once finance reopened it).

use chrono::NaiveDate;

/// Where a sheet stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineStatus {
    /// Not due yet, nor within the lead days.
    Normal,
    /// Within `lead_days` of the deadline (the deadline itself included).
    DueSoon,
    /// Past the deadline and not submitted.
    Overdue,
    /// Submitted, reviewed or received.
    Submitted,
}

/// Whether a stored sheet status counts as submitted (`submitted`, `reviewed`, `received`).
pub fn counts_as_submitted(status: &str) -> bool {
    matches!(status, "submitted" | "reviewed" | "received")
}

/// The effective deadline of a unit: its reopened deadline, else the campaign's.
pub fn effective_deadline(campaign: NaiveDate, reopened: Option<NaiveDate>) -> NaiveDate {
    reopened.unwrap_or(campaign)
}

/// A sheet of stored status `status` on `today` against `deadline` with `lead_days`.
pub fn deadline_status(
    status: &str,
    today: NaiveDate,
    deadline: NaiveDate,
    lead_days: i32,
) -> DeadlineStatus {
    if counts_as_submitted(status) {
        DeadlineStatus::Submitted
    } else if today > deadline {
        DeadlineStatus::Overdue
    } else if today >= deadline - chrono::Days::new(u64::try_from(lead_days).unwrap_or(0)) {
        DeadlineStatus::DueSoon
    } else {
        DeadlineStatus::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn march(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, day).unwrap()
    }

    #[test]
    fn statuses_around_the_deadline() {
        let at = |status, day| deadline_status(status, march(day), march(31), 5);
        assert_eq!(at("draft", 5), DeadlineStatus::Normal);
        assert_eq!(at("not_started", 25), DeadlineStatus::Normal);
        assert_eq!(at("draft", 26), DeadlineStatus::DueSoon);
        assert_eq!(at("returned", 31), DeadlineStatus::DueSoon);
        assert_eq!(
            deadline_status(
                "draft",
                NaiveDate::from_ymd_opt(2027, 4, 1).unwrap(),
                march(31),
                5
            ),
            DeadlineStatus::Overdue
        );
        for done in ["submitted", "reviewed", "received"] {
            assert_eq!(
                deadline_status(done, march(31) + chrono::Days::new(9), march(31), 5),
                DeadlineStatus::Submitted
            );
        }
        assert_eq!(
            deadline_status("draft", march(31), march(31), 0),
            DeadlineStatus::DueSoon
        );
    }

    #[test]
    fn a_reopened_deadline_replaces_the_campaigns() {
        assert_eq!(effective_deadline(march(31), None), march(31));
        let april = NaiveDate::from_ymd_opt(2027, 4, 10).unwrap();
        assert_eq!(effective_deadline(march(31), Some(april)), april);
    }
}
