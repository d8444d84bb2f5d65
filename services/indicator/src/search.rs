//! In-memory search over the current version of every indicator, by name and explanation, for
//! Chinese text (no word boundaries): an inverted index of character unigrams and bigrams,
//! candidates verified by substring match, ranked exact name > name prefix > name contains >
//! explanation, then by code.
//!
//! The database stays the source of truth. A process updates its index on its own writes, and a
//! refresher task picks up other replicas' writes (see `AppState::spawn_index_refresher`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::domain::indicator::Indicator;
use crate::store::Filter;

/// Match classes, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchKind {
    NameExact,
    NamePrefix,
    NameContains,
    Explanation,
}

struct Doc {
    indicator: Arc<Indicator>,
    name: String,
    explanation: String,
    level1_code: String,
}

#[derive(Default)]
struct Inner {
    docs: Vec<Doc>,
    by_code: HashMap<String, u32>,
    /// gram → ids of docs whose name or explanation contains it (ascending, may hold stale ids:
    /// every candidate is verified).
    postings: HashMap<u64, Vec<u32>>,
}

/// A search result.
#[derive(Debug, Clone)]
pub struct Hit {
    pub indicator: Arc<Indicator>,
    pub kind: MatchKind,
}

#[derive(Default, Clone)]
pub struct SearchIndex {
    inner: Arc<RwLock<Inner>>,
}

fn normalize(text: &str) -> String {
    text.trim().to_lowercase()
}

fn unigram(c: char) -> u64 {
    u64::from(c as u32)
}

fn bigram(a: char, b: char) -> u64 {
    (1 << 63) | (u64::from(a as u32) << 21) | u64::from(b as u32)
}

fn grams(text: &str, out: &mut Vec<u64>) {
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        out.push(unigram(*c));
        if let Some(next) = chars.get(i + 1) {
            out.push(bigram(*c, *next));
        }
    }
}

impl Inner {
    fn upsert(&mut self, indicator: Arc<Indicator>, level1_code: String) {
        let name = normalize(&indicator.spec.name);
        let explanation = normalize(&indicator.spec.explanation);
        let id = match self.by_code.get(&indicator.code) {
            Some(&id) => {
                if self.docs[id as usize].indicator.version > indicator.version {
                    return; // never go back to an older version
                }
                id
            }
            None => {
                let id = u32::try_from(self.docs.len()).expect("fewer than 4 billion indicators");
                self.by_code.insert(indicator.code.clone(), id);
                id
            }
        };
        let mut gs = Vec::with_capacity(2 * (name.len() + explanation.len()));
        grams(&name, &mut gs);
        grams(&explanation, &mut gs);
        gs.sort_unstable();
        gs.dedup();
        for g in gs {
            let list = self.postings.entry(g).or_default();
            if list.last() != Some(&id) {
                if list.last().is_some_and(|&last| last > id) {
                    // An updated older doc: keep the list sorted.
                    if let Err(pos) = list.binary_search(&id) {
                        list.insert(pos, id);
                    }
                } else {
                    list.push(id);
                }
            }
        }
        let doc = Doc { indicator, name, explanation, level1_code };
        if (id as usize) < self.docs.len() {
            self.docs[id as usize] = doc;
        } else {
            self.docs.push(doc);
        }
    }
}

fn matches_filter(doc: &Doc, f: &Filter) -> bool {
    let s = &doc.indicator.spec;
    f.fiscal_year.is_none_or(|y| s.fiscal_year.get() == y)
        && f.frame_node_code.as_ref().is_none_or(|c| &s.frame_node_code == c)
        && f.level1_code.as_ref().is_none_or(|c| &doc.level1_code == c)
        && f.kind.is_none_or(|k| s.kind == k)
        && f.status.is_none_or(|st| doc.indicator.status == st)
        && f.industry_tag.as_ref().is_none_or(|t| s.industry_tags.contains(t))
        && f.field_tag.as_ref().is_none_or(|t| s.field_tags.contains(t))
        && f.level_tag.as_ref().is_none_or(|t| s.level_tags.contains(t))
        && f.owner_department.as_ref().is_none_or(|d| &s.owner_department == d)
}

