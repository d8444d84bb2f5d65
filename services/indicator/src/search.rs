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
    /// False once a newer version of the same code was indexed under a new id.
    live: bool,
    /// Normalised name and explanation, as ranges of `Inner::text`.
    name: (u32, u32),
    explanation: (u32, u32),
    level1_code: String,
    /// The first 8 bytes of the code, big-endian: orders most codes without touching the
    /// indicator (ranking thousands of matches is then a sort of small integers).
    code_prefix: u64,
}

fn code_prefix(code: &str) -> u64 {
    let mut bytes = [0u8; 8];
    for (b, c) in bytes.iter_mut().zip(code.bytes()) {
        *b = c;
    }
    u64::from_be_bytes(bytes)
}

/// Posting flags: the gram occurs in the name / in the explanation. Doc ids use the low 30 bits.
const IN_NAME: u32 = 1 << 31;
const IN_EXPLANATION: u32 = 1 << 30;
const ID_MASK: u32 = IN_EXPLANATION - 1;

#[derive(Default)]
struct Inner {
    /// Every indexed version, by id; an update indexes the new version under a new id and marks
    /// the old one dead, so postings never go stale: their flags are exact for their id.
    docs: Vec<Doc>,
    /// Every doc's normalised text, laid out by doc id: candidates are visited in id order, so
    /// verification streams through memory instead of chasing one allocation per doc.
    text: String,
    /// code → id of its live doc.
    by_code: HashMap<String, u32>,
    /// gram → ascending ids (with IN_NAME / IN_EXPLANATION flags) of docs containing it.
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

/// The unigrams and bigrams of `text`, sorted and deduplicated.
fn grams(text: &str) -> Vec<u64> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(2 * chars.len());
    for (i, c) in chars.iter().enumerate() {
        out.push(unigram(*c));
        if let Some(next) = chars.get(i + 1) {
            out.push(bigram(*c, *next));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The grams a query must all match: its one character, or its bigrams.
fn query_grams(q: &str) -> Vec<u64> {
    let chars: Vec<char> = q.chars().collect();
    let mut keys: Vec<u64> = if chars.len() == 1 {
        vec![unigram(chars[0])]
    } else {
        chars.windows(2).map(|w| bigram(w[0], w[1])).collect()
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}

impl Inner {
    fn push_text(&mut self, text: &str) -> (u32, u32) {
        let start = u32::try_from(self.text.len()).expect("index text below 4 GiB");
        self.text.push_str(text);
        (start, start + text.len() as u32)
    }

    fn text(&self, range: (u32, u32)) -> &str {
        &self.text[range.0 as usize..range.1 as usize]
    }

    fn upsert(&mut self, indicator: Arc<Indicator>, level1_code: String) {
        if let Some(&old) = self.by_code.get(&indicator.code) {
            let current = &self.docs[old as usize].indicator;
            if current.version >= indicator.version {
                return; // already indexed, or older than what we have
            }
            self.docs[old as usize].live = false;
        }
        let id = u32::try_from(self.docs.len())
            .ok()
            .filter(|id| *id <= ID_MASK)
            .expect("fewer than 2^30 indexed versions");
        self.by_code.insert(indicator.code.clone(), id);
        let name = normalize(&indicator.spec.name);
        let explanation = normalize(&indicator.spec.explanation);
        let (name_grams, explanation_grams) = (grams(&name), grams(&explanation));
        let mut flagged: HashMap<u64, u32> =
            HashMap::with_capacity(name_grams.len() + explanation_grams.len());
        for g in name_grams {
            *flagged.entry(g).or_insert(id) |= IN_NAME;
        }
        for g in explanation_grams {
            *flagged.entry(g).or_insert(id) |= IN_EXPLANATION;
        }
        // Ids only grow, so pushing keeps every list ascending.
        for (g, entry) in flagged {
            self.postings.entry(g).or_default().push(entry);
        }
        let code_prefix = code_prefix(&indicator.code);
        let name = self.push_text(&name);
        let explanation = self.push_text(&explanation);
        self.docs.push(Doc {
            indicator,
            live: true,
            name,
            explanation,
            level1_code,
            code_prefix,
        });
    }
}

/// Index of the first entry whose id is ≥ `id` in an ascending list: exponential then binary
/// search, so walking a long list beside a short one stays cheap.
fn gallop(list: &[u32], id: u32) -> usize {
    let mut bound = 1;
    while bound < list.len() && list[bound] & ID_MASK < id {
        bound *= 2;
    }
    let upto = (bound + 1).min(list.len());
    list[..upto].partition_point(|&x| x & ID_MASK < id)
}

fn is_empty_filter(f: &Filter) -> bool {
    *f == Filter::default()
}

fn matches_filter(doc: &Doc, f: &Filter) -> bool {
    let s = &doc.indicator.spec;
    f.fiscal_year.is_none_or(|y| s.fiscal_year.get() == y)
        && f.frame_node_code
            .as_ref()
            .is_none_or(|c| &s.frame_node_code == c)
        && f.level1_code.as_ref().is_none_or(|c| &doc.level1_code == c)
        && f.kind.is_none_or(|k| s.kind == k)
        && f.status.is_none_or(|st| doc.indicator.status == st)
        && f.industry_tag
            .as_ref()
            .is_none_or(|t| s.industry_tags.contains(t))
        && f.field_tag
            .as_ref()
            .is_none_or(|t| s.field_tags.contains(t))
        && f.level_tag
            .as_ref()
            .is_none_or(|t| s.level_tags.contains(t))
        && f.owner_department
            .as_ref()
            .is_none_or(|d| &s.owner_department == d)
        && (!f.fixed_only || s.fixed)
}

impl SearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the current version of indicators, each with the code of its
    /// first-level frame node. An older version than the indexed one is ignored.
    pub fn upsert_all(&self, indicators: impl IntoIterator<Item = (Indicator, String)>) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for (indicator, level1) in indicators {
            inner.upsert(Arc::new(indicator), level1);
        }
    }

    /// The indexed current version of an indicator.
    pub fn get(&self, code: &str) -> Option<Arc<Indicator>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner
            .by_code
            .get(code)
            .map(|&id| inner.docs[id as usize].indicator.clone())
    }

    /// The indexed version of an indicator, if indexed.
    pub fn version_of(&self, code: &str) -> Option<i64> {
        self.get(code).map(|i| i.version)
    }

    /// Number of indicators indexed.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_code
            .len()
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
        let keys = query_grams(&q);
        let mut lists = Vec::with_capacity(keys.len());
        for k in &keys {
            match inner.postings.get(k) {
                Some(list) => lists.push(list.as_slice()),
                None => return (Vec::new(), 0),
            }
        }
        lists.sort_by_key(|l| l.len());
        // A 1–2 character query is one gram: a posting proves the text contains the query, and
        // its flags say where, so no substring search is needed. ("哈哈哈" has one distinct
        // bigram too, but needs the substring check.)
        let single_gram = q.chars().count() <= 2;
        let any_filter = !is_empty_filter(filter);
        let needle = q.as_bytes();
        let finder = memchr::memmem::Finder::new(needle);
        // (match class, code prefix, doc id): compared as integers, the full code only on ties.
        let mut ranked: Vec<(MatchKind, u64, u32)> = Vec::with_capacity(lists[0].len());
        let mut cursors = vec![0usize; lists.len()];
        'candidates: for &entry in lists[0] {
            let id = entry & ID_MASK;
            let (mut in_name, mut in_explanation) =
                (entry & IN_NAME != 0, entry & IN_EXPLANATION != 0);
            // Intersect with the other grams' lists by walking them alongside.
            for (list, cursor) in lists[1..].iter().zip(cursors[1..].iter_mut()) {
                *cursor += gallop(&list[*cursor..], id);
                match list.get(*cursor) {
                    Some(&other) if other & ID_MASK == id => {
                        in_name &= other & IN_NAME != 0;
                        in_explanation &= other & IN_EXPLANATION != 0;
                    }
                    _ => continue 'candidates,
                }
            }
            let doc = &inner.docs[id as usize];
            if !doc.live {
                continue;
            }
            let name = inner.text(doc.name).as_bytes();
            let kind = if in_name && name.starts_with(needle) {
                if name.len() == needle.len() {
                    MatchKind::NameExact
                } else {
                    MatchKind::NamePrefix
                }
            } else if in_name && (single_gram || finder.find(name).is_some()) {
                MatchKind::NameContains
            } else if in_explanation
                && (single_gram
                    || finder
                        .find(inner.text(doc.explanation).as_bytes())
                        .is_some())
            {
                MatchKind::Explanation
            } else {
                continue;
            };
            if !any_filter || matches_filter(doc, filter) {
                ranked.push((kind, doc.code_prefix, id));
            }
        }
        let total = ranked.len();
        let limit = limit.min(total);
        let code = |id: u32| inner.docs[id as usize].indicator.code.as_str();
        let by_rank = |a: &(MatchKind, u64, u32), b: &(MatchKind, u64, u32)| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| code(a.2).cmp(code(b.2)))
        };
        if limit > 0 && limit < total {
            ranked.select_nth_unstable_by(limit - 1, by_rank);
        }
        ranked.truncate(limit);
        ranked.sort_unstable_by(by_rank);
        let hits = ranked
            .into_iter()
            .map(|(kind, _, id)| Hit {
                indicator: inner.docs[id as usize].indicator.clone(),
                kind,
            })
            .collect();
        (hits, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicator::fixture;

    fn ind(code: &str, name: &str, explanation: &str, version: i64) -> (Indicator, String) {
        let mut i = fixture::indicator(code, name, explanation, version);
        i.spec.industry_tags = vec!["水利".into()];
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
    fn repeated_bigrams_are_verified() {
        let index = SearchIndex::new();
        index.upsert_all([ind("A", "哈哈", "", 1), ind("B", "哈哈哈", "", 1)]);
        let (hits, total) = index.search("哈哈哈", &Filter::default(), 10);
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
        let other_year = Filter {
            fiscal_year: Some(2027),
            ..Filter::default()
        };
        assert_eq!(index.search("道路", &other_year, 10).1, 0);
        let tag = Filter {
            industry_tag: Some("水利".into()),
            ..Filter::default()
        };
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

#[cfg(test)]
mod timing {
    use super::*;
    use crate::domain::indicator::fixture;

    /// `cargo test --release -p pbm-indicator search::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn search_100k() {
        let subjects = [
            "饮水",
            "道路",
            "学生",
            "医疗",
            "就业",
            "农田",
            "垃圾处理",
            "农村饮水安全",
        ];
        let measures = ["受益人口数量", "覆盖率", "完成率", "达标率", "满意度"];
        let index = SearchIndex::new();
        let mut docs = Vec::new();
        for i in 0..100_000 {
            let s = subjects[i % subjects.len()];
            let m = measures[(i / 8) % measures.len()];
            docs.push((
                fixture::indicator(
                    &format!("C{i:06}"),
                    &format!("第{i}号{s}{m}"),
                    &format!("反映{s}项目实施后{m}的情况，按年度统计口径计算"),
                    1,
                ),
                "1".to_string(),
            ));
        }
        index.upsert_all(docs);
        for q in ["饮水", "受益人口", "满意度", "农村饮水安全", "无此指标"] {
            let start = std::time::Instant::now();
            let mut total = 0;
            for _ in 0..100 {
                total = index.search(q, &Filter::default(), 20).1;
            }
            println!(
                "{q}: {total} matches, {:?} per search",
                start.elapsed() / 100
            );
        }
    }
}
