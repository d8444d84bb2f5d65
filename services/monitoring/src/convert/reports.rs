//! `pbm.monitoring.v1.ReportService` on the wire: the text maxima of its requests
//! (docs/drafts/MONITORING.md §3 "Limits"), report statuses, the values a unit types (numbers,
//! full-width digits included, or a 定性 tier), likelihoods and causes as stored, and stored
//! reports back as messages.

use pbm_proto::monitoring::v1 as proto;
use pbm_server::wire::{decimal, stamp};
use pbm_types::{Decimal, FieldViolation};
use pbm_xlsx::{Column, col};

use super::deviations::{causes_to, likelihood_to};
use super::limits::{Bounded, CODE, LONG, Monitoring, SHORT, Texts, each_nested};
use crate::domain::bands::{Direction, Likelihood, QualitativeTier};
use crate::domain::completeness::Cause;
use crate::store::{ReportIndicatorRow, ReportRow};

impl Bounded<Monitoring> for proto::IndicatorReport {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "achieved", "实际完成值", &self.achieved, SHORT);
        t.text(at, "forecast", "全年预计完成值", &self.forecast, SHORT);
        t.text(at, "other_text", "其他原因说明", &self.other_text, SHORT);
        t.text(at, "remark", "备注", &self.remark, SHORT);
    }
}

impl Bounded<Monitoring> for proto::SaveReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
        each_nested(t, at, "indicators", &self.indicators);
        t.text(
            at,
            "execution_narrative",
            "预算执行情况说明",
            &self.execution_narrative,
            LONG,
        );
        t.number(
            at,
            "expected_year_end_execution",
            "预计年底执行数",
            self.expected_year_end_execution.as_ref(),
        );
    }
}

impl Bounded<Monitoring> for proto::CheckReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "comments", "审核意见", &self.comments, LONG);
    }
}

impl Bounded<Monitoring> for proto::ReturnReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "comments", "退回意见", &self.comments, LONG);
        t.text(
            at,
            "resubmit_by",
            "重新报送截止日期",
            &self.resubmit_by,
            CODE,
        );
    }
}

impl Bounded<Monitoring> for proto::GetReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

impl Bounded<Monitoring> for proto::ListReportsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "department_code",
            "主管部门编码",
            &self.department_code,
            CODE,
        );
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
    }
}

impl Bounded<Monitoring> for proto::ExportMonitoringTableRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "department_code",
            "主管部门编码",
            &self.department_code,
            CODE,
        );
    }
}

/// The stricter rule on narratives and comments (docs/drafts/MONITORING.md §3 "Limits": at most
/// 2,000 characters), beside the contract's 4,000.
pub const NARRATIVE_MAX: usize = 2000;

/// A report status word as stored (`draft` …) on the wire.
pub fn status_to(word: &str) -> proto::ReportStatus {
    match word {
        "draft" => proto::ReportStatus::Draft,
        "submitted" => proto::ReportStatus::Submitted,
        "checked" => proto::ReportStatus::Checked,
        "accepted" => proto::ReportStatus::Accepted,
        "returned" => proto::ReportStatus::Returned,
        _ => proto::ReportStatus::Unspecified,
    }
}

/// The stored word of a wire status (`None` for unspecified or unknown values).
pub fn status_word(status: i32) -> Option<&'static str> {
    match proto::ReportStatus::try_from(status).ok()? {
        proto::ReportStatus::Draft => Some("draft"),
        proto::ReportStatus::Submitted => Some("submitted"),
        proto::ReportStatus::Checked => Some("checked"),
        proto::ReportStatus::Accepted => Some("accepted"),
        proto::ReportStatus::Returned => Some("returned"),
        proto::ReportStatus::Unspecified => None,
    }
}

/// A wire cause (`None` for unspecified or unknown values).
pub fn cause_from(cause: i32) -> Option<Cause> {
    match proto::Cause::try_from(cause).ok()? {
        proto::Cause::Funding => Some(Cause::Funding),
        proto::Cause::System => Some(Cause::System),
        proto::Cause::Staff => Some(Cause::Staff),
        proto::Cause::Hardware => Some(Cause::Hardware),
        proto::Cause::Other => Some(Cause::Other),
        proto::Cause::Unspecified => None,
    }
}

/// A wire likelihood: `Ok(None)` when not given, an error for an unknown value.
pub fn likelihood_from(value: i32) -> Result<Option<Likelihood>, ()> {
    match proto::Likelihood::try_from(value).map_err(|_| ())? {
        proto::Likelihood::Unspecified => Ok(None),
        proto::Likelihood::Certain => Ok(Some(Likelihood::Certain)),
        proto::Likelihood::Possible => Ok(Some(Likelihood::Possible)),
        proto::Likelihood::Impossible => Ok(Some(Likelihood::Impossible)),
    }
}

/// Maps full-width digits, point and signs (typed in a Chinese IME or pasted from Word) to
/// ASCII; other characters are kept.
fn half_width(c: char) -> char {
    match c {
        '０'..='９' => {
            char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
        }
        '．' => '.',
        '－' | '−' => '-',
        '＋' => '+',
        other => other,
    }
}

