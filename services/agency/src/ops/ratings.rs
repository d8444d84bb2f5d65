//! Ratings of the whole pool (docs/DOMAIN.md "Rating and credit grades"). One loader,
//! [`RatingBook::load`], reads every rated engagement, violation and suspension in a handful of
//! queries; explaining one rating, rating an engagement, statistics, weighted agency draws and
//! the recompute of every rating all go through it, so they cannot disagree. The arithmetic is
//! the pure [`crate::domain::rating`]; what a grade does is
//! [`crate::domain::registry::grade_action_target`] and
//! [`crate::domain::experts::grade_action_target`].

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use pbm_db::AnyConnection;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::Decimal;

use super::{RulesInForce, rules_in_force};
use crate::convert;
use crate::domain::access;
use crate::domain::eligibility::ExpertStatus;
use crate::domain::experts;
use crate::domain::rating::{self, RatedEngagement, Rating, RatingInput};
use crate::domain::registry::{self, Agency};
use crate::domain::rules::Severity;
use crate::state::AppState;
use crate::store::engagements as store_e;
use crate::store::experts::{self as store_x, ExpertRow, ExpertStatusChange};
use crate::store::{self, StatusChange, Violator};

fn money(list: Vec<pbm_db::Money>) -> Vec<Decimal> {
    list.into_iter().map(|m| m.0).collect()
}

/// Everything the ratings of the pool need as of a date, loaded once.
pub struct RatingBook {
    pub as_of: NaiveDate,
    pub rules: RulesInForce,
    agency_mean: Decimal,
    expert_mean: Decimal,
    agency_engagements: HashMap<String, Vec<RatedEngagement>>,
    expert_engagements: HashMap<i64, Vec<RatedEngagement>>,
    violations: HashMap<Violator, Vec<rating::ViolationRecord>>,
    last_suspended: HashMap<String, NaiveDate>,
}

impl RatingBook {
    /// Loads the whole pool as of `as_of` under the rules in force that year. Engagements that
    /// ended and violations that occurred after `as_of` do not count (a past rating can be
    /// recomputed); the pool means are over engagements ended by `as_of`.
    pub fn load(conn: &mut AnyConnection, as_of: NaiveDate) -> Result<Self, ApiError> {
        Self::load_scoped(conn, as_of, None)
    }

    /// Loads what the ratings of the given agencies and experts need (the pool means still
    /// cover the whole pool), so rating one engagement does not read every engagement's
    /// details.
    pub fn load_for(
        conn: &mut AnyConnection,
        as_of: NaiveDate,
        agencies: &[String],
        experts: &[i64],
    ) -> Result<Self, ApiError> {
        Self::load_scoped(conn, as_of, Some((agencies, experts)))
    }

    fn load_scoped(
        conn: &mut AnyConnection,
        as_of: NaiveDate,
        only: Option<(&[String], &[i64])>,
    ) -> Result<Self, ApiError> {
        let rules = rules_in_force(conn, as_of.year())?;
        let rated = store_e::rated(conn, only)?;
        let links = store_e::rated_expert_links(conn, only.map(|(_, experts)| experts))?;
        let mut scores: HashMap<i64, RatedEngagement> = HashMap::with_capacity(rated.len());
        let mut agency_engagements: HashMap<String, Vec<RatedEngagement>> = HashMap::new();
        let mut agency_pool = Vec::new();
        for (id, agency, ended_on, score) in rated {
            let e = RatedEngagement {
                engagement_id: id,
                ended_on,
                score: score.0,
            };
            if let Some(code) = agency {
                if ended_on <= as_of {
                    agency_pool.push(score.0);
                }
                agency_engagements.entry(code).or_default().push(e.clone());
            }
            scores.insert(id, e);
        }
        let mut expert_engagements: HashMap<i64, Vec<RatedEngagement>> = HashMap::new();
        let mut expert_pool_ids = HashSet::new();
        for (engagement, expert) in links {
            if let Some(e) = scores.get(&engagement) {
                if e.ended_on <= as_of {
                    expert_pool_ids.insert(engagement);
                }
                expert_engagements
                    .entry(expert)
                    .or_default()
                    .push(e.clone());
            }
        }
        let mut expert_pool: Vec<Decimal> =
            expert_pool_ids.iter().map(|id| scores[id].score).collect();
        if only.is_some() {
            // The loaded engagements are a part of the pool: take the means over all of it.
            agency_pool = money(store_e::pool_scores(conn, true, as_of)?);
            expert_pool = money(store_e::pool_scores(conn, false, as_of)?);
        }
        let mut violations: HashMap<Violator, Vec<rating::ViolationRecord>> = HashMap::new();
        let records = match only {
            None => store::violations_of(conn, None)?,
            Some((agencies, experts)) => {
                let mut all = Vec::new();
                for who in agencies
                    .iter()
                    .map(|c| Violator::Agency(c.clone()))
                    .chain(experts.iter().map(|id| Violator::Expert(*id)))
                {
                    all.extend(store::violations_of(conn, Some(&who))?);
                }
                all
            }
        };
        for v in records {
            if let Some(severity) = Severity::from_db(&v.severity) {
                violations
                    .entry(v.violator)
                    .or_default()
                    .push(rating::ViolationRecord {
                        id: v.id,
                        on: v.occurred_on,
                        severity,
                    });
            }
        }
        let mut last_suspended: HashMap<String, NaiveDate> = HashMap::new();
        for (code, at) in store::suspensions(conn)? {
            let on = at.date();
            if on <= as_of {
                let e = last_suspended.entry(code).or_insert(on);
                *e = (*e).max(on);
            }
        }
        let prior = rules.rules.shrinkage.prior_mean;
        Ok(RatingBook {
            as_of,
            agency_mean: rating::pool_mean(&agency_pool).unwrap_or(prior),
            expert_mean: rating::pool_mean(&expert_pool).unwrap_or(prior),
            rules,
            agency_engagements,
            expert_engagements,
            violations,
            last_suspended,
        })
    }

