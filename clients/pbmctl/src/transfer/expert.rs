//! `pbmctl expert import|export FILE.xlsx`: experts as a workbook with Chinese headers (the
//! shared workbook handling, checks and summary are in `transfer.rs`).
//!
//! Export writes every expert as lists show them: 身份证号 and 手机号 masked (it never asks for
//! the full values). Import checks every row locally first (身份证号 check digit, phone, title,
//! years, birth date, field codes, employment and relations) and sends nothing if any cell is
//! wrong; then registers row by row with the request id `expert-import-<sheet hash>-<row>`, so
//! running the same import again is safe. A row whose 身份证号 or phone is masked (an export
//! read back) is never sent: it is reported as existing when it matches an expert of the pool.

use std::path::Path;

use chrono::NaiveDate;
use pbm_proto::agency::v1 as pb;
use pbm_xlsx::{Column, Row};
use serde_json::{Value, json};

use super::{
    Cells, Problem, Reported, RowResult, Sheet, Summary, col, is_masked, is_mobile, items, mask,
    sheet_digest,
};
use crate::client::{Ctx, Outcome};
use crate::names::{EXPERT_STATUS, TITLE, date_arg};
use crate::{expert, json};

pub const IMPORT_HELP: &str = "\
工作表格式 / Workbook layout (first sheet; row 1 = headers, matched by text, any order):
  专家编号                 导出时填写；导入时只用于核对已脱敏的行（可留空）
  姓名 (必填)
  身份证号 (必填)          18 位，校验码按 GB 11643 检查；导出为脱敏形式 140***********1234
  手机号 (必填)            11 位手机号；导出为脱敏形式 139****1111
  职称 (必填)              初级、中级、副高级、正高级
  从业年限 (必填)          不小于 0 的整数
  出生日期                 YYYY-MM-DD；填写时须与身份证号第 7–14 位一致
  专业领域 (必填)          代码或名称，以「、」分隔：LAW、ACCT（pbmctl expert fields）
  专业领域名称             导出时填写，导入时不读取
  工作单位
  工作经历                 JSON 数组，同 expert add 的 employment：
                           [{\"organization\":\"山西某大学\",\"position\":\"教授\",
                             \"from\":\"2005-09-01\",\"to\":\"\"}]
  关联关系                 JSON 数组，同 expert add 的 relations：
                           [{\"party_code\":\"DEPT-WATER\",\"kind\":\"worked_for\",
                             \"from\":\"2018-01-01\",\"to\":\"\",\"note\":\"\"}]
  状态                     导出时填写（入库/考评/退出），导入时不读取
Import: every row is checked first; if any cell is wrong, every problem is printed with its row
and column and nothing is sent (exit 1). Then each row is registered with a request id derived
from the file and the row, so re-running an import is safe; each row is reported as 已新增
(created), 已存在 (already in the pool: the server's EXPERT_EXISTS, or registered by an earlier
run of the same file) or 失败 (refused, e.g. ENTRY_RULES_NOT_MET with the server's message;
exit 1). New experts need the full 身份证号 and 手机号; a masked row is never sent and counts as
已存在 only when it matches an expert of the pool (same masked 身份证号 and name, and the
专家编号 when given). Export writes every expert in this layout, masked.";

pub const COLUMNS: [Column; 13] = [
    col("专家编号", false, 10.0),
    col("姓名", true, 12.0),
    col("身份证号", true, 22.0),
    col("手机号", true, 14.0),
    col("职称", true, 10.0),
    col("从业年限", true, 10.0),
    col("出生日期", false, 12.0),
    col("专业领域", true, 20.0),
    col("专业领域名称", false, 26.0),
    col("工作单位", false, 28.0),
    col("工作经历", false, 50.0),
    col("关联关系", false, 50.0),
    col("状态", false, 8.0),
];

const SHEET: Sheet = Sheet {
    name: "专家库",
    noun: "专家",
    counter: "位",
    key: "experts",
    columns: &COLUMNS,
};

const ID: usize = 0;
const NAME: usize = 1;
const ID_NUMBER: usize = 2;
const PHONE: usize = 3;
const TITLE_LEVEL: usize = 4;
const YEARS: usize = 5;
const BIRTH: usize = 6;
const FIELDS: usize = 7;
const FIELD_NAMES: usize = 8;
const AFFILIATION: usize = 9;
const EMPLOYMENT: usize = 10;
const RELATIONS: usize = 11;
const STATUS: usize = 12;

/// Weights of positions 1–17 of a 身份证号 (GB 11643-1999, 7.2).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by `Σ(digit × weight) mod 11`.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Checks a 身份证号 as the server does (length, characters, birth date, check character): the
/// normalised (upper-case) number and its birth date, or why it is wrong (the number masked).
pub fn check_id_number(text: &str) -> Result<(String, NaiveDate), String> {
    let id = text.trim().to_uppercase();
    let invalid = |detail: &str| format!("身份证号「{}」{detail}", mask(&id));
    let len = id.chars().count();
    if len != 18 {
        return Err(invalid(&format!("长度错误：应为18位，实为{len}位")));
    }
    let b = id.as_bytes();
    if !b[..17].iter().all(u8::is_ascii_digit) {
        return Err(invalid("字符错误：前17位必须是数字"));
    }
    if !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(invalid("字符错误：第18位必须是数字或 X"));
    }
    let digits = |r: std::ops::Range<usize>| id[r].parse::<u32>().unwrap_or(0);
    let year = i32::try_from(digits(6..10)).unwrap_or(0);
    let birth = NaiveDate::from_ymd_opt(year, digits(10..12), digits(12..14))
        .ok_or_else(|| invalid("出生日期错误：第7–14位不是有效日期"))?;
    let sum: u32 = b[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    if b[17] != ID_CHECK[(sum % 11) as usize] {
        return Err(invalid("校验码错误：第18位与前17位不符，请核对"));
    }
    Ok((id, birth))
}

/// The field code an item names: a code (any case) or a Chinese name of the taxonomy.
fn field_code(item: &str, taxonomy: &[pb::Field]) -> Option<String> {
    taxonomy
        .iter()
        .find(|f| f.code.eq_ignore_ascii_case(item) || f.name == item)
        .map(|f| f.code.clone())
}

/// `YYYY-MM-DD`, or a problem at `path` when `text` is not empty and not such a date.
fn check_date(text: &str, path: &str, errors: &mut Vec<String>) -> Option<NaiveDate> {
    if text.trim().is_empty() {
        return None;
    }
    match date_arg(text) {
        Ok(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok(),
        Err(m) => {
            errors.push(format!("{path}: {m}"));
            None
        }
    }
}

/// Reads a JSON array of the `expert add` format (`json::list_from`).
type ListReader<T> = fn(&Value, &str) -> Result<Vec<T>, Vec<String>>;

/// The JSON array of column `i`, read with `read` (the `expert add` format); its problems (and
/// those `check` finds in it) are recorded against the column.
fn json_list<T>(
    c: &mut Cells<'_>,
    i: usize,
    read: ListReader<T>,
    check: fn(usize, &T, &mut Vec<String>),
) -> Vec<T> {
    let text = c.get(i);
    if text.is_empty() {
        return Vec::new();
    }
    let list = serde_json::from_str::<Value>(text)
        .map_err(|e| {
            vec![format!(
                "不是有效的 JSON 数组（{e}）；格式见 pbmctl expert import --help"
            )]
        })
        .and_then(|v| read(&v, ""));
    let mut errors = Vec::new();
    let list = match list {
        Ok(list) => {
            for (n, item) in list.iter().enumerate() {
                check(n, item, &mut errors);
            }
            list
        }
        Err(e) => {
            errors = e;
            Vec::new()
        }
    };
    for e in errors {
        c.problem(i, e);
    }
    list
}

fn check_employment(n: usize, e: &pb::EmploymentRecord, errors: &mut Vec<String>) {
    if e.organization.trim().is_empty() {
        errors.push(format!("[{n}].organization: 工作单位不能为空"));
    }
    let from = check_date(&e.from, &format!("[{n}].from"), errors);
    let to = check_date(&e.to, &format!("[{n}].to"), errors);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(format!("[{n}].to: 截止日期早于起始日期"));
    }
}

fn check_relation(n: usize, r: &pb::Relation, errors: &mut Vec<String>) {
    if r.party_code.trim().is_empty() {
        errors.push(format!("[{n}].party_code: 关联方编码不能为空"));
    }
    if r.kind == 0 {
        errors.push(format!("[{n}].kind: 请选择关联类型"));
    }
    if r.from.trim().is_empty() {
        errors.push(format!("[{n}].from: 起始日期不能为空"));
    }
    check_date(&r.from, &format!("[{n}].from"), errors);
    check_date(&r.to, &format!("[{n}].to"), errors);
}

#[derive(Debug)]
struct Planned {
    row: u32,
    spec: pb::ExpertSpec,
    /// The 专家编号 of the row (0 = none): only used to match a masked row.
    expert_id: i64,
    /// The 身份证号 or the 手机号 is masked: the row can only be an expert already in the pool.
    masked: bool,
    request_id: String,
}

/// Checks one row (problems into `problems`); `sheet` is the fingerprint of the whole sheet.
fn plan_row(
    row: &Row,
    taxonomy: &[pb::Field],
    sheet: &str,
    problems: &mut Vec<Problem>,
) -> Planned {
    let mut c = SHEET.cells(row, problems);
    let expert_id = match c.get(ID) {
        "" => 0,
        text => match text.parse::<i64>() {
            Ok(id) if id > 0 => id,
            _ => {
                c.problem(ID, format!("专家编号「{text}」无效：应为正整数"));
                0
            }
        },
    };
    let mut masked = false;
    let text = c.get(ID_NUMBER).to_uppercase();
    let (id_number, birth) = if text.is_empty() {
        (text, None)
    } else if is_masked(&text, 18) {
        masked = true;
        (text, None)
    } else {
        match check_id_number(&text) {
            Ok((id, birth)) => (id, Some(birth)),
            Err(m) => {
                c.problem(ID_NUMBER, m);
                (text, None)
            }
        }
    };
    let phone = c.get(PHONE).replace([' ', '-'], "");
    if is_masked(&phone, 11) {
        masked = true;
    } else if !phone.is_empty() && !is_mobile(&phone) {
        c.problem(
            PHONE,
            format!("手机号「{}」无效：应为以1开头的11位数字", mask(&phone)),
        );
    }
    let title = c.name(TITLE_LEVEL, "职称", &TITLE);
    let years_in_field = match c.get(YEARS) {
        "" => 0,
        text => match text.parse::<i32>() {
            Ok(y) if y >= 0 => y,
            _ => {
                c.problem(
                    YEARS,
                    format!("从业年限「{text}」无效：应为不小于 0 的整数"),
                );
                0
            }
        },
    };
    match (c.get(BIRTH), birth) {
        ("", _) => {}
        (text, from_id) => match date_arg(text) {
            Err(m) => c.problem(BIRTH, m),
            Ok(d) if from_id.is_some_and(|b| b.format("%Y-%m-%d").to_string() != d) => {
                c.problem(BIRTH, format!("出生日期「{d}」与身份证号第7–14位不符"));
            }
            Ok(_) => {}
        },
    }
    let mut fields = Vec::new();
    for item in items(c.get(FIELDS)) {
        match field_code(item, taxonomy) {
            Some(code) if fields.contains(&code) => {
                c.problem(FIELDS, format!("专业领域「{item}」重复"));
            }
            Some(code) => fields.push(code),
            None => c.problem(
                FIELDS,
                format!("专业领域「{item}」无效：不在专业领域分类中（pbmctl expert fields 列出代码和名称）"),
            ),
        }
    }
    let employment = json_list(&mut c, EMPLOYMENT, json::list_from, check_employment);
    let relations = json_list(&mut c, RELATIONS, json::list_from, check_relation);
    Planned {
        row: row.number,
        request_id: format!("expert-import-{}-{}", &sheet[..24], row.number),
        expert_id,
        masked,
        spec: pb::ExpertSpec {
            name: c.get(NAME).to_owned(),
            id_number,
            phone,
            title,
            years_in_field,
            fields,
            affiliation: c.get(AFFILIATION).to_owned(),
            employment,
            relations,
        },
    }
}

/// Checks every row of `rows`; the planned registrations, or every problem found.
fn plan(rows: &[Row], taxonomy: &[pb::Field]) -> Result<Vec<Planned>, Vec<Problem>> {
    let sheet = sheet_digest(rows);
    SHEET.plan(
        rows,
        |row, problems| plan_row(row, taxonomy, &sheet, problems),
        ID_NUMBER,
        // Masked numbers are not compared: they may stand for different people.
        |p: &Planned| {
            if is_masked(&p.spec.id_number, 18) {
                ""
            } else {
                &p.spec.id_number
            }
        },
        |id, first| format!("身份证号「{}」与第{first}行重复", mask(id)),
    )
}

pub async fn import(ctx: &Ctx, file: &Path) -> Outcome {
    let rows = SHEET.read(file)?;
    let taxonomy = expert::taxonomy(ctx).await?;
    let planned = plan(&rows, &taxonomy).map_err(|problems| SHEET.reject(file, &problems))?;
    // The pool before this run, masked as lists show it: to tell a replayed request (this file
    // ran before) from a new expert, and to match masked rows.
    let known =
        expert::list_all(ctx, &pb::ListExpertsRequest::default(), 500, String::new()).await?;
    let mut summary = Summary::new(&[
        ("name", "姓名"),
        ("id_number", "身份证号"),
        ("expert_id", "专家编号"),
    ]);
    for p in planned {
        let (reported, id) = register_row(ctx, &p, &known).await?;
        summary.push(
            p.row,
            vec![
                json!(p.spec.name),
                json!(mask(&p.spec.id_number)),
                id.map_or(Value::Null, |id| json!(id)),
            ],
            reported,
        );
    }
    summary.finish(ctx)
}

/// The experts of the pool a row stands for: same masked 身份证号 and name, and the same
/// 专家编号 when the row gives one.
fn matches<'k>(p: &Planned, known: &'k [pb::Expert]) -> Vec<&'k pb::Expert> {
    let masked = mask(&p.spec.id_number);
    known
        .iter()
        .filter(|e| {
            let spec = e.spec.as_ref();
            spec.is_some_and(|s| s.id_number == masked && s.name == p.spec.name)
                && (p.expert_id == 0 || e.id == p.expert_id)
        })
        .collect()
}

/// Registers one planned row (a masked one is only matched); the result and the expert id
/// when known. Errors that concern every row (token, server down) abort.
async fn register_row(
    ctx: &Ctx,
    p: &Planned,
    known: &[pb::Expert],
) -> Outcome<(Reported, Option<i64>)> {
    let matching = matches(p, known);
    let matched = match matching.as_slice() {
        [one] => Some(one.id),
        _ => None,
    };
    if p.masked {
        return Ok(match (matched, matching.len()) {
            (Some(id), _) => (
                Reported::existed("按脱敏身份证号和姓名核对为库中专家，未发送"),
                Some(id),
            ),
            (None, 0) => (
                Reported::failed(
                    "身份证号或手机号已脱敏，库中没有对应的专家：新增专家须填写完整身份证号和手机号",
                ),
                None,
            ),
            (None, _) => (
                Reported::failed(
                    "身份证号已脱敏，库中有多位同名且脱敏身份证号相同的专家：请填写专家编号",
                ),
                None,
            ),
        });
    }
    let registered = ctx
        .api()
        .register_expert(ctx.req(pb::RegisterExpertRequest {
            request_id: p.request_id.clone(),
            spec: Some(p.spec.clone()),
        }))
        .await;
    Ok(match registered {
        Ok(response) => {
            let id = response.into_inner().expert.unwrap_or_default().id;
            if known.iter().any(|e| e.id == id) {
                let note = format!("此前导入同一文件时已登记（请求号 {}）", p.request_id);
                (Reported::existed(note), Some(id))
            } else {
                (Reported::created(), Some(id))
            }
        }
        Err(status) => {
            let reported = Reported::refused(status, "EXPERT_EXISTS")?;
            let id = if reported.result == RowResult::Existed {
                matched
            } else {
                None
            };
            (reported, id)
        }
    })
}

/// One expert as a sheet row; 身份证号 and 手机号 masked whatever the server sent.
fn export_row(e: &pb::Expert, taxonomy: &[pb::Field]) -> Vec<String> {
    let spec = e.spec.clone().unwrap_or_default();
    let list = |items: Vec<Value>| {
        if items.is_empty() {
            String::new()
        } else {
            Value::Array(items).to_string()
        }
    };
    let field_names: Vec<&str> = spec
        .fields
        .iter()
        .map(|code| {
            taxonomy
                .iter()
                .find(|f| &f.code == code)
                .map_or("", |f| f.name.as_str())
        })
        .collect();
    let mut row = vec![String::new(); COLUMNS.len()];
    row[ID] = e.id.to_string();
    row[NAME] = spec.name.clone();
    row[ID_NUMBER] = mask(&spec.id_number);
    row[PHONE] = mask(&spec.phone);
    row[TITLE_LEVEL] = TITLE.zh(spec.title);
    row[YEARS] = spec.years_in_field.to_string();
    row[BIRTH] = e.birth_date.clone();
    row[FIELDS] = spec.fields.join("、");
    row[FIELD_NAMES] = field_names.join("、");
    row[AFFILIATION] = spec.affiliation.clone();
    row[EMPLOYMENT] = list(spec.employment.iter().map(json::message).collect());
    row[RELATIONS] = list(spec.relations.iter().map(json::message).collect());
    row[STATUS] = EXPERT_STATUS.zh(e.status);
    row
}

pub async fn export(ctx: &Ctx, file: &Path) -> Outcome {
    let experts =
        expert::list_all(ctx, &pb::ListExpertsRequest::default(), 500, String::new()).await?;
    let taxonomy = expert::taxonomy(ctx).await?;
    let rows: Vec<Vec<String>> = experts.iter().map(|e| export_row(e, &taxonomy)).collect();
    SHEET.export(
        ctx,
        file,
        &rows,
        &[],
        "注意: 身份证号和手机号已脱敏（导出不读取完整号码）；用此文件新增专家时须填写完整号码",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid 身份证号 from its first 17 digits.
    fn id_number(first17: &str) -> String {
        let sum: u32 = first17
            .bytes()
            .zip(ID_WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        format!("{first17}{}", ID_CHECK[(sum % 11) as usize] as char)
    }

    fn taxonomy() -> Vec<pb::Field> {
        [("LAW", "法律"), ("ACCT", "财务会计"), ("IT", "信息技术")]
            .into_iter()
            .map(|(code, name)| pb::Field {
                code: code.into(),
                name: name.into(),
            })
            .collect()
    }

    fn row(number: u32, cells: &[(usize, &str)]) -> Row {
        let mut row = Row {
            number,
            cells: vec![String::new(); COLUMNS.len()],
        };
        for (i, text) in cells {
            row.cells[*i] = (*text).to_owned();
        }
        row
    }

    /// A complete, valid row for `id`.
    fn good(number: u32, id: &str) -> Row {
        let birth = format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]);
        row(
            number,
            &[
                (NAME, "张专家"),
                (ID_NUMBER, id),
                (PHONE, "139 0000-1111"),
                (TITLE_LEVEL, "副高级"),
                (YEARS, "15"),
                (BIRTH, &birth),
                (FIELDS, "law、财务会计"),
                (FIELD_NAMES, "随便写"),
                (AFFILIATION, "山西某大学"),
                (
                    EMPLOYMENT,
                    r#"[{"organization":"山西某大学","position":"教授","from":"2005-09-01","to":""}]"#,
                ),
                (
                    RELATIONS,
                    r#"[{"party_code":"DEPT-WATER","kind":"任职","from":"2018-01-01","to":"2020-12-31"}]"#,
                ),
                (STATUS, "退出"),
            ],
        )
    }

    #[test]
    fn id_numbers_are_checked_like_the_server() {
        assert_eq!(
            check_id_number("11010519491231002x"),
            Ok((
                "11010519491231002X".into(),
                NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
            ))
        );
        let id = id_number("14050219700315123");
        assert!(check_id_number(&id).is_ok());
        let wrong = format!("{}{}", &id[..17], if id.ends_with('0') { '1' } else { '0' });
        let m = check_id_number(&wrong).unwrap_err();
        assert!(
            m.contains("校验码错误") && m.contains("140***********"),
            "{m}"
        );
        assert!(!m.contains(&wrong), "messages mask the number: {m}");
        assert!(check_id_number("1405").unwrap_err().contains("长度错误"));
        assert!(
            check_id_number("14050219701315123X")
                .unwrap_err()
                .contains("出生日期错误")
        );
        assert!(
            check_id_number("1405021970031512AX")
                .unwrap_err()
                .contains("前17位")
        );
    }

    #[test]
    fn a_good_row_becomes_a_spec() {
        let id = id_number("14050219700315123");
        let planned = plan(&[good(2, &id)], &taxonomy()).unwrap();
        let p = &planned[0];
        assert_eq!(p.row, 2);
        assert!(!p.masked);
        assert_eq!(p.expert_id, 0);
        assert_eq!(p.spec.name, "张专家");
        assert_eq!(p.spec.id_number, id);
        assert_eq!(p.spec.phone, "13900001111");
        assert_eq!(p.spec.title, pb::TitleLevel::Senior as i32);
        assert_eq!(p.spec.years_in_field, 15);
        assert_eq!(p.spec.fields, ["LAW", "ACCT"]);
        assert_eq!(p.spec.affiliation, "山西某大学");
        assert_eq!(p.spec.employment[0].organization, "山西某大学");
        assert_eq!(p.spec.employment[0].to, "");
        assert_eq!(p.spec.relations[0].kind, pb::RelationKind::WorkedFor as i32);
        assert!(p.request_id.starts_with("expert-import-") && p.request_id.ends_with("-2"));
        assert!(
            !p.request_id.contains(&id[6..14]),
            "no personal data in the id"
        );
    }

    #[test]
    fn request_ids_follow_the_file_and_the_row() {
        let (a, b) = (
            id_number("14050219700315123"),
            id_number("14050219800101456"),
        );
        let ids = |rows: &[Row]| -> Vec<String> {
            plan(rows, &taxonomy())
                .unwrap()
                .into_iter()
                .map(|p| p.request_id)
                .collect()
        };
        let first = ids(&[good(2, &a), good(3, &b)]);
        assert_eq!(first, ids(&[good(2, &a), good(3, &b)]), "deterministic");
        assert_ne!(first[0], first[1]);
        let mut changed = good(3, &b);
        changed.cells[YEARS] = "16".into();
        assert_ne!(first[0], ids(&[good(2, &a), changed])[0], "another file");
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_column() {
        let id = id_number("14050219700315123");
        let other = id_number("14050219800101456");
        let wrong = format!(
            "{}{}",
            &other[..17],
            if other.ends_with('0') { '1' } else { '0' }
        );
        let bad = row(
            3,
            &[
                (ID, "x"),
                (NAME, "李专家"),
                (ID_NUMBER, &wrong),
                (PHONE, "2390000111"),
                (TITLE_LEVEL, "教授"),
                (YEARS, "-1"),
                (BIRTH, "1970-02-30"),
                (FIELDS, "LAW、MAGIC、法律"),
                (
                    EMPLOYMENT,
                    r#"[{"organization":"","from":"2010-01-01","to":"2009-01-01"}]"#,
                ),
                (RELATIONS, r#"{"party_code":"X"}"#),
            ],
        );
        let problems = plan(&[good(2, &id), bad.clone(), good(4, &id)], &taxonomy()).unwrap_err();
        let at = |column: usize| -> Vec<&str> {
            problems
                .iter()
                .filter(|p| p.row == 3 && p.column == COLUMNS[column].header)
                .map(|p| p.message.as_str())
                .collect()
        };
        assert!(at(ID)[0].contains("应为正整数"));
        assert!(at(ID_NUMBER)[0].contains("校验码错误"));
        assert!(at(PHONE)[0].contains("手机号"));
        assert!(at(TITLE_LEVEL)[0].contains("初级、中级、副高级、正高级"));
        assert!(at(YEARS)[0].contains("不小于 0"));
        assert!(at(BIRTH)[0].contains("YYYY-MM-DD"));
        assert_eq!(at(FIELDS).len(), 2, "MAGIC unknown, 法律 = LAW repeated");
        assert!(at(EMPLOYMENT).contains(&"[0].organization: 工作单位不能为空"));
        assert!(at(EMPLOYMENT).contains(&"[0].to: 截止日期早于起始日期"));
        assert!(at(RELATIONS)[0].contains("应为数组"));
        // Row 4 repeats row 2's 身份证号; problems come in row order.
        let last = problems.last().unwrap();
        assert_eq!((last.row, last.column.as_str()), (4, "身份证号"));
        assert!(last.message.contains("与第2行重复") && !last.message.contains(&id));
        assert!(problems.windows(2).all(|w| w[0].row <= w[1].row));
    }

    #[test]
    fn birth_dates_must_agree_with_the_id_number() {
        let id = id_number("14050219700315123");
        let mut r = good(2, &id);
        r.cells[BIRTH] = "1970-03-16".into();
        let problems = plan(&[r], &taxonomy()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("与身份证号第7–14位不符"));
    }

    #[test]
    fn an_exported_row_reads_back_masked_and_matches_its_expert() {
        let id = id_number("14050219700315123");
        let expert = pb::Expert {
            id: 7,
            spec: Some(pb::ExpertSpec {
                name: "张专家".into(),
                id_number: mask(&id),
                phone: "139****1111".into(),
                title: pb::TitleLevel::FullSenior as i32,
                years_in_field: 20,
                fields: vec!["LAW".into(), "IT".into()],
                affiliation: "山西某大学".into(),
                employment: vec![pb::EmploymentRecord {
                    organization: "山西某大学".into(),
                    position: "教授".into(),
                    from: "2005-09-01".into(),
                    to: String::new(),
                }],
                relations: vec![pb::Relation {
                    party_code: "DEPT-WATER".into(),
                    kind: pb::RelationKind::Family as i32,
                    from: "2018-01-01".into(),
                    to: String::new(),
                    note: "配偶".into(),
                }],
            }),
            birth_date: "1970-03-15".into(),
            status: pb::ExpertStatus::UnderReview as i32,
            ..Default::default()
        };
        let cells = export_row(&expert, &taxonomy());
        assert_eq!(cells[ID_NUMBER], "140***********".to_owned() + &id[14..]);
        assert_eq!(cells[FIELDS], "LAW、IT");
        assert_eq!(cells[FIELD_NAMES], "法律、信息技术");
        assert_eq!(cells[TITLE_LEVEL], "正高级");
        assert_eq!(cells[STATUS], "考评");
        let planned = plan(&[Row { number: 2, cells }], &taxonomy()).unwrap();
        let p = &planned[0];
        assert!(p.masked);
        assert_eq!(p.expert_id, 7);
        assert_eq!(
            Some(&p.spec),
            expert.spec.as_ref(),
            "every column reads back"
        );
        assert_eq!(matches(p, std::slice::from_ref(&expert)).len(), 1);
        let other = pb::Expert {
            id: 8,
            ..expert.clone()
        };
        assert!(
            matches(p, std::slice::from_ref(&other)).is_empty(),
            "the 专家编号 must agree"
        );
        let mut unnumbered = planned.into_iter().next().unwrap();
        unnumbered.expert_id = 0;
        assert_eq!(
            matches(&unnumbered, &[expert.clone(), other]).len(),
            2,
            "without a 专家编号 namesakes are ambiguous"
        );

        // Full values are masked even if a server sent them.
        let mut leaky = expert;
        leaky.spec.as_mut().unwrap().id_number = id.clone();
        leaky.spec.as_mut().unwrap().phone = "13900001111".into();
        let cells = export_row(&leaky, &taxonomy());
        assert!(is_masked(&cells[ID_NUMBER], 18) && is_masked(&cells[PHONE], 11));
    }
}
