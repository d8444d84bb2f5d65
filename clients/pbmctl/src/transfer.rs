//! `.xlsx` import and export of the pool (`agency import|export`, `expert import|export`),
//! done on the client with `pbm_xlsx` and the registry RPCs. This module holds what both share:
//! reading a workbook and reporting every bad cell (sheet row + column header + message) before
//! anything is sent, writing one, the cell checks, the request ids derived from the file, how a
//! refused registration is classified, and the summary of an import.
//!
//! Every import is all-or-nothing on the client: every row is checked first, and if any cell is
//! wrong every problem is printed and nothing is sent (exit 1). Then each row is registered with
//! a request id derived from the file, so that running the same import again is safe; each row
//! is reported as 已新增 (created), 已存在 (already existed) or 失败 (refused; exit 1).

pub mod agency;
pub mod expert;

use std::path::Path;

use pbm_xlsx::{Column, Row};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::client::{Ctx, Failure, Outcome, fail, reason, status_message};
use crate::json;
use crate::names::Names;
use crate::table::Table;

pub const fn col(header: &'static str, required: bool, width: f64) -> Column {
    Column {
        header,
        required,
        width,
    }
}

/// A problem with a cell: its 1-based sheet row (0 = the whole file) and its column header
/// (`""` = the whole row or sheet).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub row: u32,
    pub column: String,
    pub message: String,
}

/// The layout of one kind of workbook.
pub struct Sheet {
    /// The sheet name an export writes (`机构库`).
    pub name: &'static str,
    /// What a row is, for messages (`机构`, `专家`), and its measure word (`家`, `位`).
    pub noun: &'static str,
    pub counter: &'static str,
    /// The key counting the rows in an export's `--json` output (`agencies`).
    pub key: &'static str,
    pub columns: &'static [Column],
}

impl Sheet {
    /// Every data row of `file`; if the workbook or a required cell is wrong, every problem is
    /// printed and the import stops.
    pub fn read(&self, file: &Path) -> Outcome<Vec<Row>> {
        let bytes = std::fs::read(file)
            .map_err(|e| Failure::Message(format!("无法读取 {}: {e}", file.display())))?;
        let rows = pbm_xlsx::read_table(&bytes, self.columns).map_err(|errors| {
            let problems: Vec<Problem> = errors
                .into_iter()
                .map(|e| Problem {
                    row: e.row,
                    column: e.column,
                    message: format!("{} ({})", e.message, e.reason),
                })
                .collect();
            self.reject(file, &problems)
        })?;
        if rows.is_empty() {
            return fail(format!("{} 没有数据行", file.display()));
        }
        Ok(rows)
    }

    /// Prints every problem as `FILE: 第3行「列」: message` and stops the import (nothing was
    /// sent).
    pub fn reject(&self, file: &Path, problems: &[Problem]) -> Failure {
        for p in problems {
            let place = match (p.row, p.column.is_empty()) {
                (0, _) => String::new(),
                (row, true) => format!("第{row}行: "),
                (row, false) => format!("第{row}行「{}」: ", p.column),
            };
            eprintln!("{}: {place}{}", file.display(), p.message);
        }
        eprintln!(
            "错误: {} 有 {} 处问题，未导入任何{}（nothing was sent）",
            file.display(),
            problems.len(),
            self.noun
        );
        Failure::Reported
    }

    /// Checks every row with `plan` (which records the problems of its cells), then that no two
    /// rows share a key (`key` of a planned row; `""` = none) in column `column` (`repeat`
    /// phrases the problem from the key and the first row with it). The planned rows, or every
    /// problem in row order.
    pub fn plan<P>(
        &self,
        rows: &[Row],
        mut plan: impl FnMut(&Row, &mut Vec<Problem>) -> P,
        column: usize,
        key: impl Fn(&P) -> &str,
        repeat: impl Fn(&str, u32) -> String,
    ) -> Result<Vec<P>, Vec<Problem>> {
        let mut problems = Vec::new();
        let planned: Vec<P> = rows.iter().map(|row| plan(row, &mut problems)).collect();
        let keys = rows.iter().zip(&planned).map(|(r, p)| (r.number, key(p)));
        for (row, first, k) in repeated(keys) {
            problems.push(Problem {
                row,
                column: self.columns[column].header.to_owned(),
                message: repeat(k, first),
            });
        }
        if problems.is_empty() {
            Ok(planned)
        } else {
            problems.sort_by_key(|p| p.row);
            Err(problems)
        }
    }

