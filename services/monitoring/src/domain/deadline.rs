//! Deadline status of a report and of a unit, and the lock after the deadline.
//!
//! Rule: docs/DOMAIN.md "Rounds and reports" (a round has a deadline and a warning ahead of it
//! *(config)*; after the deadline, submissions lock unless finance reopens the round). The
//! project's reading (docs/drafts/MONITORING.md §1 "Deadline status", "Lock", "Reopen"):
//! * Dates are calendar days in Asia/Shanghai (the use case turns "now" into `today`). The
//!   effective deadline is the unit's reopen deadline if it has one, else the round's
//!   ([`effective_deadline`]); the deadline day is inclusive.
//! * The checks run in this order, so that every branch can be reached: a submitted report
//!   (SUBMITTED, CHECKED, ACCEPTED) is SUBMITTED, marked late when its last submission came
//!   after the effective deadline; else `today > deadline` is OVERDUE; else
//!   `today ≥ deadline − lead_days` is DUE_SOON; else NORMAL. (The deployed SQL the issue cites
//!   tests "≤ lead" before "< 0", so its overdue branch is never reached.)
//! * A unit's status is the worst of its reports': OVERDUE > DUE_SOON > NORMAL > SUBMITTED
//!   (a late submission counts as worse than one on time).
//! * **Lock**: a unit's save or submit with `today > deadline` is refused (`ROUND_LOCKED`,
//!   [`crate::domain::report_workflow`]); the department's check and finance's accept or return
//!   still work.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// Where a report (or a unit) stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// Before the warning period.
    Normal,
    /// Within `lead_days` of the deadline, deadline day included.
    DueSoon,
    /// The deadline has passed without a submission.
    Overdue,
    /// Submitted (SUBMITTED, CHECKED or ACCEPTED); `late` when after the deadline.
    Submitted {
        /// The last submission came after the effective deadline.
        late: bool,
    },
}

impl DeadlineStatus {
    /// The stored and wire word (`normal`, `due_soon`, `overdue`, `submitted`).
    pub fn as_db(self) -> &'static str {
        match self {
            DeadlineStatus::Normal => "normal",
            DeadlineStatus::DueSoon => "due_soon",
            DeadlineStatus::Overdue => "overdue",
            DeadlineStatus::Submitted { .. } => "submitted",
        }
    }

    /// As a finance clerk reads it.
    pub fn chinese(self) -> &'static str {
        match self {
            DeadlineStatus::Normal => "正常",
            DeadlineStatus::DueSoon => "即将到期",
            DeadlineStatus::Overdue => "已逾期",
            DeadlineStatus::Submitted { late: false } => "已提交",
            DeadlineStatus::Submitted { late: true } => "已提交（逾期）",
        }
    }

    /// How bad it is: OVERDUE > DUE_SOON > NORMAL > SUBMITTED late > SUBMITTED.
    fn severity(self) -> u8 {
        match self {
            DeadlineStatus::Submitted { late: false } => 0,
            DeadlineStatus::Submitted { late: true } => 1,
            DeadlineStatus::Normal => 2,
            DeadlineStatus::DueSoon => 3,
            DeadlineStatus::Overdue => 4,
        }
    }
}

/// The unit's reopen deadline if finance reopened it, else the round's.
pub fn effective_deadline(
    round_deadline: NaiveDate,
    unit_override: Option<NaiveDate>,
) -> NaiveDate {
    unit_override.unwrap_or(round_deadline)
}

/// The status of one report on `today` (see the module doc for the order of the checks).
/// `submitted_on` is the date of the last submission when the report is SUBMITTED, CHECKED or
/// ACCEPTED now, and `None` otherwise (a draft, or a returned report).
pub fn status(
    today: NaiveDate,
    eff_deadline: NaiveDate,
    lead_days: u32,
    submitted_on: Option<NaiveDate>,
) -> DeadlineStatus {
    if let Some(on) = submitted_on {
        return DeadlineStatus::Submitted {
            late: on > eff_deadline,
        };
    }
    if today > eff_deadline {
        return DeadlineStatus::Overdue;
    }
    let warn_from = eff_deadline
        .checked_sub_days(Days::new(u64::from(lead_days)))
        .unwrap_or(NaiveDate::MIN);
    if today >= warn_from {
        DeadlineStatus::DueSoon
    } else {
        DeadlineStatus::Normal
    }
}

/// A unit's status: the worst of its reports'; `None` for a unit without reports.
pub fn unit_status(reports: impl IntoIterator<Item = DeadlineStatus>) -> Option<DeadlineStatus> {
    reports.into_iter().max_by_key(|s| s.severity())
}

