//! Draws ⇄ proto.

use pbm_proto::agency::v1 as proto;

use super::{dec, kind_to, stamp};
use crate::domain::draw::round_seed;
use crate::domain::engagement::EngagementKind;
use crate::store::draws::{Draw, MemberRow};

fn answer_to(a: &str) -> proto::DrawAnswer {
    match a {
        "accepted" => proto::DrawAnswer::Accepted,
        "declined" => proto::DrawAnswer::Declined,
        _ => proto::DrawAnswer::Pending,
    }
}

/// The draw as callers see it: every round's picks in draw order (`members` come from the store
/// in that order).
pub fn draw_to_proto(row: &Draw, members: &[MemberRow]) -> proto::Draw {
    let (seed, candidates) = (row.seed, &row.candidates);
    let agencies = row.is_agencies();
    let max_round = members.iter().map(|m| m.round).max().unwrap_or(0);
    let expert_id = |m: &MemberRow| m.key.parse::<i64>().unwrap_or_default();
    let rounds = (0..=max_round)
        .map(|r| {
            let picked = members.iter().filter(|m| m.round == r);
            proto::DrawRound {
                round: r,
                seed: round_seed(seed, u32::try_from(r).unwrap_or(0)).to_string(),
                picked: if agencies {
                    Vec::new()
                } else {
                    picked.clone().map(expert_id).collect()
                },
                picked_agencies: if agencies {
                    picked.map(|m| m.key.clone()).collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let weight = |key: &str| {
        candidates
            .iter()
            .find(|c| c.id == key)
            .and_then(|c| dec(c.weight))
    };
    proto::Draw {
        id: row.id,
        task_ref: row.task_ref.clone(),
        field: row.field.clone(),
        count: row.count,
        evaluated_party: row.evaluated_party.clone(),
        kind: EngagementKind::from_db(&row.kind).map_or(0, |k| kind_to(k) as i32),
        on_date: row.on_date.to_string(),
        seed: seed.to_string(),
        candidates_fingerprint: row.fingerprint.clone(),
        eligible: i32::try_from(candidates.len()).unwrap_or(i32::MAX),
        rounds,
        drawn: if agencies {
            Vec::new()
        } else {
            members
                .iter()
                .map(|m| proto::DrawnExpert {
                    expert_id: expert_id(m),
                    round: m.round,
                    answer: answer_to(&m.answer) as i32,
                    reason: m.reason.clone(),
                })
                .collect()
        },
        drawn_agencies: if agencies {
            members
                .iter()
                .map(|m| proto::DrawnAgency {
                    credit_code: m.key.clone(),
                    round: m.round,
                    answer: answer_to(&m.answer) as i32,
                    reason: m.reason.clone(),
                    weight: weight(&m.key),
                })
                .collect()
        } else {
            Vec::new()
        },
        subject: if agencies {
            proto::DrawSubject::Agencies
        } else {
            proto::DrawSubject::Experts
        } as i32,
        weighted_by_rating: row.weighted,
        rules: row.rules.clone(),
        version: row.version,
        created: Some(stamp(&row.created_by, row.created_at)),
        replacement_shortfalls: row
            .shortfalls
            .iter()
            .map(|s| proto::ReplacementShortfall {
                round: s.round,
                declined: s.declined.clone(),
                message: s.message.clone(),
            })
            .collect(),
    }
}

/// A round recomputed by a replay (`round` 0 draws the count, later rounds one replacement):
/// its derived seed and its picks in draw order.
pub fn replayed_round_to_proto(row: &Draw, round: usize, picked: &[String]) -> proto::DrawRound {
    let agencies = row.is_agencies();
    proto::DrawRound {
        round: i32::try_from(round).unwrap_or(i32::MAX),
        seed: round_seed(row.seed, u32::try_from(round).unwrap_or(0)).to_string(),
        picked: if agencies {
            Vec::new()
        } else {
            picked.iter().filter_map(|p| p.parse().ok()).collect()
        },
        picked_agencies: if agencies {
            picked.to_vec()
        } else {
            Vec::new()
        },
    }
}
