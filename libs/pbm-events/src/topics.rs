//! The topics consumers read and their payloads (docs/ARCHITECTURE.md "Events").

/// A goal approved for the first time (二下).
pub const GOAL_APPROVED: &str = "pbm.goal.approved";
/// An adjusted goal's new version approved (the version in force changed).
pub const GOAL_ADJUSTED: &str = "pbm.goal.adjusted";

/// The payload of [`GOAL_APPROVED`] and [`GOAL_ADJUSTED`]: the goal as StreamApprovedGoals
/// would give it now, so a consumer adds it to a scope exactly as opening one would have.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GoalApproved {
    pub fiscal_year: i32,
    pub goal_id: i64,
    /// The version now in force.
    pub approved_version: i32,
    pub department_code: String,
    /// Empty for a department's overall goal (部门整体).
    pub pro_code: String,
    /// `pbm.goal.v1.ApprovedGoalItem`, protobuf-encoded, in hex ([`hex_encode`]).
    pub item: String,
}

impl GoalApproved {
    /// The payload of a [`GOAL_APPROVED`] or [`GOAL_ADJUSTED`] event and its item's bytes.
    pub fn read(payload: &str) -> Result<(Self, Vec<u8>), String> {
        let p: Self = serde_json::from_str(payload).map_err(|e| e.to_string())?;
        let bytes = hex_decode(&p.item).ok_or_else(|| "item is not hex".to_owned())?;
        Ok((p, bytes))
    }
}

/// An engagement rated (docs/AGENCY.md "Ratings"): the grades of its agency and experts act.
pub const ENGAGEMENT_RATED: &str = "pbm.agency.engagement_rated";
/// A drawn expert or agency declined (docs/AGENCY.md "Draws"): a replacement is drawn.
pub const DRAW_DECLINED: &str = "pbm.agency.draw_declined";

/// The payload of [`ENGAGEMENT_RATED`]: whose ratings the score changed, as of when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EngagementRated {
    pub engagement_id: i64,
    /// The agency that took it, if any (统一社会信用代码).
    pub agency_credit_code: Option<String>,
    pub expert_ids: Vec<i64>,
    /// The rating date (`YYYY-MM-DD`): the ratings and their grade actions are as of this day.
    pub rated_on: String,
    /// Who rated it: the actor of the grade actions.
    pub rated_by: String,
}

/// The payload of [`DRAW_DECLINED`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DrawDeclined {
    pub draw_id: i64,
    /// The member who declined: an expert id in decimal, or an agency's credit code.
    pub declined: String,
    /// The round the replacement is drawn in (one round per decline).
    pub round: i32,
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// The bytes of [`hex_encode`]'s text; `None` when it is not hex.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(hex_encode(&bytes), "00017f80ff");
        assert_eq!(hex_decode("00017f80ff").unwrap(), bytes);
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