/// A number as a unit types it: plain digits with an optional sign and point (full-width
/// accepted), at most four places (`pbm_types::decimal::parse`).
pub fn parse_number(text: &str) -> Result<Decimal, pbm_types::ParseError> {
    let text: String = text.trim().chars().map(half_width).collect();
    pbm_types::decimal::parse(&text)
}

/// A reported value (achieved or forecast) in its stored form: "" when empty, a number's
/// canonical text for `≥ ≤ =`, a tier's Chinese for 定性. `field` and `label` name it in the
/// violation of a value that does not fit the indicator.
pub fn stored_value(
    direction: Direction,
    text: &str,
    field: &str,
    label: &str,
) -> Result<String, FieldViolation> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(String::new());
    }
    if direction == Direction::Qualitative {
        return QualitativeTier::parse(text)
            .map(|t| t.chinese().to_owned())
            .ok_or_else(|| {
                FieldViolation::new(
                    field,
                    "TIER_INVALID",
                    format!(
                        "定性指标的{label}应为「达成」「部分达成并具有一定效果」「未达成且效果较差」之一，而不是「{text}」"
                    ),
                )
            });
    }
    parse_number(text)
        .map(pbm_types::decimal::to_wire)
        .map_err(|e| {
            FieldViolation::new(
                field,
                "VALUE_INVALID",
                format!("{label}应填写数值：{}", e.message),
            )
        })
}

/// A stored indicator row on the wire.
pub fn indicator_to(row: &ReportIndicatorRow) -> proto::IndicatorReport {
    proto::IndicatorReport {
        seq: row.seq,
        achieved: row.achieved.clone(),
        forecast: row.forecast.clone(),
        likelihood: likelihood_to(&row.likelihood) as i32,
        causes: causes_to(&row.causes),
        other_text: row.other_text.clone(),
        remark: row.remark.clone(),
    }
}

/// A stored report on the wire, with its indicators, its warnings, and its deadline status and
/// late mark as of today.
pub fn report_to(
    row: &ReportRow,
    indicators: &[ReportIndicatorRow],
    warnings: Vec<proto::Warning>,
    deadline_status: proto::DeadlineStatus,
    late: bool,
) -> proto::Report {
    proto::Report {
        id: row.id,
        round_id: row.round_id,
        subject_key: row.subject_key.clone(),
        agency_code: row.agency_code.clone(),
        department_code: row.department_code.clone(),
        status: status_to(&row.status) as i32,
        indicators: indicators.iter().map(indicator_to).collect(),
        execution_narrative: row.execution_narrative.clone(),
        expected_year_end_execution: row.expected_year_end.and_then(|m| decimal(m.0)),
        revision: row.revision,
        submitted_on: row
            .submitted_on
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        late,
        deadline_status: deadline_status as i32,
        warnings,
        changed: Some(stamp(&row.changed_by, row.changed_at)),
    }
}

/// The national monitoring table (项目支出绩效目标执行监控表), one row per indicator: the
/// 一体化 element name first (docs/DOMAIN.md "Interoperability"; the names goal's export uses,
/// and PBM's additions in the same style), then the Chinese. `PRO_CODE` carries the round
/// subject's key: the PRO_CODE, or `D:<department>` for a 部门整体 goal. An import reads
/// `PRO_CODE`, `KPI_SEQ` (or, without it, `KPI_LV3` by name) and the columns from `KPI_ACTUAL`
/// to `EXEC_YEAR_END`; the other columns are the export's context and are ignored.
pub const COLUMNS: [Column; 25] = [
    col("MOF_DIV_CODE 财政区划", false, 12.0),
    col("FISCAL_YEAR 预算年度", false, 10.0),
    col("DEPT_CODE 主管部门", false, 14.0),
    col("AGENCY_CODE 单位代码", false, 14.0),
    col("PRO_CODE 项目编码", true, 18.0),
    col("PRO_NAME 项目名称", false, 30.0),
    col("KPI_TARGET 年度绩效目标", false, 40.0),
    col("KPI_LV1 一级指标", false, 12.0),
    col("KPI_LV2 二级指标", false, 16.0),
    col("KPI_SEQ 指标序号", false, 8.0),
    col("KPI_LV3 三级指标", false, 28.0),
    col("KPI_DIRECTION 指标方向", false, 10.0),
    col("KPI_VAL 指标值", false, 12.0),
    col("KPI_UNIT 计量单位", false, 10.0),
    col("KPI_ACTUAL 实际完成值", false, 14.0),
    col("KPI_FORECAST 全年预计完成值", false, 14.0),
    col("KPI_POSSIBILITY 完成目标可能性", false, 14.0),
    col("DEV_CAUSE 偏差原因", false, 24.0),
    col("DEV_CAUSE_DESC 其他原因说明", false, 30.0),
    col("KPI_REMARK 备注", false, 24.0),
    col("EXEC_DESC 预算执行情况说明", false, 40.0),
    col("EXEC_YEAR_END 预计年底执行数", false, 16.0),
    col("KPI_WARNING 指标预警", false, 10.0),
    col("BUDGET_WARNING 预算执行预警", false, 10.0),
    col("REPORT_STATUS 报告状态", false, 12.0),
];