    fn rate(&self, engagements: Option<&Vec<RatedEngagement>>, who: &Violator) -> Rating {
        let input = RatingInput {
            engagements: engagements.cloned().unwrap_or_default(),
            violations: self.violations.get(who).cloned().unwrap_or_default(),
            last_suspended_on: match who {
                Violator::Agency(code) => self.last_suspended.get(code).copied(),
                Violator::Expert(_) => None,
            },
        };
        let mean = match who {
            Violator::Agency(_) => self.agency_mean,
            Violator::Expert(_) => self.expert_mean,
        };
        rating::rate(&input, &self.rules.rules, mean, self.as_of)
    }

    pub fn agency(&self, code: &str) -> Rating {
        self.rate(
            self.agency_engagements.get(code),
            &Violator::Agency(code.to_owned()),
        )
    }

    pub fn expert(&self, id: i64) -> Rating {
        self.rate(self.expert_engagements.get(&id), &Violator::Expert(id))
    }

    /// Number of rated engagements of an agency or expert (ended by `as_of`).
    pub fn engagements_of(&self, who: &Violator) -> usize {
        let list = match who {
            Violator::Agency(code) => self.agency_engagements.get(code),
            Violator::Expert(id) => self.expert_engagements.get(id),
        };
        list.map_or(0, |l| l.iter().filter(|e| e.ended_on <= self.as_of).count())
    }
}

/// Date of the most recent major violation up to `as_of` of every agency and expert that has one
/// (eligibility for draws, without loading any rating).
pub fn major_violations(
    conn: &mut AnyConnection,
    as_of: NaiveDate,
) -> Result<HashMap<Violator, NaiveDate>, ApiError> {
    let mut out: HashMap<Violator, NaiveDate> = HashMap::new();
    for v in store::violations_of(conn, None)? {
        if Severity::from_db(&v.severity) == Some(Severity::Major) && v.occurred_on <= as_of {
            let e = out.entry(v.violator).or_insert(v.occurred_on);
            *e = (*e).max(v.occurred_on);
        }
    }
    Ok(out)
}

fn action_reason(rating: &Rating, rules: &RulesInForce) -> String {
    format!(
        "信用等级{:?}（{}分），依据{}自动{}",
        rating.grade,
        rating.final_score,
        rules.label(),
        rating.action.chinese()
    )
}

/// The status change an agency's grade calls for on `today` (rules: credit.actions), if any.
pub fn agency_action(
    current: &Agency,
    rating: &Rating,
    rules: &RulesInForce,
    actor: &str,
    today: NaiveDate,
) -> Option<StatusChange> {
    let (to, until) = registry::grade_action_target(current.status, rating.action, today)?;
    Some(StatusChange {
        credit_code: current.spec.credit_code.as_str().to_owned(),
        from_status: current.status.as_db().into(),
        to_status: to.as_db().into(),
        reason: action_reason(rating, rules),
        until,
        changed_by: actor.into(),
        changed_at: pbm_db::now(),
    })
}

/// Applies grade actions: each group of agencies moving between the same statuses in one
/// statement that only moves those still in the status they were read in (any other writer
/// in between → ABORTED, nothing applied), then every history entry.
pub fn write_agency_actions(
    conn: &mut AnyConnection,
    changes: &[StatusChange],
) -> Result<(), ApiError> {
    let mut groups: HashMap<(&str, &str, Option<NaiveDate>), Vec<String>> = HashMap::new();
    for c in changes {
        groups
            .entry((c.from_status.as_str(), c.to_status.as_str(), c.until))
            .or_default()
            .push(c.credit_code.clone());
    }
    let Some(first) = changes.first() else {
        return Ok(());
    };
    for (key, codes) in &groups {
        let moved = store::move_statuses(conn, codes, *key, (&first.changed_by, first.changed_at))?;
        if moved != codes.len() {
            return Err(ApiError::new(
                pbm_server::ErrorKind::Aborted,
                "CONCURRENT_CHANGE",
                "评级期间有机构状态被其他操作修改，请重新计算",
            ));
        }
    }
    store::insert_status_changes(conn, changes)?;
    Ok(())
}

