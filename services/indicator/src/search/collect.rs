//! The collector of a search stage (docs/INDICATOR.md, "Search"): counts every match and keeps
//! the best `limit` by (match class, rank).
//!
//! Nothing is scored: a later stage has one class; the first stage (name prefix) tells an exact
//! name from a prefix by the name's length, which its rank carries (`text::rank`) — a name
//! that starts with the query and is as long as it is the query. The rank inside a class is one
//! fast-field read, done in batches of a block of documents.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::MatchKind;
use super::text::rank_len;

/// How a stage's matches get their class.
#[derive(Debug, Clone, Copy)]
pub(super) enum Class {
    /// Every match of the stage has this class.
    Fixed(MatchKind),
    /// Name-prefix matches of a query of this many characters: exact when the name is as long.
    PrefixOf(usize),
}

/// A match that may be among the best: its class, its rank in the class, its doc id in the
/// index's table of versions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub kind: MatchKind,
    pub rank: u64,
    pub id: u32,
}

impl Candidate {
    pub fn key(&self) -> (MatchKind, u64) {
        (self.kind, self.rank)
    }
}

/// Candidates for the best `limit` matches, and the number of all matches.
pub(super) struct Best {
    pub limit: usize,
    pub class: Class,
}

pub(super) struct SegmentBest {
    limit: usize,
    class: Class,
    name_rank: Column<u64>,
    explanation_rank: Column<u64>,
    id: Column<u64>,
    /// Every document has one value in the three columns (the common case): read them
    /// directly, without the optional-value index.
    full: bool,
    /// Ranks of one block of documents (`collect_block`).
    ranks: Vec<u64>,
    found: Vec<Candidate>,
    /// Key of the `limit`-th best candidate at the last pruning: a match ranked below it is not
    /// kept. Ties with it are (the whole code decides them later).
    threshold: Option<(MatchKind, u64)>,
    /// `found` is pruned when it reaches this length.
    prune_at: usize,
    count: usize,
}

impl SegmentBest {
    fn read(&self, column: &Column<u64>, doc: DocId) -> u64 {
        if self.full {
            column.values.get_val(doc)
        } else {
            column.first(doc).unwrap_or(u64::MAX)
        }
    }

    fn column(&self, kind: MatchKind) -> &Column<u64> {
        if kind == MatchKind::Explanation {
            &self.explanation_rank
        } else {
            &self.name_rank
        }
    }

    /// Keeps a match of class `kind` and rank `rank` if it may be among the best.
    fn offer(&mut self, doc: DocId, kind: MatchKind, rank: u64) {
        if self.threshold.is_some_and(|t| (kind, rank) > t) {
            return;
        }
        let Ok(id) = u32::try_from(self.read(&self.id, doc)) else {
            return;
        };
        self.found.push(Candidate { kind, rank, id });
        if self.found.len() >= self.prune_at {
            self.prune();
        }
    }

    fn prune(&mut self) {
        let k = self.limit;
        self.found.select_nth_unstable_by_key(k - 1, Candidate::key);
        let t = self.found[k - 1].key();
        self.found.retain(|c| c.key() <= t);
        self.threshold = Some(t);
        // Many ties with the threshold keep `found` long; pruning again only once it doubled
        // keeps the work linear.
        self.prune_at = 2 * self.found.len().max(k);
    }
}

impl SegmentCollector for SegmentBest {
    type Fruit = (Vec<Candidate>, usize);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.collect_block(&[doc]);
    }

    /// One batched read of the block's ranks.
    fn collect_block(&mut self, docs: &[DocId]) {
        self.count += docs.len();
        if self.limit == 0 {
            return;
        }
        let column_kind = match self.class {
            Class::Fixed(kind) => kind,
            Class::PrefixOf(_) => MatchKind::NamePrefix,
        };
        if self
            .threshold
            .is_some_and(|(t, _)| column_kind > t && !matches!(self.class, Class::PrefixOf(_)))
        {
            return;
        }
        let mut ranks = std::mem::take(&mut self.ranks);
        ranks.clear();
        if self.full {
            ranks.resize(docs.len(), 0);
            self.column(column_kind).values.get_vals(docs, &mut ranks);
        } else {
            let column = self.column(column_kind);
            ranks.extend(docs.iter().map(|&d| column.first(d).unwrap_or(u64::MAX)));
        }
        for (&doc, &rank) in docs.iter().zip(&ranks) {
            let kind = match self.class {
                Class::Fixed(kind) => kind,
                Class::PrefixOf(len) if rank_len(rank) == len => MatchKind::NameExact,
                Class::PrefixOf(_) => MatchKind::NamePrefix,
            };
            self.offer(doc, kind, rank);
        }
        self.ranks = ranks;
    }

    fn harvest(self) -> Self::Fruit {
        (self.found, self.count)
    }
}

impl Collector for Best {
    type Fruit = (Vec<Candidate>, usize);
    type Child = SegmentBest;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentBest> {
        let fast = segment.fast_fields();
        let (name_rank, explanation_rank, id) = (
            fast.u64(super::F_NAME_RANK)?,
            fast.u64(super::F_EXPLANATION_RANK)?,
            fast.u64(super::F_ID)?,
        );
        let full = [&name_rank, &explanation_rank, &id]
            .iter()
            .all(|c| matches!(c.index, ColumnIndex::Full));
        Ok(SegmentBest {
            limit: self.limit,
            class: self.class,
            name_rank,
            explanation_rank,
            id,
            full,
            ranks: Vec::new(),
            found: Vec::new(),
            threshold: None,
            prune_at: 2 * self.limit.max(8),
            count: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<(Vec<Candidate>, usize)>,
    ) -> tantivy::Result<(Vec<Candidate>, usize)> {
        let mut all = Vec::new();
        let mut count = 0;
        for (found, n) in fruits {
            all.extend(found);
            count += n;
        }
        Ok((all, count))
    }
}
