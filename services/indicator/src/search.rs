//! Search over the current version of every indicator, by name, 拼音首字母 of the name, and
//! explanation (docs/INDICATOR.md, "Search"), with tantivy: an in-RAM index (the database
//! stays the source of truth), rebuilt at start.
//!
//! Chinese has no word boundaries, so names (and their initials, 饮水数量 → yssl, a second value
//! of the same fields) and explanations are indexed as character n-grams of 1 to 6 characters:
//! a query of up to 6 characters (nearly every search) is one term, a longer one the phrase of
//! the 6-grams that cover it (`text::covering_grams`) — exactly "contains the query". The grams
//! of a name and those of name and explanation together are separate fields, so "the name
//! contains" and "the name or the explanation contains" are one term each. A name is also
//! indexed as its prefixes (up to `MAX_QUERY_CHARS`), so "starts with" is one term, and "is" is
//! "starts with" and as long (`collect::Class::PrefixOf`).
//!
//! Ranking: exact name > name prefix > name contains > explanation, then the shorter matched
//! text, then the code. A search runs up to three ranking stages over disjoint match sets —
//! exact or prefix (told apart by the name's length), name contains but not as prefix,
//! explanation but not name — each with the filters of `store::Filter` as clauses; a stage runs
//! only while the stages before it found fewer than `limit` matches. `total` is the stages'
//! counts when all three ran, else the count of "name or explanation contains the query" with
//! the filters (one term's postings, its document frequency when nothing is deleted and there is
//! no filter): exact, never an estimate. docs/BENCHMARKS.md has the figures at 100,000
//! indicators.
//!
//! A process updates its index on its own writes, and a refresher task picks up other replicas'
//! writes (see `AppState::spawn_index_refresher`): each `upsert_all` is one commit, after which
//! the reader is reloaded, so a write is searchable when `upsert_all` returns.

mod collect;
mod text;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tantivy::merge_policy::LogMergePolicy;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::domain::indicator::Indicator;
use crate::store::Filter;
use collect::{Best, Candidate, Class};
use text::{Grams, Prefixes, covering_grams, initials, normalize, rank};

/// Match classes, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchKind {
    NameExact,
    NamePrefix,
    NameContains,
    Explanation,
}

/// A search result.
#[derive(Debug, Clone)]
pub struct Hit {
    pub indicator: Arc<Indicator>,
    pub kind: MatchKind,
}

const F_ID: &str = "id";
const F_NAME_RANK: &str = "name_rank";
const F_EXPLANATION_RANK: &str = "explanation_rank";
/// The longest grams indexed: a query up to this long is one term.
const N: usize = 6;
const GRAMS: [&str; N] = [
    "pbm_1grams",
    "pbm_2grams",
    "pbm_3grams",
    "pbm_4grams",
    "pbm_5grams",
    "pbm_6grams",
];
const PREFIXES: &str = "pbm_prefixes";
/// The longest search text (docs/INDICATOR.md, "Limits": `QUERY_TOO_LONG`): name prefixes are
/// indexed up to this length.
const MAX_QUERY_CHARS: usize = 50;
/// Indexing memory of each writer thread (tantivy's minimum is 15 MB): 100,000 indicators
/// load as a few segments.
const WRITER_MEMORY: usize = 64_000_000;
/// Segments of a size merged into one (tantivy's default is 8).
const MERGE_AT: usize = 4;

