//! `pbmctl agency import|export FILE.xlsx`: agencies as a workbook with Chinese headers, done
//! on the client with `pbm_xlsx` and the registry RPCs.
//!
//! Import checks every row locally first (credit code check digit, type, scopes, batch, phone)
//! and sends nothing if any cell is wrong; then registers row by row with a request id derived
//! from the row (`import-<credit code>-<hash>`), so running the same import again is safe: rows
//! whose agency exists are reported as such.

use std::path::Path;

use pbm_proto::agency::v1 as pb;
use pbm_xlsx::{Column, Row};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::agency::{self, Filter};
use crate::client::{Ctx, Failure, Outcome, fail, reason, status_message};
use crate::names::{AGENCY_TYPE, SCOPE};
use crate::table::Table;
use crate::{batch, json};

pub const IMPORT_HELP: &str = "\
工作表格式 / Workbook layout (first sheet; row 1 = headers, matched by text, any order):
  统一社会信用代码 (必填)  18 位，校验码按 GB 32100-2015 检查
  机构名称 (必填)
  机构类型 (必填)          会计师事务所、资产评估机构、律师事务所、咨询机构、科研院所、高等院校
  法定代表人 (必填)
  主评人                   姓名以「、」分隔，资格可写在括号中：赵某（注册会计师/资产评估师）、钱某
  服务范围 (必填)          以「、」分隔：事前绩效评估和绩效目标审核、绩效评价或评价结果复核、
                           指标体系建设、课题研究
  入库批次 (必填)          批次名称或批次 ID（pbmctl batch list）
  联系人                   第一位联系人姓名
  联系电话                 11 位手机号（导出时默认脱敏，如 138****5678）
Import: every row is checked first; if any cell is wrong, every problem is printed with its row
and column and nothing is sent (exit 1). Then each row is registered with a request id derived
from the row, so re-running an import is safe; each row is reported as 已新增 (created),
已存在 (already existed) or 失败 (failed; exit 1). A masked phone is accepted only for agencies
that already exist. Export writes every agency in this layout.";

const fn col(header: &'static str, required: bool, width: f64) -> Column {
    Column {
        header,
        required,
        width,
    }
}

pub const COLUMNS: [Column; 9] = [
    col("统一社会信用代码", true, 22.0),
    col("机构名称", true, 32.0),
    col("机构类型", true, 14.0),
    col("法定代表人", true, 12.0),
    col("主评人", false, 30.0),
    col("服务范围", true, 40.0),
    col("入库批次", true, 30.0),
    col("联系人", false, 12.0),
    col("联系电话", false, 16.0),
];

const CODE: usize = 0;
const NAME: usize = 1;
const TYPE: usize = 2;
const LEGAL: usize = 3;
const LEADS: usize = 4;
const SCOPES: usize = 5;
const BATCH: usize = 6;
const CONTACT: usize = 7;
const PHONE: usize = 8;

