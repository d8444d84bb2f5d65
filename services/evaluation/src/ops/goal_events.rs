//! Goals approved or adjusted after the year's campaign opened (docs/ARCHITECTURE.md
//! "Events"): the consumer of `pbm.goal.approved` and `pbm.goal.adjusted` adds the goal's sheet
//! to the OPEN campaign of its year, exactly as opening would have (the same [`snapshot_item`]
//! of the same StreamApprovedGoals item, which the event carries, scored under the campaign's
//! rules): a project's sheet keeps its requested amount with nothing executed until the next
//! RefreshExecution reads its figures (as opening does for a project without figures); a
//! 部门整体 sheet takes the sums of its department's project sheets. A sheet the campaign already
//! has from an older version is rewritten from the new one while not yet submitted (not
//! started, draft, returned), with a `goal_adjusted` event; a submitted one keeps what was
//! submitted. Applied once per event, in the transaction that records the event id
//! (`pbm_events::Consumer`).

use pbm_db::{AnyConnection, Db, Money};
use pbm_events::{Consumer, Event, topics};
use pbm_server::events::{self, goal_approved};
use pbm_server::{ApiError, ErrorKind};

use super::campaigns::{NOT_SUBMITTED, department_sums, save_campaign, score_into};
use super::scoring::rules_of;
use crate::convert::campaigns::snapshot_item;
use crate::store::{self, SheetEventRow, SheetRow};

/// The consumer group.
pub const CONSUMER: &str = "pbm.evaluation.goal-scope";
/// Who the sheets' history names for the consumer's changes.
const BY: &str = "system:goal-events";

/// The consumer of approved and adjusted goals, applying to `db`.
pub fn consumer(db: Db) -> Consumer {
    events::consumer(
        CONSUMER,
        &[topics::GOAL_APPROVED, topics::GOAL_ADJUSTED],
        db,
        apply,
    )
}

/// Adds or rewrites the event's goal's sheet in the open campaign of its year; returns whether
/// a sheet changed.
pub fn apply(conn: &mut AnyConnection, event: &Event) -> Result<bool, ApiError> {
    let (payload, item) = goal_approved(event)?;
    let Some(mut campaign) = store::campaign_of_year(conn, payload.fiscal_year)? else {
        return Ok(false);
    };
    if campaign.status != "open" {
        return Ok(false);
    }
    let now = pbm_db::now();
    let Some((mut sheet, mut indicators)) = snapshot_item(campaign.id, &item, BY, now) else {
        return Ok(false);
    };
    if sheet.pro_code.is_empty() {
        let figures = store::sheet_figures(conn, campaign.id)?;
        let sums = department_sums(figures.iter().filter(|s| !s.pro_code.is_empty()).map(|s| {
            (
                s.department_code.as_str(),
                s.budget.0,
                s.executed.0,
                s.execution_month,
            )
        }));
        let f = sums.get(&sheet.subject_key).copied().unwrap_or_default();
        (sheet.budget, sheet.executed) = (Money(f.budget), Money(f.executed));
        sheet.execution_month = f.month;
    }
    let rules = rules_of(conn, campaign.fiscal_year, campaign.rules_version)?;
    let existing =
        store::sheets_by_keys(conn, campaign.id, std::slice::from_ref(&sheet.subject_key))?;
    match existing.into_iter().next() {
        None => {
            let (total, grade, rate, json, _) =
                score_into(&rules, sheet.budget, sheet.executed, &mut indicators);
            (sheet.total, sheet.grade, sheet.execution_rate, sheet.score) =
                (total, grade, rate, json);
            store::insert_sheets(conn, std::slice::from_ref(&sheet))?;
            let ids = store::sheet_ids(conn, campaign.id)?;
            let id = *ids
                .get(&sheet.subject_key)
                .ok_or_else(|| ApiError::internal("a sheet just inserted"))?;
            for i in &mut indicators {
                i.sheet_id = id;
            }
            store::insert_sheet_indicators(conn, &indicators)?;
            campaign.sheets += 1;
            save_campaign(conn, &mut campaign, BY, now)?;
            Ok(true)
        }
        Some(old) => {
            if old.goal_version >= sheet.goal_version && old.goal_id == sheet.goal_id
                || !NOT_SUBMITTED.contains(&old.status.as_str())
            {
                return Ok(false);
            }
            let (total, grade, rate, json, _) =
                score_into(&rules, old.budget, old.executed, &mut indicators);
            for i in &mut indicators {
                i.sheet_id = old.id;
            }
            let row = SheetRow {
                name: sheet.name,
                fund_source: sheet.fund_source,
                special_field: sheet.special_field,
                goal_id: sheet.goal_id,
                goal_version: sheet.goal_version,
                year_goal: sheet.year_goal,
                total,
                grade,
                execution_rate: rate,
                score: json,
                revision: old.revision + 1,
                changed_by: BY.to_owned(),
                changed_at: now,
                ..old
            };
            if !store::replace_sheet_goal(conn, &row, &indicators)? {
                return Err(ApiError::new(
                    ErrorKind::Aborted,
                    "CONCURRENT_UPDATE",
                    "自评表正被他人修改，请稍后重试",
                ));
            }
            store::insert_sheet_events(
                conn,
                &[SheetEventRow {
                    sheet_id: row.id,
                    revision: row.revision,
                    action: "goal_adjusted".to_owned(),
                    from_status: row.status.clone(),
                    to_status: row.status.clone(),
                    reason: format!("绩效目标调整：第{}版已批复", row.goal_version),
                    total: row.total,
                    grade: row.grade.clone(),
                    at_by: BY.to_owned(),
                    at: now,
                }],
            )?;
            Ok(true)
        }
    }
}