#[derive(Clone, Copy)]
struct Fields {
    /// The code, untokenised: a new version deletes the old one's document by it.
    code: Field,
    name_prefixes: Field,
    /// 1- to N-grams of the name and its initials; the N-grams with positions.
    name_grams: [Field; N],
    /// 1- to N-grams of the name, its initials and the explanation: "name or explanation
    /// contains" of a query up to N characters is one term (the total, the explanation stage).
    any_grams: [Field; N],
    /// The explanation's N-grams with positions, for queries longer than N.
    explanation_long: Field,
    fiscal_year: Field,
    frame_node_code: Field,
    level1_code: Field,
    kind: Field,
    status: Field,
    industry_tag: Field,
    field_tag: Field,
    level_tag: Field,
    owner_department: Field,
    fixed: Field,
    id: Field,
    name_rank: Field,
    explanation_rank: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // No field norms (nothing is scored, see `collect`), positions only where phrases are asked
    // (the N-grams).
    let text = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record)
                .set_fieldnorms(false),
        )
    };
    let keyword = text("raw", IndexRecordOption::Basic);
    let positions = IndexRecordOption::WithFreqsAndPositions;
    let grams = |b: &mut tantivy::schema::SchemaBuilder, prefix: &str, long| -> [Field; N] {
        std::array::from_fn(|i| {
            let record = if i == N - 1 && long {
                positions
            } else {
                IndexRecordOption::Basic
            };
            b.add_text_field(&format!("{prefix}_{}grams", i + 1), text(GRAMS[i], record))
        })
    };
    let fields = Fields {
        code: b.add_text_field("code", keyword.clone()),
        name_prefixes: b.add_text_field("name_prefixes", text(PREFIXES, IndexRecordOption::Basic)),
        name_grams: grams(&mut b, "name", true),
        any_grams: grams(&mut b, "any", false),
        explanation_long: b.add_text_field("explanation_long", text(GRAMS[N - 1], positions)),
        fiscal_year: b.add_text_field("fiscal_year", keyword.clone()),
        frame_node_code: b.add_text_field("frame_node_code", keyword.clone()),
        level1_code: b.add_text_field("level1_code", keyword.clone()),
        kind: b.add_text_field("kind", keyword.clone()),
        status: b.add_text_field("status", keyword.clone()),
        industry_tag: b.add_text_field("industry_tag", keyword.clone()),
        field_tag: b.add_text_field("field_tag", keyword.clone()),
        level_tag: b.add_text_field("level_tag", keyword.clone()),
        owner_department: b.add_text_field("owner_department", keyword.clone()),
        fixed: b.add_text_field("fixed", keyword),
        id: b.add_u64_field(F_ID, FAST),
        name_rank: b.add_u64_field(F_NAME_RANK, FAST),
        explanation_rank: b.add_u64_field(F_EXPLANATION_RANK, FAST),
    };
    (b.build(), fields)
}

/// Every indexed version, by the id its document carries. A replaced version's slot is emptied
/// once the reader no longer sees its document; ids are never reused, so a hit from an older
/// searcher can never name the wrong indicator.
#[derive(Default)]
struct Versions {
    by_id: Vec<Option<Arc<Indicator>>>,
    /// code → id of its current version.
    by_code: HashMap<String, u32>,
}

struct Inner {
    fields: Fields,
    reader: IndexReader,
    /// One writer; `upsert_all` calls are serialised on it.
    writer: Mutex<IndexWriter>,
    versions: RwLock<Versions>,
    answers: Mutex<Answers>,
    /// At most this many answers are kept; when full, they are forgotten at once (a library's
    /// popular queries come back within moments). 0: every search is computed.
    max_answers: AtomicUsize,
}

/// Answers given since the library last changed, by (query, filter, limit): a library changes
/// rarely and the same indicator names are searched again and again, so a repeated search is a
/// lookup. Every `upsert_all` starts a new generation and forgets them; an answer computed
/// while the index changed is not kept.
#[derive(Default)]
struct Answers {
    generation: u64,
    by_request: HashMap<(String, Filter, usize), (Vec<Hit>, usize)>,
}

/// Answers kept by default (`SearchIndex::keep_answers`).
pub const KEPT_ANSWERS: usize = 4096;

#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

impl Default for SearchIndex {
    fn default() -> Self {
        Self::new()
    }
}