impl SearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the current version of indicators. `level1_of` names the first-level
    /// node of a (fiscal year, second-level code).
    pub fn upsert_all(&self, indicators: impl IntoIterator<Item = (Indicator, String)>) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for (indicator, level1) in indicators {
            inner.upsert(Arc::new(indicator), level1);
        }
    }

    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns up to `limit` hits, best first, and the number of all matches.
    pub fn search(&self, query: &str, filter: &Filter, limit: usize) -> (Vec<Hit>, usize) {
        let q = normalize(query);
        if q.is_empty() {
            return (Vec::new(), 0);
        }
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let chars: Vec<char> = q.chars().collect();
        let keys: Vec<u64> = if chars.len() == 1 {
            vec![unigram(chars[0])]
        } else {
            chars.windows(2).map(|w| bigram(w[0], w[1])).collect()
        };
        // Start from the rarest gram; every candidate is verified below anyway.
        let mut lists = Vec::with_capacity(keys.len());
        for k in &keys {
            match inner.postings.get(k) {
                Some(list) => lists.push(list.as_slice()),
                None => return (Vec::new(), 0),
            }
        }
        lists.sort_by_key(|l| l.len());
        let mut ranked: Vec<(MatchKind, &Doc)> = Vec::new();
        for &id in lists[0] {
            // Cheap pre-check against the other grams before the substring test.
            if !lists[1..].iter().all(|l| l.binary_search(&id).is_ok()) {
                continue;
            }
            let doc = &inner.docs[id as usize];
            let kind = if doc.name == q {
                MatchKind::NameExact
            } else if doc.name.starts_with(&q) {
                MatchKind::NamePrefix
            } else if doc.name.contains(&q) {
                MatchKind::NameContains
            } else if doc.explanation.contains(&q) {
                MatchKind::Explanation
            } else {
                continue;
            };
            if matches_filter(doc, filter) {
                ranked.push((kind, doc));
            }
        }
        let total = ranked.len();
        let limit = limit.min(total);
        let by_rank = |a: &(MatchKind, &Doc), b: &(MatchKind, &Doc)| a.0.cmp(&b.0).then_with(|| a.1.indicator.code.cmp(&b.1.indicator.code));
        if limit < total && limit > 0 {
            ranked.select_nth_unstable_by(limit - 1, by_rank);
            ranked.truncate(limit);
        } else {
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(by_rank);
        let hits = ranked.into_iter().map(|(kind, doc)| Hit { indicator: doc.indicator.clone(), kind }).collect();
        (hits, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator::{Direction, Kind, Spec, Status};
    use pbm_types::FiscalYear;

    fn ind(code: &str, name: &str, explanation: &str, version: i64) -> (Indicator, String) {
        let spec = Spec {
            fiscal_year: FiscalYear::new(2026).unwrap(),
            frame_node_code: "101".into(),
            name: name.into(),
            kind: Kind::Common,
            industry_tags: vec!["水利".into()],
            field_tags: vec![],
            level_tags: vec![],
            direction: Direction::Ge,
            unit: "人".into(),
            explanation: explanation.into(),
            formula: String::new(),
            scoring_rule: String::new(),
            value_standard: None,
            value_standard_note: String::new(),
            reference_target: String::new(),
            last_year_value: None,
            year_before_value: None,
            fixed: false,
            enabled_from_year: None,
            enabled_to_year: None,
            owner_department: String::new(),
        };
        let i = Indicator {
            code: code.into(),
            version,
            status: Status::Enabled,
            spec,
            change_note: String::new(),
            changed_by: "u".into(),
            changed_at: Default::default(),
        };
        (i, "1".into())
    }

    fn codes(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.indicator.code.as_str()).collect()
    }

    #[test]
    fn ranks_exact_then_prefix_then_contains_then_explanation() {
        let index = SearchIndex::new();
        index.upsert_all([
            ind("D", "农村供水人口", "保障饮水安全", 1),
            ind("C", "安全饮水覆盖率", "", 1),
            ind("B", "饮水工程受益人口", "", 1),
            ind("A", "饮水", "", 1),
            ind("E", "道路里程", "", 1),
        ]);
        let (hits, total) = index.search("饮水", &Filter::default(), 10);
        assert_eq!(codes(&hits), ["A", "B", "C", "D"]);
        assert_eq!(total, 4);
        assert_eq!(hits[0].kind, MatchKind::NameExact);
        assert_eq!(hits[3].kind, MatchKind::Explanation);
        let (hits, total) = index.search("受益人口", &Filter::default(), 1);
        assert_eq!((codes(&hits), total), (vec!["B"], 1));
    }

    #[test]
    fn bigrams_must_be_adjacent() {
        let index = SearchIndex::new();
        index.upsert_all([ind("A", "人口受益", "", 1)]);
        assert_eq!(index.search("受益人口", &Filter::default(), 10).1, 0);
        assert_eq!(index.search("口", &Filter::default(), 10).1, 1);
    }

    #[test]
    fn updates_replace_old_text_and_filters_apply() {
        let index = SearchIndex::new();
        index.upsert_all([ind("A", "饮水人口", "", 1)]);
        index.upsert_all([ind("A", "道路里程", "", 2)]);
        index.upsert_all([ind("A", "饮水人口", "", 1)]); // an older version never wins
        assert_eq!(index.search("饮水", &Filter::default(), 10).1, 0);
        assert_eq!(index.search("道路", &Filter::default(), 10).1, 1);
        let other_year = Filter { fiscal_year: Some(2027), ..Filter::default() };
        assert_eq!(index.search("道路", &other_year, 10).1, 0);
        let tag = Filter { industry_tag: Some("水利".into()), ..Filter::default() };
        assert_eq!(index.search("道路", &tag, 10).1, 1);
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn limit_keeps_the_best() {
        let index = SearchIndex::new();
        index.upsert_all((0..50).map(|i| ind(&format!("X{i:02}"), &format!("饮水指标{i}"), "", 1)));
        index.upsert_all([ind("Z", "饮水", "", 1)]);
        let (hits, total) = index.search("饮水", &Filter::default(), 3);
        assert_eq!(total, 51);
        assert_eq!(codes(&hits), ["Z", "X00", "X01"]);
    }
}
