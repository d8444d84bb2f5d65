//! What do we store? The frame of each fiscal year (`frames`, `frame_nodes`), every version of
//! every third-level indicator (`indicator_versions`), which version is current (`indicators`),
//! and departments' proposals of 个性 indicators (`proposals`). The only module with SQL.
//!
//! [`schema`] holds the tables, `rows` their rows ⇄ domain; one file of queries per noun
//! (`frames`, `indicators`, `proposals`), re-exported here so callers write `store::…`.

mod frames;
mod indicators;
pub mod library;
mod proposals;
mod rows;
pub mod schema;

pub use frames::{StoredFrame, insert_frame, insert_frame_node, load_frames, log_frame};
pub use indicators::{
    Filter, all_current, current, current_and_pinned, current_many, insert_new, insert_new_batch,
    insert_next_version, list, version, versions, versions_changed_since,
};
pub use proposals::{
    Decision, ProposalRecord, ProposalStatus, decide_proposal, insert_proposal, list_proposals,
    proposal,
};

pub const MIGRATIONS: pbm_db::Migrations = pbm_db::Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

/// Platform tables first, then the service's own.
pub static ALL_MIGRATIONS: [&pbm_db::Migrations; 2] = [&pbm_db::PLATFORM_MIGRATIONS, &MIGRATIONS];