fn document(f: &Fields, id: u32, indicator: &Indicator, level1_code: &str) -> TantivyDocument {
    let s = &indicator.spec;
    let name = normalize(&s.name);
    let explanation = normalize(&s.explanation);
    let mut d = TantivyDocument::default();
    d.add_text(f.code, &indicator.code);
    d.add_u64(f.id, u64::from(id));
    d.add_u64(f.name_rank, rank(name.chars().count(), &indicator.code));
    d.add_u64(
        f.explanation_rank,
        rank(explanation.chars().count(), &indicator.code),
    );
    let initials = initials(&name);
    let names = if initials == name {
        vec![name]
    } else {
        vec![name, initials]
    };
    for n in &names {
        d.add_text(f.name_prefixes, n);
        for g in f.name_grams.into_iter().chain(f.any_grams) {
            d.add_text(g, n);
        }
    }
    for g in f.any_grams {
        d.add_text(g, &explanation);
    }
    d.add_text(f.explanation_long, &explanation);
    d.add_text(f.fiscal_year, s.fiscal_year.get().to_string());
    d.add_text(f.frame_node_code, &s.frame_node_code);
    d.add_text(f.level1_code, level1_code);
    d.add_text(f.kind, s.kind.as_db());
    d.add_text(f.status, indicator.status.as_db());
    for t in &s.industry_tags {
        d.add_text(f.industry_tag, t);
    }
    for t in &s.field_tags {
        d.add_text(f.field_tag, t);
    }
    for t in &s.level_tags {
        d.add_text(f.level_tag, t);
    }
    d.add_text(f.owner_department, &s.owner_department);
    d.add_text(f.fixed, if s.fixed { "1" } else { "0" });
    d
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// Texts of `grams` (1- to N-grams fields) that contain a query of up to N characters, or of
/// `long` (N-grams with positions) that contain a longer one.
fn contains(grams: &[Field; N], long: Field, q: &str, chars: &[char]) -> Box<dyn Query> {
    if chars.len() <= N {
        return term(grams[chars.len() - 1], q);
    }
    let terms = covering_grams(chars, N)
        .into_iter()
        .map(|(i, g)| (i, Term::from_field_text(long, &g)))
        .collect();
    Box::new(PhraseQuery::new_with_offset(terms))
}

fn keyword(field: Field, value: &str) -> (Occur, Box<dyn Query>) {
    (Occur::Must, term(field, value))
}

impl Inner {
    fn filter_clauses(&self, filter: &Filter) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let mut out = Vec::new();
        if let Some(y) = filter.fiscal_year {
            out.push(keyword(f.fiscal_year, &y.to_string()));
        }
        let texts = [
            (f.frame_node_code, &filter.frame_node_code),
            (f.level1_code, &filter.level1_code),
            (f.industry_tag, &filter.industry_tag),
            (f.field_tag, &filter.field_tag),
            (f.level_tag, &filter.level_tag),
            (f.owner_department, &filter.owner_department),
        ];
        for (field, value) in texts {
            if let Some(v) = value {
                out.push(keyword(field, v));
            }
        }
        if let Some(k) = filter.kind {
            out.push(keyword(f.kind, k.as_db()));
        }
        if let Some(s) = filter.status {
            out.push(keyword(f.status, s.as_db()));
        }
        if filter.fixed_only {
            out.push(keyword(f.fixed, "1"));
        }
        out
    }

    /// One stage: the matches of `clauses` and the filters, counted, and the best `limit`.
    fn stage(
        &self,
        searcher: &Searcher,
        mut clauses: Vec<(Occur, Box<dyn Query>)>,
        filter: &Filter,
        limit: usize,
        class: Class,
    ) -> (Vec<Candidate>, usize) {
        clauses.extend(self.filter_clauses(filter));
        let query = BooleanQuery::new(clauses);
        searcher
            .search(&query, &Best { limit, class })
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "search index: search failed");
                (Vec::new(), 0)
            })
    }
}

impl SearchIndex {
    pub fn new() -> Self {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        for (n, name) in GRAMS.iter().enumerate() {
            index.tokenizers().register(name, Grams(n + 1));
        }
        index
            .tokenizers()
            .register(PREFIXES, Prefixes(MAX_QUERY_CHARS));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        let writer: IndexWriter = index
            .writer_with_num_threads(threads, threads * WRITER_MEMORY)
            .expect("an in-RAM tantivy index takes a writer");
        // Every search visits every segment (a term lookup per query term and segment), so
        // segments are merged early: four of a size are merged into one.
        let mut merges = LogMergePolicy::default();
        merges.set_min_num_segments(MERGE_AT);
        writer.set_merge_policy(Box::new(merges));
        // Reloaded after each commit by `upsert_all` (a write is searchable when it returns),
        // and by tantivy shortly after a background merge, which commits no new documents.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .expect("an in-RAM tantivy index opens a reader");
        Self {
            inner: Arc::new(Inner {
                fields,
                reader,
                writer: Mutex::new(writer),
                versions: RwLock::default(),
                answers: Mutex::default(),
                max_answers: AtomicUsize::new(KEPT_ANSWERS),
            }),
        }
    }

