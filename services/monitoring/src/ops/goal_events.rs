//! Goals approved or adjusted after a round opened (docs/ARCHITECTURE.md "Events"): the
//! consumer of `pbm.goal.approved` and `pbm.goal.adjusted` adds the goal to every OPEN round of
//! its year whose scope keeps it, exactly as opening would have snapshotted it (the same
//! [`snapshot_item`] of the same StreamApprovedGoals item, which the event carries): a subject
//! the round does not have is added with its indicators (and its unit); one it has without an
//! approved goal, or with an older version whose report is not submitted yet (none, draft,
//! returned), is replaced; one already reported on keeps what was reported against. The
//! touched subject's warnings are recomputed. Applied once per event, in the transaction that
//! records the event id (`pbm_events::Consumer`).

use pbm_db::{AnyConnection, Db};
use pbm_events::{Consumer, Event, topics};
use pbm_server::ApiError;
use pbm_server::events::{self, goal_approved};

use crate::convert::rounds::{Scope, snapshot_item};
use crate::ops::recompute;
use crate::store::{self, UnitRow};

/// The consumer group.
pub const CONSUMER: &str = "pbm.monitoring.goal-scope";

/// The consumer of approved and adjusted goals, applying to `db`.
pub fn consumer(db: Db) -> Consumer {
    events::consumer(
        CONSUMER,
        &[topics::GOAL_APPROVED, topics::GOAL_ADJUSTED],
        db,
        apply,
    )
}

/// Adds the event's goal to the open rounds of its year; returns how many rounds changed.
pub fn apply(conn: &mut AnyConnection, event: &Event) -> Result<usize, ApiError> {
    let (payload, item) = goal_approved(event)?;
    let now = pbm_db::now();
    let mut changed = 0;
    for round_id in store::open_rounds(conn, payload.fiscal_year)? {
        let Some(round) = store::round_row(conn, round_id)? else {
            continue;
        };
        let scope: Scope = serde_json::from_str(&round.scope).map_err(ApiError::internal)?;
        let Some((subject, indicators)) = snapshot_item(round.id, &item, now) else {
            continue;
        };
        if !scope.keeps(&subject.department_code, &subject.pro_code) {
            continue;
        }
        let key = subject.subject_key.clone();
        match store::subject(conn, round.id, &key)? {
            Some(old) => {
                let current = old.goal_state == "approved"
                    && old.goal_id == subject.goal_id
                    && old.goal_version >= subject.goal_version;
                let reported = !matches!(old.report_status.as_str(), "none" | "draft" | "returned");
                if current || (old.goal_state == "approved" && reported) {
                    continue;
                }
                let subject = store::SubjectRow {
                    is_key: old.is_key,
                    report_status: old.report_status.clone(),
                    ..subject
                };
                store::delete_subject(conn, round.id, &key)?;
                store::insert_subjects(conn, &[subject])?;
                store::insert_indicators(conn, &indicators)?;
            }
            None => {
                if store::unit(conn, round.id, &subject.agency_code)?.is_none() {
                    store::insert_units(
                        conn,
                        &[UnitRow {
                            round_id: round.id,
                            agency_code: subject.agency_code.clone(),
                            department_code: subject.department_code.clone(),
                            deadline_override: None,
                            reopened: 0,
                            revision: 1,
                        }],
                    )?;
                }
                store::insert_subjects(conn, &[subject])?;
                store::insert_indicators(conn, &indicators)?;
            }
        }
        recompute::subjects(conn, round.id, Some(std::slice::from_ref(&key)), now)?;
        changed += 1;
    }
    Ok(changed)
}
