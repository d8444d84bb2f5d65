//! The monitoring rules record (`monitoring_rules`): the bands of docs/drafts/MONITORING.md §2,
//! kept per region (财政区划) and fiscal year and versioned.
//!
//! Rule: docs/DOMAIN.md "Warning bands" (every band is *(config)*, with the defaults 60/80 for
//! budget execution and 60/80/120 for `≥` indicators) and docs/DOMAIN.md "Configuration per region
//! and year" (a versioned rule set per region and year; each result records the version it used,
//! 「2026年度监控规则第1版」; national defaults until a region sets its own). Version 0 is the
//! default [`MonitoringRules::default`].
//!
//! The project's choices (**PROPOSAL**s of docs/drafts/MONITORING.md "Rules record", §2 items 7
//! and 8):
//! * The record also holds `forecast_yellow_within` (10: a forecast within 10 % of the target is
//!   yellow), `execution_forecast_below` (90: the self-evaluation's reason threshold of
//!   docs/DOMAIN.md "Numbers") and `forecast_method` (`recent_pace_3`, or `linear`).
//! * Validation: each band is a decimal in 0–1000 with at most two places
//!   (`BAND_OUT_OF_RANGE`, `BAND_TOO_PRECISE`); `forecast_yellow_within` is a percentage 0–100;
//!   red < yellow (< blue) on each axis (`BANDS_NOT_ORDERED`). Every violation is reported.
//! * The JSON keeps decimals as text (`"60"`); a JSON number or an unknown field is refused, and
//!   a missing field takes its default.

use pbm_types::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::{FieldViolation, decimal_text, plain};

/// A band outside its range.
pub const BAND_OUT_OF_RANGE: &str = "BAND_OUT_OF_RANGE";
/// A band with more than two places.
pub const BAND_TOO_PRECISE: &str = "BAND_TOO_PRECISE";
/// Bands not in the order red < yellow < blue.
pub const BANDS_NOT_ORDERED: &str = "BANDS_NOT_ORDERED";

/// How the execution forecast projects the year's end (docs/drafts/MONITORING.md §2 item 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastMethod {
    /// The pace of the last `min(3, M)` months carried to December.
    #[serde(rename = "recent_pace_3")]
    RecentPace3,
    /// The pace of the year so far: `E_M · 12 ÷ M`.
    Linear,
}

text_enum!(ForecastMethod {
    RecentPace3 => "recent_pace_3", "近3个月进度法";
    Linear => "linear", "线性外推法";
});

/// The monitoring bands of one region and fiscal year (`monitoring_rules.bands`, JSON with the
/// decimals as text). `Default` is the national default (version 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringRules {
    /// Budget progress below this is red (60).
    #[serde(with = "decimal_text")]
    pub budget_red_below: Decimal,
    /// Budget progress below this is yellow (80).
    #[serde(with = "decimal_text")]
    pub budget_yellow_below: Decimal,
    /// `≥` progress below this is red (60).
    #[serde(with = "decimal_text")]
    pub ge_red_below: Decimal,
    /// `≥` progress below this is yellow (80).
    #[serde(with = "decimal_text")]
    pub ge_yellow_below: Decimal,
    /// `≥` progress from this on is blue (120).
    #[serde(with = "decimal_text")]
    pub ge_blue_from: Decimal,
    /// A forecast within this percentage of the target is yellow, beyond it red (10).
    #[serde(with = "decimal_text")]
    pub forecast_yellow_within: Decimal,
    /// A projected execution rate below this is red (90).
    #[serde(with = "decimal_text")]
    pub execution_forecast_below: Decimal,
    /// How the year's execution is projected.
    pub forecast_method: ForecastMethod,
}

impl Default for MonitoringRules {
    fn default() -> Self {
        Self {
            budget_red_below: Decimal::from(60),
            budget_yellow_below: Decimal::from(80),
            ge_red_below: Decimal::from(60),
            ge_yellow_below: Decimal::from(80),
            ge_blue_from: Decimal::from(120),
            forecast_yellow_within: Decimal::from(10),
            execution_forecast_below: Decimal::from(90),
            forecast_method: ForecastMethod::RecentPace3,
        }
    }
}

/// The label results record (`2026年度监控规则第1版`); version 0 is the national default.
pub fn rules_label(fiscal_year: i32, version: u32) -> String {
    if version == 0 {
        format!("{fiscal_year}年度监控规则（全国默认）")
    } else {
        format!("{fiscal_year}年度监控规则第{version}版")
    }
}

