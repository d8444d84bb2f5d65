//! What the services' event consumers share (docs/ARCHITECTURE.md "Events"): how a refusal
//! becomes a retry or a dead letter, and reading the goal events' payload.

use pbm_db::{AnyConnection, Db};
use pbm_events::{Consumer, Event, HandlerError, topics};
use pbm_proto::goal::v1 as pb;
use prost::Message;

use crate::{ApiError, ErrorKind};

/// A refusal to retry (the database busy or away) or to dead-letter (anything else).
pub fn handler_error(e: ApiError) -> HandlerError {
    match e.kind {
        ErrorKind::Unavailable | ErrorKind::Aborted => HandlerError::retryable(e.message),
        _ => HandlerError::permanent(format!("{}: {}", e.reason, e.message)),
    }
}

/// The consumer group `name` of `topics`, applying each event with `apply` in `db` (its own
/// database); what `apply` returns is dropped and its refusal mapped by [`handler_error`].
pub fn consumer<T: 'static>(
    name: &str,
    topics: &[&str],
    db: Db,
    apply: fn(&mut AnyConnection, &Event) -> Result<T, ApiError>,
) -> Consumer {
    Consumer::new(
        name,
        topics,
        db,
        move |conn: &mut AnyConnection, event: &Event| {
            apply(conn, event).map(drop).map_err(handler_error)
        },
    )
}

/// The payload of `pbm.goal.approved` / `pbm.goal.adjusted` and the StreamApprovedGoals item it
/// carries; a malformed one is refused (EVENT_INVALID), which dead-letters it.
pub fn goal_approved(
    event: &Event,
) -> Result<(topics::GoalApproved, pb::ApprovedGoalItem), ApiError> {
    let bad = |what: String| ApiError::invalid_field("EVENT_INVALID", "payload", what);
    let (payload, bytes) = topics::GoalApproved::read(&event.payload).map_err(bad)?;
    let item = pb::ApprovedGoalItem::decode(bytes.as_slice()).map_err(|e| bad(e.to_string()))?;
    Ok((payload, item))
}