    /// The cells of `row`, recording problems into `problems`.
    pub fn cells<'a>(&'a self, row: &'a Row, problems: &'a mut Vec<Problem>) -> Cells<'a> {
        Cells {
            row,
            columns: self.columns,
            problems,
        }
    }

    /// Writes `rows` (one cell per column) to `file` and says so: `已导出 3 位专家到 FILE` and
    /// `note` on stderr, or with `--json` `{"file", "<key>": 3}` and the `extra` members.
    pub fn export(
        &self,
        ctx: &Ctx,
        file: &Path,
        rows: &[Vec<String>],
        extra: &[(&str, Value)],
        note: &str,
    ) -> Outcome {
        let bytes = pbm_xlsx::write_table(self.name, self.columns, rows)
            .map_err(|e| Failure::Message(format!("无法生成工作簿: {e}")))?;
        std::fs::write(file, bytes)
            .map_err(|e| Failure::Message(format!("无法写入 {}: {e}", file.display())))?;
        if ctx.json {
            let mut o = serde_json::Map::new();
            o.insert("file".into(), json!(file.display().to_string()));
            o.insert(self.key.into(), json!(rows.len()));
            for (key, value) in extra {
                o.insert((*key).into(), value.clone());
            }
            json::print(&Value::Object(o));
        } else {
            println!(
                "已导出 {} {}{}到 {}",
                rows.len(),
                self.counter,
                self.noun,
                file.display()
            );
            eprintln!("{note}");
        }
        Ok(())
    }
}

/// One row being checked: its cells by column index, and the problems found so far.
pub struct Cells<'a> {
    row: &'a Row,
    columns: &'a [Column],
    problems: &'a mut Vec<Problem>,
}

impl<'a> Cells<'a> {
    /// The (trimmed) text of column `i`, `""` when empty.
    pub fn get(&self, i: usize) -> &'a str {
        self.row
            .cells
            .get(i)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Records a problem with column `i` of this row.
    pub fn problem(&mut self, i: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            row: self.row.number,
            column: self.columns[i].header.to_owned(),
            message: message.into(),
        });
    }

    /// The value a non-empty cell names in `names` (`label` for the message); `0` and a
    /// problem when it names none, `0` for an empty cell (required cells are checked on
    /// reading).
    pub fn name(&mut self, i: usize, label: &str, names: &Names) -> i32 {
        self.item_name(i, self.get(i), label, names)
    }

    /// As [`Cells::name`], for one item `text` of a list in column `i`.
    pub fn item_name(&mut self, i: usize, text: &str, label: &str, names: &Names) -> i32 {
        if text.is_empty() {
            return 0;
        }
        names.parse(text).unwrap_or_else(|| {
            self.problem(
                i,
                format!("{label}「{text}」无效，应为：{}", names.zh_list()),
            );
            0
        })
    }
}

/// The items of a list cell, separated by `、`, `，`, `,`, `；` or `;`.
pub fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(['、', '，', ',', '；', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The rows whose key repeats an earlier row's (empty keys aside): `(row, first row, key)`.
pub fn repeated<'k>(keys: impl IntoIterator<Item = (u32, &'k str)>) -> Vec<(u32, u32, &'k str)> {
    let mut seen: Vec<(u32, &str)> = Vec::new();
    let mut out = Vec::new();
    for (row, key) in keys {
        if key.is_empty() {
            continue;
        }
        match seen.iter().find(|(_, k)| *k == key) {
            Some((first, _)) => out.push((row, *first, key)),
            None => seen.push((row, key)),
        }
    }
    out
}

/// An 11-digit mainland mobile number.
pub fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

/// A personal number of `len` characters as lists show it: the first 3 and last 4 kept (digits,
/// or `X` for the check character of a 身份证号), `*` between.
pub fn is_masked(s: &str, len: usize) -> bool {
    let b = s.as_bytes();
    b.len() == len
        && len > 7
        && b[..3].iter().all(u8::is_ascii_digit)
        && b[len - 4..]
            .iter()
            .all(|c| c.is_ascii_digit() || *c == b'X')
        && b[3..len - 4].iter().all(|c| *c == b'*')
}