/// Positions in [`COLUMNS`] of what an import reads.
pub mod at {
    pub const PRO_CODE: usize = 4;
    pub const SEQ: usize = 9;
    pub const NAME: usize = 10;
    pub const ACHIEVED: usize = 14;
    pub const FORECAST: usize = 15;
    pub const LIKELIHOOD: usize = 16;
    pub const CAUSES: usize = 17;
    pub const OTHER_TEXT: usize = 18;
    pub const REMARK: usize = 19;
    pub const NARRATIVE: usize = 20;
    pub const YEAR_END: usize = 21;
}

/// The column of a request's field (`achieved`, `execution_narrative` …) in [`COLUMNS`].
pub fn column_of(field: &str) -> usize {
    match field {
        "seq" => at::SEQ,
        "achieved" => at::ACHIEVED,
        "forecast" => at::FORECAST,
        "likelihood" => at::LIKELIHOOD,
        "causes" => at::CAUSES,
        "other_text" => at::OTHER_TEXT,
        "remark" => at::REMARK,
        "execution_narrative" => at::NARRATIVE,
        "expected_year_end_execution" => at::YEAR_END,
        _ => at::PRO_CODE,
    }
}

/// The causes typed in a cell (`经费保障、其他`; separated by 、 , ， ; or ；), or the first
/// text that is not a cause.
pub fn causes_from_text(text: &str) -> Result<Vec<Cause>, String> {
    text.split(['、', ',', '，', ';', '；'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            Cause::from_chinese(t)
                .or_else(|| Cause::from_db(t))
                .ok_or_else(|| t.to_owned())
        })
        .collect()
}

/// A wire cause of a domain cause.
pub fn cause_to(cause: Cause) -> proto::Cause {
    match cause {
        Cause::Funding => proto::Cause::Funding,
        Cause::System => proto::Cause::System,
        Cause::Staff => proto::Cause::Staff,
        Cause::Hardware => proto::Cause::Hardware,
        Cause::Other => proto::Cause::Other,
    }
}

/// A date typed as `YYYY-MM-DD` (surrounding whitespace ignored).
pub fn parse_date(text: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_stored_in_one_form() {
        let f = |d, t: &str| stored_value(d, t, "indicators[0].achieved", "实际完成值");
        assert_eq!(f(Direction::Ge, " 12 ").unwrap(), "12");
        assert_eq!(f(Direction::Ge, "１２．５０").unwrap(), "12.5");
        assert_eq!(f(Direction::Le, "－3").unwrap(), "-3");
        assert_eq!(f(Direction::Eq, "").unwrap(), "");
        assert_eq!(f(Direction::Qualitative, "达成").unwrap(), "达成");
        assert_eq!(
            f(Direction::Qualitative, "partial").unwrap(),
            "部分达成并具有一定效果"
        );
        for bad in ["12处", "1,000", "1e3", "≥12", "12.34567"] {
            let v = f(Direction::Ge, bad).unwrap_err();
            assert_eq!(
                (v.field.as_str(), v.reason),
                ("indicators[0].achieved", "VALUE_INVALID")
            );
        }
        assert_eq!(
            f(Direction::Qualitative, "12").unwrap_err().reason,
            "TIER_INVALID"
        );
        assert_eq!(
            f(Direction::Ge, "达成").unwrap_err().reason,
            "VALUE_INVALID"
        );
    }

    #[test]
    fn causes_and_statuses_read_back() {
        for cause in Cause::ALL {
            let wire = causes_to(cause.as_db());
            assert_eq!(cause_from(wire[0]), Some(*cause));
        }
        assert_eq!(cause_from(0), None);
        assert_eq!(
            causes_from_text("经费保障、其他, staff；"),
            Ok(vec![Cause::Funding, Cause::Other, Cause::Staff])
        );
        assert_eq!(causes_from_text(""), Ok(vec![]));
        assert_eq!(causes_from_text("经费保障、天气"), Err("天气".into()));
        for c in Cause::ALL {
            assert_eq!(cause_from(cause_to(*c) as i32), Some(*c));
        }
        assert_eq!(cause_from(99), None);
        for s in ["draft", "submitted", "checked", "accepted", "returned"] {
            assert_eq!(status_word(status_to(s) as i32), Some(s));
        }
        assert_eq!(status_word(0), None);
        assert_eq!(likelihood_from(0), Ok(None));
        assert_eq!(likelihood_from(2), Ok(Some(Likelihood::Possible)));
        assert!(likelihood_from(9).is_err());
        assert_eq!(
            parse_date("2026-07-20"),
            chrono::NaiveDate::from_ymd_opt(2026, 7, 20)
        );
        assert_eq!(parse_date("2026-7-20x"), None);
    }
}
