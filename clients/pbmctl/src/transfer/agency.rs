//! `pbmctl agency import|export FILE.xlsx`: agencies as a workbook with Chinese headers (the
//! shared workbook handling, checks and summary are in `transfer.rs`).
//!
//! Import checks every row locally first (credit code check digit, type, scopes, batch, phone)
//! and sends nothing if any cell is wrong; then registers row by row with a request id derived
//! from the row (`import-<credit code>-<hash>`), so running the same import again is safe: rows
//! whose agency exists are reported as such.

use std::path::Path;

use pbm_proto::agency::v1 as pb;
use pbm_xlsx::{Column, Row};
use serde_json::json;

use super::{Problem, Reported, Sheet, Summary, col, digest, is_masked, is_mobile, items};
use crate::agency::{self, Filter};
use crate::batch;
use crate::client::{Ctx, Outcome};
use crate::names::{AGENCY_TYPE, SCOPE};

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

const SHEET: Sheet = Sheet {
    name: "机构库",
    noun: "机构",
    counter: "家",
    key: "agencies",
    columns: &COLUMNS,
};

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

struct Planned {
    row: u32,
    spec: pb::AgencySpec,
    masked_phone: bool,
    request_id: String,
}

fn plan_row(row: &Row, batches: &[pb::AdmissionBatch], problems: &mut Vec<Problem>) -> Planned {
    let mut c = SHEET.cells(row, problems);
    let credit_code = match check_credit_code(c.get(CODE)) {
        Ok(code) => code,
        Err(m) => {
            if !c.get(CODE).is_empty() {
                c.problem(CODE, m);
            }
            c.get(CODE).to_owned()
        }
    };
    let agency_type = c.name(TYPE, "机构类型", &AGENCY_TYPE);
    let mut lead_evaluators = Vec::new();
    for item in split_list(c.get(LEADS)) {
        match parse_lead(&item) {
            Ok(e) => lead_evaluators.push(e),
            Err(m) => c.problem(LEADS, m),
        }
    }
    let mut scopes = Vec::new();
    for item in items(c.get(SCOPES)) {
        match c.item_name(SCOPES, item, "服务范围", &SCOPE) {
            0 => {}
            s if scopes.contains(&s) => c.problem(SCOPES, format!("服务范围「{item}」重复")),
            s => scopes.push(s),
        }
    }
    let batch_id = if c.get(BATCH).is_empty() {
        0
    } else {
        resolve_batch(c.get(BATCH), batches).unwrap_or_else(|m| {
            c.problem(BATCH, m);
            0
        })
    };
    let phone = c.get(PHONE).replace([' ', '-'], "");
    let masked_phone = is_masked(&phone, 11);
    if !phone.is_empty() && !is_mobile(&phone) && !masked_phone {
        c.problem(
            PHONE,
            format!("联系电话「{}」无效：应为 11 位手机号", c.get(PHONE)),
        );
    }
    let mut contacts = Vec::new();
    if !c.get(CONTACT).is_empty() {
        contacts.push(pb::Person {
            name: c.get(CONTACT).to_owned(),
            role: String::new(),
            phone: phone.clone(),
            email: String::new(),
        });
    } else if !phone.is_empty() {
        c.problem(CONTACT, "填写了联系电话时，联系人不能为空");
    }
    let batch = batch_id.to_string();
    let digest = digest(row.cells.iter().map(String::as_str).chain([batch.as_str()]));
    Planned {
        row: row.number,
        request_id: format!("import-{credit_code}-{}", &digest[..16]),
        masked_phone,
        spec: pb::AgencySpec {
            credit_code,
            name: c.get(NAME).to_owned(),
            r#type: agency_type,
            legal_representative: c.get(LEGAL).to_owned(),
            lead_evaluators,
            contacts,
            scopes,
            admission_batch_id: batch_id,
            ..Default::default()
        },
    }
}

pub async fn import(ctx: &Ctx, file: &Path) -> Outcome {
    let rows = SHEET.read(file)?;
    let batches = batch::list(ctx).await?;
    let planned = SHEET
        .plan(
            &rows,
            |row, problems| plan_row(row, &batches, problems),
            CODE,
            |p: &Planned| &p.spec.credit_code,
            |code, first| format!("统一社会信用代码「{code}」与第{first}行重复"),
        )
        .map_err(|problems| SHEET.reject(file, &problems))?;

    let mut summary = Summary::new(&[("credit_code", "统一社会信用代码"), ("name", "机构名称")]);
    for p in planned {
        let reported = register_row(ctx, &p).await?;
        summary.push(
            p.row,
            vec![json!(p.spec.credit_code), json!(p.spec.name)],
            reported,
        );
    }
    summary.finish(ctx)
}

/// Registers one planned row; errors that concern every row (token, server down) abort.
async fn register_row(ctx: &Ctx, p: &Planned) -> Outcome<Reported> {
    match ctx
        .api()
        .get_agency(ctx.req(pb::GetAgencyRequest {
            credit_code: p.spec.credit_code.clone(),
        }))
        .await
    {
        Ok(_) => return Ok(Reported::existed("")),
        Err(s) if s.code() == tonic::Code::NotFound => {}
        Err(s) => return Reported::refused(s, ""),
    }
    if p.masked_phone {
        return Ok(Reported::failed("联系电话已脱敏，新增机构须填写完整手机号"));
    }
    match ctx
        .api()
        .register_agency(ctx.req(pb::RegisterAgencyRequest {
            request_id: p.request_id.clone(),
            spec: Some(p.spec.clone()),
        }))
        .await
    {
        Ok(_) => Ok(Reported::created()),
        Err(s) => Reported::refused(s, "AGENCY_EXISTS"),
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
    let note = if full_phones {
        "注意: 文件含完整联系电话，请妥善保管"
    } else {
        "注意: 联系电话已脱敏（需要完整号码时加 --full-phones）"
    };
    SHEET.export(
        ctx,
        file,
        &rows,
        &[("full_phones", json!(full_phones))],
        note,
    )
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
    fn batches_by_name_or_id() {
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
