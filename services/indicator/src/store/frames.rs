//! The frame of each fiscal year: `frames` and its `frame_nodes`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};
use pbm_types::FiscalYear;

use super::library::{LogKind, append_log};
use super::schema::{frame_nodes, frames};
use crate::domain::frame::{Frame, FrameNode};

pub fn insert_frame(
    conn: &mut AnyConnection,
    frame: &Frame,
    actor: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let year = frame.fiscal_year.get();
    diesel::insert_into(frames::table)
        .values((
            frames::fiscal_year.eq(year),
            frames::name.eq(&frame.name),
            frames::created_by.eq(actor),
            frames::created_at.eq(at),
        ))
        .execute(conn)?;
    for n in &frame.nodes {
        diesel::insert_into(frame_nodes::table)
            .values((
                frame_nodes::fiscal_year.eq(year),
                frame_nodes::code.eq(&n.code),
                frame_nodes::name.eq(&n.name),
                frame_nodes::level.eq(n.level),
                frame_nodes::parent_code.eq(&n.parent_code),
                frame_nodes::sort_order.eq(n.sort_order),
            ))
            .execute(conn)?;
    }
    log_frame(conn, frame, at)
}

/// Appends a frame's change to the library log (docs/INDICATOR.md "Following an upstream
/// library"): its version there is its number of nodes, which only grows.
pub fn log_frame(
    conn: &mut AnyConnection,
    frame: &Frame,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    append_log(
        conn,
        &[(
            LogKind::Frame,
            frame.fiscal_year.get().to_string(),
            frame.nodes.len() as i64,
            frame.fiscal_year.get(),
        )],
        at,
    )
}

/// Adds one node to an existing frame (an upstream frame's node this library lacks).
pub fn insert_frame_node(
    conn: &mut AnyConnection,
    year: i32,
    n: &FrameNode,
) -> Result<(), StoreError> {
    diesel::insert_into(frame_nodes::table)
        .values((
            frame_nodes::fiscal_year.eq(year),
            frame_nodes::code.eq(&n.code),
            frame_nodes::name.eq(&n.name),
            frame_nodes::level.eq(n.level),
            frame_nodes::parent_code.eq(&n.parent_code),
            frame_nodes::sort_order.eq(n.sort_order),
        ))
        .execute(conn)?;
    Ok(())
}

/// A frame with who created it and when.
pub struct StoredFrame {
    pub frame: Frame,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn load_frames(conn: &mut AnyConnection) -> Result<Vec<StoredFrame>, StoreError> {
    let heads: Vec<(i32, String, String, NaiveDateTime)> = frames::table
        .order(frames::fiscal_year.asc())
        .select((
            frames::fiscal_year,
            frames::name,
            frames::created_by,
            frames::created_at,
        ))
        .load(conn)?;
    let nodes: Vec<(i32, String, String, i32, String, i32)> = frame_nodes::table
        .order((
            frame_nodes::fiscal_year,
            frame_nodes::level,
            frame_nodes::parent_code,
            frame_nodes::sort_order,
            frame_nodes::code,
        ))
        .select((
            frame_nodes::fiscal_year,
            frame_nodes::code,
            frame_nodes::name,
            frame_nodes::level,
            frame_nodes::parent_code,
            frame_nodes::sort_order,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(heads.len());
    for (year, name, created_by, created_at) in heads {
        let fiscal_year = FiscalYear::new(year).map_err(|e| StoreError::Other(e.to_string()))?;
        let nodes = nodes
            .iter()
            .filter(|n| n.0 == year)
            .map(
                |(_, code, name, level, parent_code, sort_order)| FrameNode {
                    code: code.clone(),
                    name: name.clone(),
                    level: *level,
                    parent_code: parent_code.clone(),
                    sort_order: *sort_order,
                },
            )
            .collect();
        out.push(StoredFrame {
            frame: Frame {
                fiscal_year,
                name,
                nodes,
            },
            created_by,
            created_at,
        });
    }
    Ok(out)
}