impl MonitoringRules {
    fn bands(&self) -> [(&'static str, &'static str, Decimal, u32); 7] {
        [
            (
                "budget_red_below",
                "预算执行红色预警线",
                self.budget_red_below,
                1000,
            ),
            (
                "budget_yellow_below",
                "预算执行黄色预警线",
                self.budget_yellow_below,
                1000,
            ),
            (
                "ge_red_below",
                "正向指标红色预警线",
                self.ge_red_below,
                1000,
            ),
            (
                "ge_yellow_below",
                "正向指标黄色预警线",
                self.ge_yellow_below,
                1000,
            ),
            (
                "ge_blue_from",
                "正向指标蓝色预警线",
                self.ge_blue_from,
                1000,
            ),
            (
                "forecast_yellow_within",
                "全年预测黄色容差（%）",
                self.forecast_yellow_within,
                100,
            ),
            (
                "execution_forecast_below",
                "执行预测预警线（%）",
                self.execution_forecast_below,
                1000,
            ),
        ]
    }

    /// Checks the bands; every violation at once (see the module doc).
    pub fn validate(&self) -> Result<(), Vec<FieldViolation>> {
        let mut v = Vec::new();
        for (field, label, value, max) in self.bands() {
            if value.is_sign_negative() || value > Decimal::from(max) {
                v.push(FieldViolation::new(
                    field,
                    BAND_OUT_OF_RANGE,
                    format!("「{label}」{} 无效：应在 0–{max} 之间", plain(value)),
                ));
            } else if value.normalize().scale() > 2 {
                v.push(FieldViolation::new(
                    field,
                    BAND_TOO_PRECISE,
                    format!("「{label}」{} 最多保留2位小数", plain(value)),
                ));
            }
        }
        let mut order = |field: &str, low: Decimal, high: Decimal, what: &str| {
            if low >= high {
                v.push(FieldViolation::new(
                    field,
                    BANDS_NOT_ORDERED,
                    format!(
                        "{what}预警线应依次递增（红色 < 黄色 < 蓝色）：{} 不大于 {}",
                        plain(high),
                        plain(low)
                    ),
                ));
            }
        };
        order(
            "budget_yellow_below",
            self.budget_red_below,
            self.budget_yellow_below,
            "预算执行",
        );
        order(
            "ge_yellow_below",
            self.ge_red_below,
            self.ge_yellow_below,
            "正向指标",
        );
        order(
            "ge_blue_from",
            self.ge_yellow_below,
            self.ge_blue_from,
            "正向指标",
        );
        if v.is_empty() { Ok(()) } else { Err(v) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn rules() -> MonitoringRules {
        MonitoringRules::default()
    }

    #[test]
    fn rules_json_keeps_decimals_as_text() {
        let r = rules();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["budget_red_below"], "60");
        assert_eq!(json["forecast_method"], "recent_pace_3");
        assert_eq!(serde_json::from_value::<MonitoringRules>(json).unwrap(), r);
        // Missing fields take the defaults; numbers and unknown fields are refused.
        let partial: MonitoringRules =
            serde_json::from_str(r#"{"budget_red_below": "50.5"}"#).unwrap();
        assert_eq!(partial.budget_red_below, dec!(50.5));
        assert_eq!(partial.ge_blue_from, dec!(120));
        assert!(serde_json::from_str::<MonitoringRules>(r#"{"budget_red_below": 50}"#).is_err());
        assert!(serde_json::from_str::<MonitoringRules>(r#"{"red": "50"}"#).is_err());
        assert_eq!(rules_label(2026, 1), "2026年度监控规则第1版");
        assert_eq!(rules_label(2026, 0), "2026年度监控规则（全国默认）");
    }

    #[test]
    fn rules_validation_reports_every_violation() {
        assert_eq!(rules().validate(), Ok(()));
        let bad = MonitoringRules {
            budget_red_below: dec!(80),
            budget_yellow_below: dec!(80),
            ge_blue_from: dec!(70),
            forecast_yellow_within: dec!(120),
            execution_forecast_below: dec!(-1),
            ge_red_below: dec!(10.005),
            ..rules()
        };
        let v = bad.validate().unwrap_err();
        let got: Vec<_> = v.iter().map(|v| (v.field.as_str(), v.reason)).collect();
        assert_eq!(
            got,
            [
                ("ge_red_below", BAND_TOO_PRECISE),
                ("forecast_yellow_within", BAND_OUT_OF_RANGE),
                ("execution_forecast_below", BAND_OUT_OF_RANGE),
                ("budget_yellow_below", BANDS_NOT_ORDERED),
                ("ge_blue_from", BANDS_NOT_ORDERED),
            ]
        );
        assert!(
            v[3].message.contains("红色 < 黄色 < 蓝色"),
            "{}",
            v[3].message
        );
    }
}