    /// Adds or replaces the current version of indicators, each with the code of its
    /// first-level frame node. An older version than the indexed one is ignored. The batch is one
    /// commit; it is searchable when this returns.
    pub fn upsert_all(&self, indicators: impl IntoIterator<Item = (Indicator, String)>) {
        let inner = &*self.inner;
        let mut writer = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        // Ids first (a short write lock), documents outside it. `get` and `version_of` show the
        // new versions only once they are searchable (`pending` is published after the reload).
        let mut added = Vec::new();
        let mut replaced = Vec::new();
        let mut pending: HashMap<String, u32> = HashMap::new();
        {
            let mut v = inner.versions.write().unwrap_or_else(|p| p.into_inner());
            for (indicator, level1) in indicators {
                let old = pending
                    .get(&indicator.code)
                    .or_else(|| v.by_code.get(&indicator.code))
                    .copied();
                if let Some(old) = old {
                    let current = v.by_id[old as usize].as_ref().map_or(0, |i| i.version);
                    if current >= indicator.version {
                        continue; // already indexed, or older than what we have
                    }
                    replaced.push(old);
                }
                let id = u32::try_from(v.by_id.len()).expect("fewer than 2^32 indexed versions");
                let indicator = Arc::new(indicator);
                pending.insert(indicator.code.clone(), id);
                v.by_id.push(Some(indicator.clone()));
                added.push((id, indicator, level1));
            }
        }
        if added.is_empty() {
            return;
        }
        let code = inner.fields.code;
        for (id, indicator, level1) in &added {
            writer.delete_term(Term::from_field_text(code, &indicator.code));
            let doc = document(&inner.fields, *id, indicator, level1);
            if let Err(e) = writer.add_document(doc) {
                tracing::error!(error = %e, "search index: adding a document failed");
            }
        }
        if let Err(e) = writer.commit() {
            tracing::error!(error = %e, "search index: commit failed");
            return;
        }
        if let Err(e) = inner.reader.reload() {
            tracing::error!(error = %e, "search index: reader reload failed");
            return;
        }
        let mut v = inner.versions.write().unwrap_or_else(|p| p.into_inner());
        v.by_code.extend(pending);
        for old in replaced {
            v.by_id[old as usize] = None;
        }
        drop(v);
        let mut answers = inner.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers.generation += 1;
        answers.by_request.clear();
    }

    /// Keeps at most `n` answers from now on (`PBM_SEARCH_KEPT_ANSWERS`); 0 computes every
    /// search.
    pub fn keep_answers(&self, n: usize) {
        self.inner.max_answers.store(n, Ordering::Relaxed);
        let mut answers = self.inner.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers.by_request.clear();
    }

    /// The indexed current version of an indicator.
    pub fn get(&self, code: &str) -> Option<Arc<Indicator>> {
        let v = self
            .inner
            .versions
            .read()
            .unwrap_or_else(|p| p.into_inner());
        v.by_code
            .get(code)
            .and_then(|&id| v.by_id[id as usize].clone())
    }

    /// The indexed version of an indicator, if indexed.
    pub fn version_of(&self, code: &str) -> Option<i64> {
        self.get(code).map(|i| i.version)
    }

