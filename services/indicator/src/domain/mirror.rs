//! Following an upstream library (docs/INDICATOR.md "Following an upstream library"): the
//! cursor of the change log, when a watch must start with a full snapshot, and what a follower
//! does with an upstream indicator or frame. Pure rules; the store and the link apply them.

use super::frame::{Frame, FrameNode};
use super::indicator::{Indicator, Origin};

/// A cursor is `r<revision>`: everything up to that revision of the upstream's log was applied.
pub fn format_cursor(revision: i64) -> String {
    format!("r{revision}")
}

/// `None` for an empty cursor (start with a snapshot); `Err` for one that is not a cursor.
pub fn parse_cursor(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.strip_prefix('r')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| format!("游标「{text}」无效"))
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A full snapshot first: no cursor, one older than the oldest change kept, or one ahead
    /// of this log (the follower followed another database).
    Resync,
    /// The changes after this revision.
    After(i64),
}

/// Decides where a watch from `cursor` starts, given the oldest and newest revisions kept.
pub fn start(cursor: Option<i64>, oldest: Option<i64>, newest: Option<i64>) -> Start {
    let Some(c) = cursor else {
        return Start::Resync;
    };
    let newest = newest.unwrap_or(0);
    if c > newest {
        return Start::Resync;
    }
    match oldest {
        // Revisions c+1 … oldest-1 were compacted away.
        Some(o) if c + 1 < o => Start::Resync,
        _ => Start::After(c),
    }
}

/// What a follower does with an upstream indicator version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// Already applied (same origin, that version or a newer one): nothing.
    Skip,
    /// A code this library does not have: its version 1.
    New,
    /// The next local version of an upstream-owned indicator.
    Next,
    /// The next local version of a local indicator with the same code: the upstream wins from
    /// now on, and the clash is recorded.
    Clash,
}

/// The upstream's version `incoming` (with its origin) against the local current version.
pub fn decide(current: Option<&Indicator>, incoming: &Origin) -> Apply {
    match current {
        None => Apply::New,
        Some(Indicator { origin: None, .. }) => Apply::Clash,
        Some(Indicator {
            origin: Some(o), ..
        }) if o.region == incoming.region && o.version >= incoming.version => Apply::Skip,
        Some(_) => Apply::Next,
    }
}

/// A frame node of the upstream that clashes with the local frame's node of that code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeClash {
    pub code: String,
    pub detail: String,
}

/// The frame rule: frames are never rewritten (goals and indicators refer to their nodes), so
/// the upstream's frame of a year is merged into the local one — nodes the local frame lacks
/// are added, local nodes stay, and an upstream node whose name, level or parent differs from
/// the local node of the same code keeps the local node and is a clash.
pub fn merge_frame(local: &Frame, upstream: &Frame) -> (Vec<FrameNode>, Vec<NodeClash>) {
    let mut added = Vec::new();
    let mut clashes = Vec::new();
    for n in &upstream.nodes {
        match local.nodes.iter().find(|l| l.code == n.code) {
            None => added.push(n.clone()),
            Some(l) if l.name != n.name || l.level != n.level || l.parent_code != n.parent_code => {
                clashes.push(NodeClash {
                    code: n.code.clone(),
                    detail: format!(
                        "上级框架节点「{} {}」与本级节点「{} {}」不同，保留本级节点",
                        n.code, n.name, l.code, l.name
                    ),
                })
            }
            Some(_) => {}
        }
    }
    // Level-1 nodes first, so a level-2 node's parent exists when it is added.
    added.sort_by_key(|n| n.level);
    (added, clashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::frame::Template;
    use crate::domain::indicator::fixture::indicator;
    use pbm_types::FiscalYear;

    fn origin(region: &str, version: i64) -> Origin {
        Origin {
            region: region.into(),
            version,
        }
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        assert_eq!(parse_cursor(""), Ok(None));
        assert_eq!(parse_cursor(&format_cursor(42)), Ok(Some(42)));
        for bad in ["42", "r", "r-1", "rx", "x42"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_watch_resyncs_without_a_usable_cursor() {
        assert_eq!(start(None, Some(1), Some(10)), Start::Resync);
        assert_eq!(start(Some(10), Some(1), Some(10)), Start::After(10));
        assert_eq!(start(Some(4), Some(5), Some(10)), Start::After(4));
        // 5 … 6 were compacted away.
        assert_eq!(start(Some(4), Some(7), Some(10)), Start::Resync);
        // Ahead of this log: another database.
        assert_eq!(start(Some(11), Some(1), Some(10)), Start::Resync);
        assert_eq!(start(Some(3), None, None), Start::Resync);
        assert_eq!(start(Some(0), None, None), Start::After(0));
    }

    #[test]
    fn applying_is_idempotent_and_the_upstream_wins_a_clash() {
        let incoming = origin("140000", 3);
        assert_eq!(decide(None, &incoming), Apply::New);
        let local = indicator("A1", "n", "", 2);
        assert_eq!(decide(Some(&local), &incoming), Apply::Clash);
        let mut mirrored = indicator("A1", "n", "", 5);
        mirrored.origin = Some(origin("140000", 3));
        assert_eq!(decide(Some(&mirrored), &incoming), Apply::Skip);
        assert_eq!(decide(Some(&mirrored), &origin("140000", 2)), Apply::Skip);
        assert_eq!(decide(Some(&mirrored), &origin("140000", 4)), Apply::Next);
        // Owned by the city before, by the province now.
        mirrored.origin = Some(origin("140500", 7));
        assert_eq!(decide(Some(&mirrored), &incoming), Apply::Next);
    }

    #[test]
    fn frames_merge_without_losing_local_nodes() {
        let year = FiscalYear::new(2026).unwrap();
        let local = Frame {
            fiscal_year: year,
            name: "本级".into(),
            nodes: Template::NationalDefault.nodes(),
        };
        assert_eq!(merge_frame(&local, &local), (vec![], vec![]));
        let mut upstream = Frame {
            fiscal_year: year,
            name: "上级".into(),
            nodes: Template::CostFirstLevel.nodes(),
        };
        let (added, clashes) = merge_frame(&local, &upstream);
        let codes: Vec<&str> = added.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(codes, ["4", "401", "402", "403"]);
        assert!(clashes.is_empty(), "{clashes:?}");
        upstream.nodes[0].name = "产出".into();
        let (_, clashes) = merge_frame(&local, &upstream);
        assert_eq!(clashes.len(), 1);
        assert_eq!(clashes[0].code, upstream.nodes[0].code);
    }
}
