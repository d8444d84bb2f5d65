//! The grade actions of a rated engagement (docs/AGENCY.md "Ratings", docs/ARCHITECTURE.md
//! "Events", docs/DOMAIN.md "Rating and credit grades"): the consumer of
//! `pbm.agency.engagement_rated` reloads the ratings of the engagement's agency and experts as
//! of the rating date from this service's database and applies what their grades call for — an
//! agency's warning, suspension or removal, an expert's 考评 or 退出 — with the rater as the actor,
//! recorded in the status histories. Applied once per event, in the transaction that records the
//! event id (`pbm_events::Consumer`); the actions are computed against the current status, so
//! an action already taken is not taken again either.

use chrono::NaiveDate;
use pbm_db::{AnyConnection, Db};
use pbm_events::{Consumer, Event, topics};
use pbm_server::ApiError;
use pbm_server::events;

use super::ratings::{RatingBook, agency_action, apply_expert_action, write_agency_actions};
use crate::store;
use crate::store::experts as store_x;

/// The consumer group.
pub const CONSUMER: &str = "pbm.agency.ratings";

/// The consumer of rated engagements, applying to `db` (the agency service's own database).
pub fn consumer(db: Db) -> Consumer {
    events::consumer(CONSUMER, &[topics::ENGAGEMENT_RATED], db, apply)
}

/// What the grades did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// The agency's status change (`from → to`), if its grade moved it.
    pub agency: Option<(String, String)>,
    /// The experts whose grade moved them.
    pub experts: Vec<i64>,
}

/// Applies the grade actions of the event's engagement as of its rating date.
pub fn apply(conn: &mut AnyConnection, event: &Event) -> Result<Actions, ApiError> {
    let bad = |what: String| ApiError::invalid_field("EVENT_INVALID", "payload", what);
    let p: topics::EngagementRated =
        serde_json::from_str(&event.payload).map_err(|e| bad(e.to_string()))?;
    let on = NaiveDate::parse_from_str(&p.rated_on, "%Y-%m-%d")
        .map_err(|e| bad(format!("rated_on `{}`: {e}", p.rated_on)))?;
    let agencies: Vec<String> = p.agency_credit_code.iter().cloned().collect();
    let book = RatingBook::load_for(conn, on, &agencies, &p.expert_ids)?;
    let mut done = Actions::default();
    if let Some(code) = &p.agency_credit_code
        && let Some(current) = store::agency(conn, code)?
        && let Some(change) =
            agency_action(&current, &book.agency(code), &book.rules, &p.rated_by, on)
    {
        write_agency_actions(conn, std::slice::from_ref(&change))?;
        done.agency = Some((change.from_status, change.to_status));
    }
    for id in &p.expert_ids {
        if let Some(current) = store_x::expert(conn, *id)?
            && apply_expert_action(conn, &current, &book.expert(*id), &book.rules, &p.rated_by)?
                .is_some()
        {
            done.experts.push(*id);
        }
    }
    Ok(done)
}