/// Whether a unit's saves and submissions are locked on `today`.
pub fn is_locked(today: NaiveDate, eff_deadline: NaiveDate) -> bool {
    today > eff_deadline
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn the_checks_in_order() {
        let deadline = d(8, 15);
        assert_eq!(status(d(8, 1), deadline, 5, None), DeadlineStatus::Normal);
        assert_eq!(status(d(8, 10), deadline, 5, None), DeadlineStatus::DueSoon);
        assert_eq!(status(d(8, 15), deadline, 5, None), DeadlineStatus::DueSoon);
        assert_eq!(status(d(8, 16), deadline, 5, None), DeadlineStatus::Overdue);
        assert_eq!(status(d(8, 15), deadline, 0, None), DeadlineStatus::DueSoon);
        assert_eq!(status(d(8, 14), deadline, 0, None), DeadlineStatus::Normal);
        let on_time = status(d(9, 1), deadline, 5, Some(d(8, 15)));
        assert_eq!(on_time, DeadlineStatus::Submitted { late: false });
        let late = status(d(9, 1), deadline, 5, Some(d(8, 16)));
        assert_eq!(late, DeadlineStatus::Submitted { late: true });
        assert_eq!(late.chinese(), "已提交（逾期）");
        // A reopened unit is judged by its own deadline.
        let reopened = effective_deadline(deadline, Some(d(8, 31)));
        assert_eq!(status(d(8, 20), reopened, 5, None), DeadlineStatus::Normal);
        assert!(is_locked(d(8, 16), deadline) && !is_locked(d(8, 15), deadline));
        // Lead days beyond the calendar's start do not panic.
        assert_eq!(
            status(d(1, 1), d(1, 2), u32::MAX, None),
            DeadlineStatus::DueSoon
        );
    }

    #[test]
    fn a_unit_is_its_worst_report() {
        use DeadlineStatus::*;
        assert_eq!(unit_status([]), None);
        assert_eq!(
            unit_status([Submitted { late: false }, Normal]),
            Some(Normal)
        );
        assert_eq!(unit_status([DueSoon, Overdue, Normal]), Some(Overdue));
        assert_eq!(
            unit_status([Submitted { late: false }, Submitted { late: true }]),
            Some(Submitted { late: true })
        );
        assert_eq!(
            unit_status([Submitted { late: true }, DueSoon]),
            Some(DueSoon)
        );
    }

    proptest! {
        /// Every day from `starts_on − 5` to `deadline + 5`, for lead 0..10: exactly one of the
        /// four conditions holds, it is the status, OVERDUE is reached on `deadline + 1`, and
        /// every status is reached.
        #[test]
        fn statuses_are_total_and_each_is_reachable(
            start_offset in 0u32..300, length in 0u64..60, submitted_after in prop::option::of(0u64..80)
        ) {
            let starts_on = d(1, 1) + Days::new(u64::from(start_offset));
            let deadline = starts_on + Days::new(length);
            for lead in 0u32..10 {
                let mut seen = [false; 4];
                let mut day = starts_on - Days::new(5);
                while day <= deadline + Days::new(5) {
                    let submitted_on = submitted_after
                        .map(|n| starts_on + Days::new(n))
                        .filter(|on| *on <= day);
                    let conditions = [
                        submitted_on.is_some(),
                        submitted_on.is_none() && day > deadline,
                        submitted_on.is_none()
                            && day <= deadline
                            && (deadline - day).num_days() <= i64::from(lead),
                        submitted_on.is_none() && (deadline - day).num_days() > i64::from(lead),
                    ];
                    prop_assert_eq!(conditions.iter().filter(|c| **c).count(), 1);
                    let s = status(day, deadline, lead, submitted_on);
                    let index = match s {
                        DeadlineStatus::Submitted { late } => {
                            prop_assert_eq!(late, submitted_on.unwrap() > deadline);
                            0
                        }
                        DeadlineStatus::Overdue => 1,
                        DeadlineStatus::DueSoon => 2,
                        DeadlineStatus::Normal => 3,
                    };
                    prop_assert!(conditions[index], "{:?} on {}", s, day);
                    seen[index] = true;
                    if submitted_on.is_none() && day == deadline + Days::new(1) {
                        prop_assert_eq!(s, DeadlineStatus::Overdue);
                    }
                    prop_assert_eq!(is_locked(day, deadline), day > deadline);
                    day = day + Days::new(1);
                }
                // Without a submission, overdue and due-soon are always reached, and normal
                // whenever the walk starts before the warning period.
                if submitted_after.is_none() {
                    prop_assert!(seen[1] && seen[2]);
                    prop_assert_eq!(seen[3], length + 5 > u64::from(lead));
                }
            }
        }
    }
}
