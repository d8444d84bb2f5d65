//! Reading a draw, and replaying it from its record: the same candidates (fingerprint), the
//! same seed, the same picks in the same order, round by round.

use pbm_auth::{Caller, Role};
use pbm_proto::agency::v1 as proto;
use pbm_server::ApiError;

use super::{not_found, replay_rounds};
use crate::convert;
use crate::domain::access;
use crate::domain::draw as rules_draw;
use crate::state::AppState;
use crate::store::draws::{self as store_d, Draw, MemberRow};

/// Who may read a draw: finance, auditors and the province every draw; an expert or an agency
/// the draws it was drawn in (others answer NOT_FOUND, so their existence does not leak).
enum Reader {
    All,
    Expert(String),
    Agency(String),
}

async fn load_visible(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(Draw, Vec<MemberRow>), ApiError> {
    let reader = match caller.role {
        Role::Expert => match access::expert_scope(caller, &state.region)? {
            access::ExpertScope::Own(e) => Reader::Expert(e.to_string()),
            access::ExpertScope::All => Reader::All,
        },
        _ => match access::read_scope(caller, &state.region)? {
            access::ReadScope::All => Reader::All,
            access::ReadScope::OwnAgency(code) => Reader::Agency(code),
        },
    };
    let (row, members) = state
        .db
        .read(move |conn| store_d::get(conn, id))
        .await?
        .ok_or_else(|| not_found(id))?;
    let own = |key: &str| members.iter().any(|m| m.key == key);
    let visible = match &reader {
        Reader::All => true,
        Reader::Expert(e) => !row.is_agencies() && own(e),
        Reader::Agency(code) => row.is_agencies() && own(code),
    };
    if !visible {
        return Err(not_found(id));
    }
    Ok((row, members))
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    r: proto::GetDrawRequest,
) -> Result<proto::GetDrawResponse, ApiError> {
    let (row, members) = load_visible(state, &caller, r.draw_id).await?;
    Ok(proto::GetDrawResponse {
        draw: Some(convert::draw_to_proto(&row, &members)),
    })
}

pub async fn replay(
    state: &AppState,
    caller: Caller,
    r: proto::ReplayDrawRequest,
) -> Result<proto::ReplayDrawResponse, ApiError> {
    let (row, members) = load_visible(state, &caller, r.draw_id).await?;
    let fingerprint = rules_draw::fingerprint(&row.candidates);
    let max_round = u32::try_from(members.iter().map(|m| m.round).max().unwrap_or(0)).unwrap_or(0);
    let replayed = replay_rounds(&row, max_round)?;
    let mut matches = fingerprint == row.fingerprint;
    let mut rounds = Vec::new();
    for (r, picked) in replayed.iter().enumerate() {
        // The store gives each round's members in draw order: the replay must draw the same
        // ones in the same order.
        let recorded: Vec<&MemberRow> = members
            .iter()
            .filter(|m| usize::try_from(m.round).ok() == Some(r))
            .collect();
        let ordered = recorded.iter().all(|m| m.position.is_some());
        let recorded: Vec<String> = recorded.into_iter().map(|m| m.key.clone()).collect();
        matches &= rules_draw::same_round(&recorded, ordered, picked);
        rounds.push(convert::replayed_round_to_proto(&row, r, picked));
    }
    Ok(proto::ReplayDrawResponse {
        matches,
        candidates_fingerprint: fingerprint,
        replayed: rounds,
        draw: Some(convert::draw_to_proto(&row, &members)),
    })
}