/// Applies the action an expert's grade calls for (suspension → 考评, removal → 退出), recorded
/// in its status history. Returns the change made, if any.
pub fn apply_expert_action(
    conn: &mut AnyConnection,
    current: &ExpertRow,
    rating: &Rating,
    rules: &RulesInForce,
    actor: &str,
) -> Result<Option<(ExpertStatus, ExpertStatus)>, ApiError> {
    let from = current.status()?;
    let Some(to) = experts::grade_action_target(from, rating.action) else {
        return Ok(None);
    };
    let next = ExpertRow {
        status: to.as_db().into(),
        version: current.version + 1,
        changed_by: actor.into(),
        changed_at: pbm_db::now(),
        ..current.clone()
    };
    if !store_x::update_expert(conn, &next, current.version)? {
        return Err(ApiError::stale_version(
            &format!("专家 {}", current.id),
            current.version,
            current.version + 1,
        ));
    }
    store_x::insert_status_change(
        conn,
        &ExpertStatusChange {
            expert_id: current.id,
            from_status: from.as_db().into(),
            to_status: to.as_db().into(),
            reason: action_reason(rating, rules),
            changed_by: actor.into(),
            changed_at: next.changed_at,
        },
    )?;
    Ok(Some((from, to)))
}

/// Best first, then by key: the ranking finance publishes.
fn rank(list: &mut [(Decimal, proto::RatedSubject)]) {
    list.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.agency_credit_code.cmp(&b.1.agency_credit_code))
            .then_with(|| a.1.expert_id.cmp(&b.1.expert_id))
    });
}

/// RecomputeRatings: every agency and expert rated as of a date in one transaction, grade
/// actions applied, the ranking returned. Removed agencies and exited experts are rated (their
/// history stays explainable) but no action can touch them further.
pub async fn recompute(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RecomputeRatingsRequest,
) -> Result<proto::RecomputeRatingsResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let st = state.clone();
    let today = state.today();
    let as_of = if r.as_of.trim().is_empty() {
        Ok(today)
    } else {
        convert::date(&r.as_of, "as_of")
    };
    run_mutation(
        &state.db,
        ctx,
        ("ratings", st.region.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let as_of = as_of?;
            if as_of > today {
                return Err(ApiError::invalid_field(
                    "AS_OF_IN_FUTURE",
                    "as_of",
                    format!("评级日期 {as_of} 不能晚于今天 {today}"),
                ));
            }
            let book = RatingBook::load(conn, as_of)?;
            let actor = ctx.caller.subject.clone();
            let mut changes = 0;
            let mut agencies = Vec::new();
            let mut history = Vec::new();
            for agency in store::all_agencies(conn)? {
                let code = agency.spec.credit_code.as_str().to_owned();
                let rating = book.agency(&code);
                let mut s = convert::rated_subject_to_proto(
                    &rating,
                    book.engagements_of(&Violator::Agency(code.clone())),
                );
                s.agency_credit_code = code;
                if let Some(change) = agency_action(&agency, &rating, &book.rules, &actor, today) {
                    changes += 1;
                    s.status_from.clone_from(&change.from_status);
                    s.status_to.clone_from(&change.to_status);
                    history.push(change);
                }
                agencies.push((rating.final_score, s));
            }
            write_agency_actions(conn, &history)?;
            let mut experts = Vec::new();
            let mut experts_rated = 0usize;
            for (id, status) in store_x::statuses(conn)? {
                let rating = book.expert(id);
                let engaged = book.engagements_of(&Violator::Expert(id));
                let mut s = convert::rated_subject_to_proto(&rating, engaged);
                s.expert_id = id;
                // The full record is read only for the few a grade acts on.
                let mut changed = None;
                if experts::grade_action_target(status, rating.action).is_some()
                    && let Some(full) = store_x::expert(conn, id)?
                {
                    changed = apply_expert_action(conn, &full, &rating, &book.rules, &actor)?;
                }
                if let Some((from, to)) = changed {
                    changes += 1;
                    s.status_from = from.as_db().into();
                    s.status_to = to.as_db().into();
                }
                // The ranking lists the experts that need attention; the others are counted.
                if changed.is_some() || !rating.selectable || !rating.penalties.is_empty() {
                    experts.push((rating.final_score, s));
                }
                experts_rated += 1;
            }
            rank(&mut agencies);
            rank(&mut experts);
            let response = proto::RecomputeRatingsResponse {
                as_of: as_of.to_string(),
                rules: book.rules.label(),
                agencies_rated: i32::try_from(agencies.len()).unwrap_or(i32::MAX),
                experts_rated: i32::try_from(experts_rated).unwrap_or(i32::MAX),
                status_changes: changes,
                agencies: agencies.into_iter().map(|(_, s)| s).collect(),
                experts: experts.into_iter().map(|(_, s)| s).collect(),
            };
            Ok(Effect {
                entity_type: "ratings",
                entity_id: st.region.to_string(),
                detail: format!(
                    "as of {as_of} ({}): {} agencies, {} experts, {changes} status changes",
                    response.rules, response.agencies_rated, response.experts_rated
                ),
                response,
            })
        },
    )
    .await
}