/// Characters of a 统一社会信用代码 by value 0–30 (GB 32100-2015, 表1).
const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17 (GB 32100-2015, 5.2).
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Checks a credit code as the server does (length, characters, check character); the
/// normalised (upper-case) code, or why it is wrong.
pub fn check_credit_code(text: &str) -> Result<String, String> {
    let code = text.trim().to_uppercase();
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(format!(
            "统一社会信用代码「{code}」长度错误：应为18位，实为{}位",
            chars.len()
        ));
    }
    let mut values = Vec::with_capacity(18);
    for (i, c) in chars.iter().enumerate() {
        match CREDIT_ALPHABET.chars().position(|a| a == *c) {
            Some(v) => values.push(v as u32),
            None => {
                return Err(format!(
                    "统一社会信用代码「{code}」第{}位字符「{c}」无效：只能使用数字和除 I、O、S、V、Z 以外的大写字母",
                    i + 1
                ));
            }
        }
    }
    let sum: u32 = values[..17]
        .iter()
        .zip(CREDIT_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    if values[17] != (31 - sum % 31) % 31 {
        return Err(format!(
            "统一社会信用代码「{code}」校验码错误：第18位与前17位不符，请核对"
        ));
    }
    Ok(code)
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

/// A phone as lists show it: first 3 and last 4 digits, `*` between.
fn is_masked(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b[..3].iter().all(u8::is_ascii_digit)
        && b[7..].iter().all(u8::is_ascii_digit)
        && b[3..7].iter().all(|c| *c == b'*')
}

/// Splits on `、` outside parentheses.
fn split_list(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '（' | '(' => depth += 1,
            '）' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == '、' && depth == 0 {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `赵某（注册会计师/资产评估师）` → name and qualifications.
fn parse_lead(text: &str) -> Result<pb::LeadEvaluator, String> {
    let (name, rest) = match text.find(['（', '(']) {
        Some(i) => (&text[..i], Some(&text[i..])),
        None => (text, None),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("主评人「{text}」缺少姓名"));
    }
    let qualifications = match rest {
        None => Vec::new(),
        Some(rest) => {
            let inner = rest
                .trim_start_matches(['（', '('])
                .trim_end()
                .trim_end_matches(['）', ')']);
            inner
                .split(['/', '／', '、', '，', ','])
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_owned)
                .collect()
        }
    };
    Ok(pb::LeadEvaluator {
        name: name.to_owned(),
        qualifications,
    })
}

/// The batch a cell names: its exact name, else its id.
fn resolve_batch(text: &str, batches: &[pb::AdmissionBatch]) -> Result<i64, String> {
    let by_name: Vec<&pb::AdmissionBatch> = batches.iter().filter(|b| b.name == text).collect();
    match by_name.as_slice() {
        [one] => return Ok(one.id),
        [] => {}
        _ => {
            return Err(format!(
                "有多个名为「{text}」的入库批次，请改填批次 ID（pbmctl batch list）"
            ));
        }
    }
    let id = text.trim_start_matches('#').parse::<i64>().ok();
    match id.and_then(|id| batches.iter().find(|b| b.id == id)) {
        Some(b) => Ok(b.id),
        None => Err(format!(
            "未找到入库批次「{text}」：请填写批次名称或 ID（pbmctl batch list）"
        )),
    }
}

/// What an export writes for a batch: its name, or its id when the name is not unique.
fn batch_cell(id: i64, batches: &[pb::AdmissionBatch]) -> String {
    match batches.iter().find(|b| b.id == id) {
        Some(b) if batches.iter().filter(|o| o.name == b.name).count() == 1 => b.name.clone(),
        _ => id.to_string(),
    }
}

/// A problem with a cell: 1-based row and its column header.
struct Problem {
    row: u32,
    column: String,
    message: String,
}

struct Planned {
    row: u32,
    spec: pb::AgencySpec,
    masked_phone: bool,
    request_id: String,
}

fn plan_row(row: &Row, batches: &[pb::AdmissionBatch], problems: &mut Vec<Problem>) -> Planned {
    let cell = |i: usize| row.cells.get(i).map(String::as_str).unwrap_or_default();
    let mut problem = |i: usize, message: String| {
        problems.push(Problem {
            row: row.number,
            column: COLUMNS[i].header.to_owned(),
            message,
        });
    };
    let credit_code = match check_credit_code(cell(CODE)) {
        Ok(code) => code,
        Err(m) => {
            if !cell(CODE).is_empty() {
                problem(CODE, m);
            }
            cell(CODE).to_owned()
        }
    };
    let agency_type = match AGENCY_TYPE.parse(cell(TYPE)) {
        Some(t) => t,
        None => {
            if !cell(TYPE).is_empty() {
                problem(
                    TYPE,
                    format!(
                        "机构类型「{}」无效，应为：{}",
                        cell(TYPE),
                        AGENCY_TYPE
                            .names
                            .iter()
                            .map(|n| n.zh)
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                );
            }
            0
        }
    };
    let mut lead_evaluators = Vec::new();
    for item in split_list(cell(LEADS)) {
        match parse_lead(&item) {
            Ok(e) => lead_evaluators.push(e),
            Err(m) => problem(LEADS, m),
        }
    }
    let mut scopes = Vec::new();
    for item in cell(SCOPES)
        .split(['、', '，', ',', '；', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match SCOPE.parse(item) {
            Some(s) if scopes.contains(&s) => problem(SCOPES, format!("服务范围「{item}」重复")),
            Some(s) => scopes.push(s),
            None => problem(
                SCOPES,
                format!(
                    "服务范围「{item}」无效，应为：{}",
                    SCOPE
                        .names
                        .iter()
                        .map(|n| n.zh)
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            ),
        }
    }
    let batch_id = if cell(BATCH).is_empty() {
        0
    } else {
        resolve_batch(cell(BATCH), batches).unwrap_or_else(|m| {
            problem(BATCH, m);
            0
        })
    };
    let phone = cell(PHONE).replace([' ', '-'], "");
    let masked_phone = is_masked(&phone);
    if !phone.is_empty() && !is_mobile(&phone) && !masked_phone {
        problem(
            PHONE,
            format!("联系电话「{}」无效：应为 11 位手机号", cell(PHONE)),
        );
    }
    let mut contacts = Vec::new();
    if !cell(CONTACT).is_empty() {
        contacts.push(pb::Person {
            name: cell(CONTACT).to_owned(),
            role: String::new(),
            phone: phone.clone(),
            email: String::new(),
        });
    } else if !phone.is_empty() {
        problem(CONTACT, "填写了联系电话时，联系人不能为空".to_owned());
    }
    let mut hash = Sha256::new();
    for c in &row.cells {
        hash.update(c.as_bytes());
        hash.update([0x1f]);
    }
    hash.update(batch_id.to_string().as_bytes());
    let digest = hex::encode(hash.finalize());
    Planned {
        row: row.number,
        request_id: format!("import-{credit_code}-{}", &digest[..16]),
        masked_phone,
        spec: pb::AgencySpec {
            credit_code,
            name: cell(NAME).to_owned(),
            r#type: agency_type,
            legal_representative: cell(LEGAL).to_owned(),
            lead_evaluators,
            contacts,
            scopes,
            admission_batch_id: batch_id,
            ..Default::default()
        },
    }
}

fn print_problems(file: &Path, problems: &[Problem]) {
    for p in problems {
        let place = match (p.row, p.column.is_empty()) {
            (0, _) => String::new(),
            (row, true) => format!("第{row}行: "),
            (row, false) => format!("第{row}行「{}」: ", p.column),
        };
        eprintln!("{}: {place}{}", file.display(), p.message);
    }
    eprintln!(
        "错误: {} 有 {} 处问题，未导入任何机构（nothing was sent）",
        file.display(),
        problems.len()
    );
}

#[derive(Clone, Copy, PartialEq)]
enum RowResult {
    Created,
    Existed,
    Failed,
}

pub async fn import(ctx: &Ctx, file: &Path) -> Outcome {
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::Message(format!("无法读取 {}: {e}", file.display())))?;
    let rows = match pbm_xlsx::read_table(&bytes, &COLUMNS) {
        Ok(rows) => rows,
        Err(errors) => {
            let problems: Vec<Problem> = errors
                .into_iter()
                .map(|e| Problem {
                    row: e.row,
                    column: e.column,
                    message: format!("{} ({})", e.message, e.reason),
                })
                .collect();
            print_problems(file, &problems);
            return Err(Failure::Reported);
        }
    };
    if rows.is_empty() {
        return fail(format!("{} 没有数据行", file.display()));
    }
    let batches = batch::list(ctx).await?;
    let mut problems = Vec::new();
    let mut planned: Vec<Planned> = Vec::with_capacity(rows.len());
    for row in &rows {
        let p = plan_row(row, &batches, &mut problems);
        if let Some(first) = planned
            .iter()
            .find(|o| !p.spec.credit_code.is_empty() && o.spec.credit_code == p.spec.credit_code)
        {
            problems.push(Problem {
                row: p.row,
                column: COLUMNS[CODE].header.to_owned(),
                message: format!(
                    "统一社会信用代码「{}」与第{}行重复",
                    p.spec.credit_code, first.row
                ),
            });
        }
        planned.push(p);
    }
    if !problems.is_empty() {
        print_problems(file, &problems);
        return Err(Failure::Reported);
    }

    let mut results = Vec::with_capacity(planned.len());
    for p in planned {
        let (result, error) = register_row(ctx, &p).await?;
        results.push((p, result, error));
    }
    let count = |r: RowResult| results.iter().filter(|(_, x, _)| *x == r).count();
    let (created, existed, failed) = (
        count(RowResult::Created),
        count(RowResult::Existed),
        count(RowResult::Failed),
    );
    if ctx.json {
        json::print(&json!({
            "rows": results.iter().map(|(p, r, e)| json!({
                "row": p.row,
                "credit_code": p.spec.credit_code,
                "name": p.spec.name,
                "result": match r {
                    RowResult::Created => "created",
                    RowResult::Existed => "already_existed",
                    RowResult::Failed => "failed",
                },
                "error": e,
            })).collect::<Vec<_>>(),
            "created": created,
            "already_existed": existed,
            "failed": failed,
        }));
    } else {
        let mut t = Table::new(&["行", "统一社会信用代码", "机构名称", "结果"]);
        for (p, r, e) in &results {
            t.row(vec![
                p.row.to_string(),
                p.spec.credit_code.clone(),
                p.spec.name.clone(),
                match r {
                    RowResult::Created => "已新增".to_owned(),
                    RowResult::Existed => "已存在".to_owned(),
                    RowResult::Failed => format!("失败: {e}"),
                },
            ]);
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

/// Registers one planned row; errors that concern every row (token, server down) abort.
async fn register_row(ctx: &Ctx, p: &Planned) -> Outcome<(RowResult, String)> {
    let fatal = |s: &tonic::Status| {
        matches!(
            s.code(),
            tonic::Code::Unauthenticated | tonic::Code::Unavailable
        )
    };
    let refused = |s: &tonic::Status| {
        let r = reason(s);
        let mut text = status_message(s);
        if !r.is_empty() && !text.contains(&r) {
            text.push_str(&format!(" ({r})"));
        }
        text
    };
    match ctx
        .api()
        .get_agency(ctx.req(pb::GetAgencyRequest {
            credit_code: p.spec.credit_code.clone(),
        }))
        .await
    {
        Ok(_) => return Ok((RowResult::Existed, String::new())),
        Err(s) if s.code() == tonic::Code::NotFound => {}
        Err(s) if fatal(&s) => return Err(s.into()),
        Err(s) => return Ok((RowResult::Failed, refused(&s))),
    }
    if p.masked_phone {
        return Ok((
            RowResult::Failed,
            "联系电话已脱敏，新增机构须填写完整手机号".to_owned(),
        ));
    }
    match ctx
        .api()
        .register_agency(ctx.req(pb::RegisterAgencyRequest {
            request_id: p.request_id.clone(),
            spec: Some(p.spec.clone()),
        }))
        .await
    {
        Ok(_) => Ok((RowResult::Created, String::new())),
        Err(s) if s.code() == tonic::Code::AlreadyExists && reason(&s) == "AGENCY_EXISTS" => {
            Ok((RowResult::Existed, String::new()))
        }
        Err(s) if fatal(&s) => Err(s.into()),
        Err(s) => {
            let mut text = refused(&s);
            if let Some(bad) = tonic_types::StatusExt::get_details_bad_request(&s) {
                for v in bad.field_violations {
                    text.push_str(&format!("；{}: {}", v.field, v.description));
                }
            }
            Ok((RowResult::Failed, text))
        }
    }
}

pub async fn export(ctx: &Ctx, file: &Path, full_phones: bool) -> Outcome {
    let filter = Filter {
        agency_type: 0,
        status: 0,
        scope: 0,
        batch: 0,
    };
    let mut agencies = agency::list_all(ctx, &filter, 500).await?;
    if full_phones {
        for a in &mut agencies {
            let code = a.spec.clone().unwrap_or_default().credit_code;
            *a = agency::get(ctx, &code).await?;
        }
    }
    let batches = batch::list(ctx).await?;
    let rows: Vec<Vec<String>> = agencies
        .iter()
        .map(|a| {
            let spec = a.spec.clone().unwrap_or_default();
            let contact = spec.contacts.first().cloned().unwrap_or_default();
            vec![
                spec.credit_code.clone(),
                spec.name.clone(),
                AGENCY_TYPE.zh(spec.r#type),
                spec.legal_representative.clone(),
                spec.lead_evaluators
                    .iter()
                    .map(agency::lead_evaluator_text)
                    .collect::<Vec<_>>()
                    .join("、"),
                spec.scopes
                    .iter()
                    .map(|s| SCOPE.zh(*s))
                    .collect::<Vec<_>>()
                    .join("、"),
                batch_cell(spec.admission_batch_id, &batches),
                contact.name,
                contact.phone,
            ]
        })
        .collect();
    let bytes = pbm_xlsx::write_table("机构库", &COLUMNS, &rows)
        .map_err(|e| Failure::Message(format!("无法生成工作簿: {e}")))?;
    std::fs::write(file, bytes)
        .map_err(|e| Failure::Message(format!("无法写入 {}: {e}", file.display())))?;
    if ctx.json {
        json::print(&json!({
            "file": file.display().to_string(),
            "agencies": rows.len(),
            "full_phones": full_phones,
        }));
    } else {
        println!("已导出 {} 家机构到 {}", rows.len(), file.display());
        if full_phones {
            eprintln!("注意: 文件含完整联系电话，请妥善保管");
        } else {
            eprintln!("注意: 联系电话已脱敏（需要完整号码时加 --full-phones）");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_are_checked_like_the_server() {
        assert_eq!(
            check_credit_code(" 91350100m000100y43 "),
            Ok("91350100M000100Y43".into())
        );
        assert!(
            check_credit_code("91350100M000100Y44")
                .unwrap_err()
                .contains("校验码错误")
        );
        assert!(check_credit_code("9135").unwrap_err().contains("长度错误"));
        assert!(
            check_credit_code("91350100M000100YI3")
                .unwrap_err()
                .contains("第17位")
        );
    }

    #[test]
    fn lead_evaluators_and_lists() {
        assert_eq!(
            split_list("赵某（注册会计师、资产评估师）、钱某、 "),
            ["赵某（注册会计师、资产评估师）", "钱某"]
        );
        let e = parse_lead("赵某（注册会计师/资产评估师）").unwrap();
        assert_eq!(e.name, "赵某");
        assert_eq!(e.qualifications, ["注册会计师", "资产评估师"]);
        assert_eq!(parse_lead("钱某").unwrap().qualifications.len(), 0);
        assert!(parse_lead("（注册会计师）").is_err());
        let text = agency::lead_evaluator_text(&e);
        assert_eq!(parse_lead(&text).unwrap(), e);
    }

    #[test]
    fn phones_and_batches() {
        assert!(is_mobile("13812345678"));
        assert!(is_masked("138****5678"));
        assert!(!is_mobile("138****5678"));
        assert!(!is_masked("1381234567"));
        let batches = vec![
            pb::AdmissionBatch {
                id: 1,
                name: "A".into(),
                ..Default::default()
            },
            pb::AdmissionBatch {
                id: 2,
                name: "B".into(),
                ..Default::default()
            },
            pb::AdmissionBatch {
                id: 3,
                name: "B".into(),
                ..Default::default()
            },
        ];
        assert_eq!(resolve_batch("A", &batches), Ok(1));
        assert_eq!(resolve_batch("3", &batches), Ok(3));
        assert!(resolve_batch("B", &batches).is_err());
        assert!(resolve_batch("9", &batches).is_err());
        assert_eq!(batch_cell(1, &batches), "A");
        assert_eq!(batch_cell(2, &batches), "2");
    }
}