/// Masks a personal number as the server does in lists: first 3 and last 4 characters kept,
/// each one between replaced by `*` (7 characters or fewer: all masked).
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n <= 7 {
        return "*".repeat(n);
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(n - 7));
    out.extend(&chars[n - 4..]);
    out
}

/// SHA-256 (hex) of `parts` joined by the unit separator (0x1f): the stable fingerprint behind
/// the request ids of an import.
pub fn digest<'p>(parts: impl IntoIterator<Item = &'p str>) -> String {
    let mut hash = Sha256::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            hash.update([0x1f]);
        }
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

/// Fingerprint of a whole sheet (every row's number and cells).
pub fn sheet_digest(rows: &[Row]) -> String {
    let numbers: Vec<String> = rows.iter().map(|r| r.number.to_string()).collect();
    digest(
        rows.iter().zip(&numbers).flat_map(|(r, n)| {
            std::iter::once(n.as_str()).chain(r.cells.iter().map(String::as_str))
        }),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowResult {
    Created,
    Existed,
    Failed,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub result: RowResult,
    /// The server's reason code (`EXPERT_EXISTS`, `ENTRY_RULES_NOT_MET`, …), when it gave one.
    pub reason: String,
    /// Why the row failed, or how it is known to exist already (may be empty).
    pub text: String,
}

impl Reported {
    pub fn created() -> Self {
        Self {
            result: RowResult::Created,
            reason: String::new(),
            text: String::new(),
        }
    }

    pub fn existed(text: impl Into<String>) -> Self {
        Self {
            result: RowResult::Existed,
            reason: String::new(),
            text: text.into(),
        }
    }

    pub fn failed(text: impl Into<String>) -> Self {
        Self {
            result: RowResult::Failed,
            reason: String::new(),
            text: text.into(),
        }
    }

    /// A refused call for one row: `exists` is the reason code meaning the record is already
    /// there (`AGENCY_EXISTS`). Refusals that concern every row (the token, the server down)
    /// stop the import.
    pub fn refused(status: tonic::Status, exists: &str) -> Outcome<Self> {
        if matches!(
            status.code(),
            tonic::Code::Unauthenticated | tonic::Code::Unavailable
        ) {
            return Err(status.into());
        }
        let code = reason(&status);
        let mut text = status_message(&status);
        if !code.is_empty() && !text.contains(&code) {
            text.push_str(&format!(" ({code})"));
        }
        let result = if status.code() == tonic::Code::AlreadyExists && code == exists {
            RowResult::Existed
        } else {
            if let Some(bad) = tonic_types::StatusExt::get_details_bad_request(&status) {
                for v in bad.field_violations {
                    text.push_str(&format!("；{}: {}", v.field, v.description));
                }
            }
            RowResult::Failed
        };
        Ok(Self {
            result,
            reason: code,
            text,
        })
    }

    /// The result as the summary table shows it.
    fn cell(&self) -> String {
        match self.result {
            RowResult::Created => "已新增".to_owned(),
            RowResult::Existed if self.text.is_empty() => "已存在".to_owned(),
            RowResult::Existed => format!("已存在（{}）", self.text),
            RowResult::Failed => format!("失败: {}", self.text),
        }
    }
}

/// The rows of an import and what became of each, printed as a table or as JSON.
pub struct Summary {
    /// JSON key and table header of each value that identifies a row.
    keys: &'static [(&'static str, &'static str)],
    rows: Vec<(u32, Vec<Value>, Reported)>,
}

impl Summary {
    pub fn new(keys: &'static [(&'static str, &'static str)]) -> Self {
        Self {
            keys,
            rows: Vec::new(),
        }
    }

    /// Row `row` (sheet row number), identified by `values` (one per key).
    pub fn push(&mut self, row: u32, values: Vec<Value>, reported: Reported) {
        self.rows.push((row, values, reported));
    }

    fn count(&self, result: RowResult) -> usize {
        self.rows
            .iter()
            .filter(|(_, _, r)| r.result == result)
            .count()
    }

    /// Prints every row and the totals; fails (exit 1) if any row failed.
    pub fn finish(self, ctx: &Ctx) -> Outcome {
        let (created, existed, failed) = (
            self.count(RowResult::Created),
            self.count(RowResult::Existed),
            self.count(RowResult::Failed),
        );
        if ctx.json {
            let rows: Vec<Value> = self
                .rows
                .iter()
                .map(|(row, values, r)| {
                    let mut o = serde_json::Map::new();
                    o.insert("row".into(), json!(row));
                    for ((key, _), v) in self.keys.iter().zip(values) {
                        o.insert((*key).into(), v.clone());
                    }
                    let (result, error, note) = match r.result {
                        RowResult::Created => ("created", "", ""),
                        RowResult::Existed => ("already_existed", "", r.text.as_str()),
                        RowResult::Failed => ("failed", r.text.as_str(), ""),
                    };
                    o.insert("result".into(), json!(result));
                    o.insert("reason".into(), json!(r.reason));
                    o.insert("error".into(), json!(error));
                    o.insert("note".into(), json!(note));
                    Value::Object(o)
                })
                .collect();
            json::print(&json!({
                "rows": rows,
                "created": created,
                "already_existed": existed,
                "failed": failed,
            }));
        } else {
            let mut headers = vec!["行"];
            headers.extend(self.keys.iter().map(|(_, h)| *h));
            headers.push("结果");
            let mut t = Table::new(&headers);
            for (row, values, r) in &self.rows {
                let mut cells = vec![row.to_string()];
                cells.extend(values.iter().map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                }));
                cells.push(r.cell());
                t.row(cells);
            }
            t.print();
            println!("新增 {created}，已存在 {existed}，失败 {failed}");
        }
        if failed > 0 {
            if !ctx.json {
                eprintln!("错误: {failed} 行导入失败");
            }
            return Err(Failure::Reported);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_masks() {
        assert!(is_mobile("13812345678"));
        assert!(!is_mobile("138****5678"));
        assert!(is_masked("138****5678", 11));
        assert!(!is_masked("1381234567", 11));
        assert!(!is_masked("13812345678", 11));
        assert_eq!(mask("13812345678"), "138****5678");
        assert_eq!(mask("14050219700315123X"), "140***********123X");
        assert!(is_masked(&mask("14050219700315123X"), 18));
        assert_eq!(mask("1234567"), "*******");
    }

    #[test]
    fn digests_separate_their_parts() {
        assert_eq!(digest(["ab", "c"]), digest(["ab", "c"]));
        assert_ne!(digest(["ab", "c"]), digest(["a", "bc"]));
        assert_eq!(digest(["a"]).len(), 64);
        let rows = |second: &str| {
            vec![
                Row {
                    number: 2,
                    cells: vec!["x".into(), "y".into()],
                },
                Row {
                    number: 3,
                    cells: vec!["z".into(), second.into()],
                },
            ]
        };
        assert_eq!(sheet_digest(&rows("w")), sheet_digest(&rows("w")));
        assert_ne!(sheet_digest(&rows("w")), sheet_digest(&rows("v")));
        assert_eq!(
            items(" LAW、ACCT，, IT ;").collect::<Vec<_>>(),
            ["LAW", "ACCT", "IT"]
        );
        assert_eq!(
            repeated([(2, "A"), (3, ""), (4, "B"), (5, "A"), (6, ""), (7, "A")]),
            [(5, 2, "A"), (7, 2, "A")]
        );
    }

    #[test]
    fn refusals_are_classified() {
        use tonic_types::{ErrorDetails, StatusExt};
        let status = |code, reason: &str| {
            tonic::Status::with_error_details(
                code,
                "该身份证号的专家已在库中",
                ErrorDetails::with_error_info(reason, "pbm", std::collections::HashMap::new()),
            )
        };
        let existed = Reported::refused(
            status(tonic::Code::AlreadyExists, "EXPERT_EXISTS"),
            "EXPERT_EXISTS",
        )
        .unwrap();
        assert_eq!(existed.result, RowResult::Existed);
        assert_eq!(existed.reason, "EXPERT_EXISTS");
        assert_eq!(
            existed.cell(),
            "已存在（该身份证号的专家已在库中 (EXPERT_EXISTS)）"
        );
        let refused = Reported::refused(
            status(tonic::Code::FailedPrecondition, "ENTRY_RULES_NOT_MET"),
            "EXPERT_EXISTS",
        )
        .unwrap();
        assert_eq!(refused.result, RowResult::Failed);
        assert!(refused.cell().starts_with("失败: "), "{}", refused.cell());
        assert!(
            Reported::refused(tonic::Status::unavailable("down"), "EXPERT_EXISTS").is_err(),
            "a server that is down stops the import"
        );
    }
}