    /// Number of indicators indexed.
    pub fn len(&self) -> usize {
        self.inner
            .versions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_code
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns up to `limit` hits, best first, and the number of all matches: the answer given
    /// before if nothing changed since (`Answers`).
    pub fn search(&self, query: &str, filter: &Filter, limit: usize) -> (Vec<Hit>, usize) {
        let q = normalize(query);
        if q.is_empty() {
            return (Vec::new(), 0);
        }
        let max_answers = self.inner.max_answers.load(Ordering::Relaxed);
        if max_answers == 0 {
            return self.compute(&q, filter, limit);
        }
        let key = (q, filter.clone(), limit);
        let generation = {
            let answers = self.inner.answers.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(answer) = answers.by_request.get(&key) {
                return answer.clone();
            }
            answers.generation
        };
        let answer = self.compute(&key.0, filter, limit);
        let mut answers = self.inner.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.generation == generation {
            if answers.by_request.len() >= max_answers {
                answers.by_request.clear();
            }
            answers.by_request.insert(key, answer.clone());
        }
        answer
    }

    /// The search itself, on the current reader.
    fn compute(&self, q: &str, filter: &Filter, limit: usize) -> (Vec<Hit>, usize) {
        let q = q.to_owned();
        let inner = &*self.inner;
        let f = &inner.fields;
        let chars: Vec<char> = q.chars().collect();
        let short = chars.len() <= N;
        let prefix = || term(f.name_prefixes, &q);
        let name = || contains(&f.name_grams, f.name_grams[N - 1], &q, &chars);
        // Name or explanation (up to N characters), or explanation (longer).
        let any = || contains(&f.any_grams, f.explanation_long, &q, &chars);
        let searcher = inner.reader.searcher();
        // 1. Exact name or name prefix (an exact name is a prefix as long as the query).
        let (mut candidates, mut found) = inner.stage(
            &searcher,
            vec![(Occur::Must, prefix())],
            filter,
            limit,
            Class::PrefixOf(chars.len()),
        );
        // 2. Name contains, not as a prefix: only while the best `limit` are not found yet.
        let ranked_names = found < limit;
        if ranked_names {
            let (more, n) = inner.stage(
                &searcher,
                vec![(Occur::Must, name()), (Occur::MustNot, prefix())],
                filter,
                limit - found,
                Class::Fixed(MatchKind::NameContains),
            );
            candidates.extend(more);
            found += n;
        }
        // 3. Explanation, not name: ranked while needed; for a longer query counted anyway once
        // stage 2 ran (cheaper than the union below).
        let total = if ranked_names && (found < limit || !short) {
            let (more, n) = inner.stage(
                &searcher,
                vec![(Occur::Must, any()), (Occur::MustNot, name())],
                filter,
                limit.saturating_sub(found),
                Class::Fixed(MatchKind::Explanation),
            );
            candidates.extend(more);
            found + n
        } else if short {
            // Every match contains the query in its name or explanation (a prefix match too):
            // one term, counted from its postings (its document frequency when no document of
            // a segment is deleted and there is no filter).
            let filters = inner.filter_clauses(filter);
            let query: Box<dyn Query> = if filters.is_empty() {
                any() // a term query counts by its document frequency
            } else {
                let mut clauses = vec![(Occur::Must, any())];
                clauses.extend(filters);
                Box::new(BooleanQuery::new(clauses))
            };
            query.count(&searcher).unwrap_or_else(|e| {
                tracing::error!(error = %e, "search index: count failed");
                0
            })
        } else {
            let either = BooleanQuery::new(vec![(Occur::Should, name()), (Occur::Should, any())]);
            let either: Box<dyn Query> = Box::new(either);
            inner
                .stage(
                    &searcher,
                    vec![(Occur::Must, either)],
                    filter,
                    0,
                    Class::Fixed(MatchKind::Explanation),
                )
                .1
        };
        let v = inner.versions.read().unwrap_or_else(|p| p.into_inner());
        let mut hits: Vec<(Candidate, Arc<Indicator>)> = candidates
            .into_iter()
            .filter_map(|c| Some((c, v.by_id.get(c.id as usize)?.clone()?)))
            .collect();
        drop(v);
        let by_rank = |a: &(Candidate, Arc<Indicator>), b: &(Candidate, Arc<Indicator>)| {
            a.0.key()
                .cmp(&b.0.key())
                .then_with(|| a.1.code.cmp(&b.1.code))
        };
        if limit > 0 && limit < hits.len() {
            hits.select_nth_unstable_by(limit - 1, by_rank);
        }
        hits.truncate(limit);
        hits.sort_unstable_by(by_rank);
        let hits = hits
            .into_iter()
            .map(|(c, indicator)| Hit {
                indicator,
                kind: c.kind,
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
    fn a_repeated_search_is_answered_again_until_the_library_changes() {
        let index = SearchIndex::new();
        index.upsert_all([ind("A", "饮水人口", "", 1), ind("B", "道路里程", "", 1)]);
        let all = Filter::default();
        let first = index.search("饮水", &all, 10);
        assert_eq!(codes(&first.0), ["A"]);
        // Same request: the kept answer; another filter or limit: its own.
        assert_eq!(codes(&index.search("饮水", &all, 10).0), ["A"]);
        let other_year = Filter {
            fiscal_year: Some(2027),
            ..Filter::default()
        };
        assert_eq!(index.search("饮水", &other_year, 10).1, 0);
        // A change forgets every kept answer: the new text is found, the old one is not.
        index.upsert_all([ind("A", "道路宽度", "", 2), ind("C", "饮水工程", "", 1)]);
        let after = index.search("饮水", &all, 10);
        assert_eq!((codes(&after.0), after.1), (vec!["C"], 1));
        assert_eq!(index.search("道路", &all, 10).1, 2);
        assert_eq!(index.search("饮水", &all, 1).1, 1);
    }

    #[test]
    fn with_no_kept_answers_every_search_is_computed() {
        let index = SearchIndex::new();
        index.keep_answers(0);
        index.upsert_all([ind("A", "饮水人口", "", 1)]);
        assert_eq!(index.search("饮水", &Filter::default(), 10).1, 1);
        assert!(index.inner.answers.lock().unwrap().by_request.is_empty());
        index.keep_answers(1);
        index.search("饮水", &Filter::default(), 10);
        index.search("人口", &Filter::default(), 10);
        assert_eq!(index.inner.answers.lock().unwrap().by_request.len(), 1);
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
    #[test]
    fn pinyin_initials_match_names() {
        let index = SearchIndex::new();
        index.upsert_all([
            ind("A", "饮水数量", "", 1),
            ind("B", "农村饮水数量达标率", "", 1),
            ind("C", "道路里程", "反映饮水数量", 1),
        ]);
        let (hits, total) = index.search("yssl", &Filter::default(), 10);
        assert_eq!((codes(&hits), total), (vec!["A", "B"], 2));
        assert_eq!(hits[0].kind, MatchKind::NameExact);
        assert_eq!(hits[1].kind, MatchKind::NameContains);
        let (hits, _) = index.search("YS", &Filter::default(), 10);
        assert_eq!(hits[0].kind, MatchKind::NamePrefix);
        assert_eq!(index.search("dl", &Filter::default(), 10).1, 1);
    }

    #[test]
    fn one_two_and_long_queries() {
        let index = SearchIndex::new();
        index.upsert_all([
            ind("A", "水", "", 1),
            ind("B", "水利工程完成率", "", 1),
            ind("C", "农村饮水安全覆盖率", "", 1),
            ind("D", "道路里程", "含饮水管网", 1),
            ind("E", "GDP增速", "", 1),
        ]);
        let (hits, total) = index.search("水", &Filter::default(), 10);
        assert_eq!((codes(&hits), total), (vec!["A", "B", "C", "D"], 4));
        let kinds: Vec<MatchKind> = hits.iter().map(|h| h.kind).collect();
        use MatchKind::*;
        assert_eq!(kinds, [NameExact, NamePrefix, NameContains, Explanation]);
        let (hits, total) = index.search("饮水", &Filter::default(), 10);
        assert_eq!((codes(&hits), total), (vec!["C", "D"], 2));
        let (hits, total) = index.search("农村饮水安全覆盖率", &Filter::default(), 10);
        assert_eq!((codes(&hits), total), (vec!["C"], 1));
        assert_eq!(hits[0].kind, NameExact);
        assert_eq!(index.search("饮水安全覆盖", &Filter::default(), 10).1, 1);
        assert_eq!(
            index.search("饮水安全覆盖率高", &Filter::default(), 10).1,
            0
        );
        assert_eq!(index.search(" gdp增速 ", &Filter::default(), 10).1, 1);
        assert_eq!(index.search("  ", &Filter::default(), 10).1, 0);
    }

    #[test]
    fn re_upsert_replaces_within_and_across_batches() {
        let index = SearchIndex::new();
        index.upsert_all([ind("A", "饮水一", "", 1), ind("A", "饮水二", "", 2)]);
        assert_eq!(index.search("饮水", &Filter::default(), 10).1, 1);
        assert_eq!(index.version_of("A"), Some(2));
        index.upsert_all([ind("A", "饮水三", "", 3)]);
        index.upsert_all([ind("A", "饮水三", "", 3)]); // the same version again: no change
        let (hits, total) = index.search("饮水", &Filter::default(), 10);
        assert_eq!((codes(&hits), total), (vec!["A"], 1));
        assert_eq!(hits[0].indicator.spec.name, "饮水三");
        assert_eq!(index.search("饮水二", &Filter::default(), 10).1, 0);
        assert_eq!(
            (index.len(), index.get("A").map(|i| i.version)),
            (1, Some(3))
        );
        assert!(index.get("B").is_none() && !index.is_empty());
    }

    #[test]
    fn every_filter_applies() {
        use crate::domain::indicator::{Kind, Status};
        let index = SearchIndex::new();
        let mut a = fixture::indicator("A", "饮水人口", "", 1);
        a.spec.frame_node_code = "201".into();
        a.spec.kind = Kind::Specific;
        a.status = Status::Disabled;
        a.spec.industry_tags = vec!["水利".into(), "农业".into()];
        a.spec.field_tags = vec!["民生保障".into()];
        a.spec.level_tags = vec!["县级".into()];
        a.spec.owner_department = "农业农村局".into();
        a.spec.fixed = true;
        let b = fixture::indicator("B", "饮水人口", "", 1);
        index.upsert_all([(a, "2".to_string()), (b, "1".to_string())]);
        let only = |f: Filter| codes(&index.search("饮水", &f, 10).0).join(",");
        let d = Filter::default;
        assert_eq!(only(d()), "A,B");
        assert_eq!(
            only(Filter {
                fiscal_year: Some(2026),
                ..d()
            }),
            "A,B"
        );
        assert_eq!(
            only(Filter {
                fiscal_year: Some(2025),
                ..d()
            }),
            ""
        );
        assert_eq!(
            only(Filter {
                frame_node_code: Some("201".into()),
                ..d()
            }),
            "A"
        );
        assert_eq!(
            only(Filter {
                level1_code: Some("1".into()),
                ..d()
            }),
            "B"
        );
        assert_eq!(
            only(Filter {
                kind: Some(Kind::Common),
                ..d()
            }),
            "B"
        );
        assert_eq!(
            only(Filter {
                status: Some(Status::Disabled),
                ..d()
            }),
            "A"
        );
        assert_eq!(
            only(Filter {
                industry_tag: Some("农业".into()),
                ..d()
            }),
            "A"
        );
        assert_eq!(
            only(Filter {
                field_tag: Some("民生保障".into()),
                ..d()
            }),
            "A"
        );
        assert_eq!(
            only(Filter {
                level_tag: Some("县级".into()),
                ..d()
            }),
            "A"
        );
        assert_eq!(
            only(Filter {
                owner_department: Some("农业农村局".into()),
                ..d()
            }),
            "A"
        );
        assert_eq!(
            only(Filter {
                fixed_only: true,
                ..d()
            }),
            "A"
        );
        let two = Filter {
            kind: Some(Kind::Specific),
            status: Some(Status::Enabled),
            ..d()
        };
        assert_eq!(index.search("饮水", &two, 10).1, 0);
    }

    #[test]
    fn total_counts_past_the_limit_and_ties_go_by_code_across_batches() {
        let index = SearchIndex::new();
        // Codes sharing their first 8 characters, written in several commits (segments).
        for batch in 0..4 {
            index.upsert_all(
                (0..40)
                    .rev()
                    .filter(|i| i % 4 == batch)
                    .map(|i| ind(&format!("2026-001-{i:03}"), "饮水人口", "", 1)),
            );
        }
        let (hits, total) = index.search("饮水", &Filter::default(), 4);
        assert_eq!(total, 40);
        assert_eq!(
            codes(&hits),
            [
                "2026-001-000",
                "2026-001-001",
                "2026-001-002",
                "2026-001-003"
            ]
        );
        let (hits, total) = index.search("人口", &Filter::default(), 0);
        assert_eq!((hits.len(), total), (0, 40));
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::domain::indicator::fixture;

    /// A library shaped like `pbm-load seed`'s (clients/pbm-load/src/seed.rs): scope + subject +
    /// measure names, explanations naming them and, for about a third, a second subject.
    fn library(count: usize) -> Vec<(Indicator, String)> {
        let subjects = [
            "饮水",
            "农村饮水安全",
            "水利工程",
            "农田灌溉",
            "道路",
            "农村公路",
            "公共交通",
            "学生",
            "义务教育学生资助",
            "学生营养餐",
            "校舍改造",
            "医疗",
            "基层医疗服务",
            "疫苗接种",
            "就业",
            "职业技能培训",
            "高校毕业生就业",
            "农田",
            "高标准农田",
            "垃圾处理",
            "生活垃圾分类",
            "污水处理",
            "空气质量监测",
            "养老服务",
            "困难群众救助",
            "保障性住房",
            "城市绿化",
            "集中供暖",
            "公共文化服务",
            "全民健身",
            "森林防火",
            "食品安全抽检",
        ];
        let scopes = [
            "",
            "全市",
            "市本级",
            "县域",
            "乡镇",
            "农村",
            "城区",
            "社区",
            "重点",
            "新增",
            "年度",
        ];
        let nodes: [(&str, &[&str]); 9] = [
            (
                "产出数量",
                &[
                    "数量",
                    "人数",
                    "覆盖人数",
                    "建设面积",
                    "建设里程",
                    "服务次数",
                ],
            ),
            ("建设质量", &["达标率", "合格率", "覆盖率"]),
            ("实施进度", &["完成率", "按时完成率", "资金支付及时率"]),
            ("成本控制", &["成本控制率", "单位建设成本"]),
            ("经济效益", &["带动增收金额"]),
            ("社会效益", &["受益人口数量", "受益率"]),
            ("生态效益", &["节能减排率"]),
            ("可持续影响", &["长效管护机制健全率"]),
            ("服务对象满意度", &["满意度", "群众满意度"]),
        ];
        let mut state = 7u64;
        let mut pick = |n: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % n as u64) as usize
        };
        (1..=count)
            .map(|n| {
                let (aspect, measures) = nodes[pick(nodes.len())];
                let measure = measures[pick(measures.len())];
                let subject = subjects[pick(subjects.len())];
                let scope = scopes[pick(scopes.len())];
                let mut explanation =
                    format!("反映{scope}{subject}项目{measure}情况，用于衡量项目{aspect}。");
                if pick(100) < 35 {
                    let other = subjects[pick(subjects.len())];
                    explanation.push_str(&format!("统筹考虑{other}等相关工作。"));
                }
                let name = format!("{scope}{subject}{measure}");
                let i = fixture::indicator(&format!("BM{n:06}"), &name, &explanation, 1);
                (i, "1".to_string())
            })
            .collect()
    }

    /// `cargo test --release -p pbm-indicator search::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn search_100k() {
        let index = SearchIndex::new();
        index.keep_answers(0); // every search computed
        let docs = library(100_000);
        let start = std::time::Instant::now();
        index.upsert_all(docs[..50_000].to_vec());
        println!("load of 50,000 at once: {:?}", start.elapsed());
        // The rest as `pbm-load seed` writes it: imports of 10,000 rows.
        for chunk in docs[50_000..].chunks(10_000) {
            index.upsert_all(chunk.to_vec());
        }
        println!("and 5 imports of 10,000: {:?}", start.elapsed());
        std::thread::sleep(std::time::Duration::from_secs(3)); // background merges
        println!(
            "segments: {}",
            index.inner.reader.searcher().segment_readers().len()
        );
        let start = std::time::Instant::now();
        for i in 1..=100 {
            let code = format!("BM{i:06}");
            index.upsert_all([(fixture::indicator(&code, "饮水新名称", "", 2), "1".into())]);
        }
        println!("one upsert: {:?}", start.elapsed() / 100);
        let queries = [
            "饮水",
            "受益人口",
            "道路",
            "学生",
            "医疗",
            "就业",
            "农田",
            "垃圾处理",
            "满意度",
            "覆盖率",
            "完成率",
            "农村饮水安全",
            "水",
            "ncys",
            "无此指标",
        ];
        for q in queries {
            let start = std::time::Instant::now();
            let mut total = 0;
            for _ in 0..200 {
                total = index.search(q, &Filter::default(), 20).1;
            }
            println!(
                "{q}: {total} matches, {:?} per search",
                start.elapsed() / 200
            );
        }
    }
}
