//! Replacements of declines (docs/AGENCY.md "Draws", docs/ARCHITECTURE.md "Events"): the
//! consumer of `pbm.agency.draw_declined` draws the replacement round the event names on the
//! same record — the same candidates, the round's derived seed, among those not drawn in the
//! rounds before — exactly as replaying the draw recomputes it ([`replay_rounds`]), so the
//! rounds come out the same whatever order their events are applied in. A round already drawn
//! (or already found short) is left as it is. When every eligible candidate has been drawn the
//! decline stands and the shortfall is recorded on the draw (GetDraw's
//! `replacement_shortfalls`): that is an outcome, not a dead letter. Applied once per event, in
//! the transaction that records the event id (`pbm_events::Consumer`). The draw's version is
//! left alone: a replacement does not make answers given against it stale.

use pbm_db::{AnyConnection, Db};
use pbm_events::{Consumer, Event, topics};
use pbm_server::ApiError;
use pbm_server::events;

use super::{new_members, not_found, replay_rounds};
use crate::store::draws::{self as store_d, Shortfall};

/// The consumer group.
pub const CONSUMER: &str = "pbm.agency.draw-replacement";

/// The consumer of declines, applying to `db` (the agency service's own database).
pub fn consumer(db: Db) -> Consumer {
    events::consumer(CONSUMER, &[topics::DRAW_DECLINED], db, apply)
}

/// What a decline's event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    /// The replacement round drawn, with whom.
    Drawn(Vec<String>),
    /// The round was drawn (or found short) before: nothing done.
    AlreadyThere,
    /// No eligible candidate left: the shortfall recorded on the draw.
    Short(String),
}

/// Draws the replacement round of the event's decline.
pub fn apply(conn: &mut AnyConnection, event: &Event) -> Result<Replacement, ApiError> {
    let p: topics::DrawDeclined = serde_json::from_str(&event.payload)
        .map_err(|e| ApiError::invalid_field("EVENT_INVALID", "payload", e.to_string()))?;
    let round = u32::try_from(p.round)
        .ok()
        .filter(|r| *r > 0)
        .ok_or_else(|| {
            ApiError::invalid_field("EVENT_INVALID", "payload.round", "补抽轮次应大于 0")
        })?;
    let (row, members) = store_d::get(conn, p.draw_id)?.ok_or_else(|| not_found(p.draw_id))?;
    if members.iter().any(|m| m.round == p.round)
        || row.shortfalls.iter().any(|s| s.round == p.round)
    {
        return Ok(Replacement::AlreadyThere);
    }
    match replay_rounds(&row, round) {
        Ok(mut rounds) => {
            let picked = rounds.pop().unwrap_or_default();
            let added = new_members(row.id, p.round, picked.clone());
            store_d::insert_members(conn, &row.subject, &added)?;
            Ok(Replacement::Drawn(picked))
        }
        Err(e) if e.reason == "TOO_FEW_ELIGIBLE" => {
            let message = format!(
                "{} 不参加后，符合条件的候选已全部抽出，无法补抽第 {} 轮；请扩大范围或重新抽取",
                if row.is_agencies() {
                    format!("机构「{}」", p.declined)
                } else {
                    format!("专家 {}", p.declined)
                },
                p.round
            );
            store_d::insert_shortfall(
                conn,
                row.id,
                &Shortfall {
                    round: p.round,
                    declined: p.declined,
                    message: message.clone(),
                    recorded_at: pbm_db::now(),
                },
            )?;
            Ok(Replacement::Short(message))
        }
        Err(e) => Err(e),
    }
}
