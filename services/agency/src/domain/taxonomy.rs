//! Expert fields (专家领域) as configuration (docs/DOMAIN.md "Experts": fields from a configurable
//! taxonomy of 20+ fields). Experts are tagged and drawn by the stable ASCII code; the Chinese
//! name is for people and Excel.

use std::collections::HashSet;

use pbm_types::FieldViolation;
use serde::{Deserialize, Serialize};

/// One expert field: a stable code (`A–Z`, `0–9`, `_`, starting with a letter, ≤ 16 chars)
/// and its Chinese name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub code: String,
    pub name: String,
}

/// The fields an expert may be tagged with, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldTaxonomy {
    pub fields: Vec<Field>,
}

/// National default fields, covering the sectors budget performance evaluations touch.
const DEFAULT_FIELDS: &[(&str, &str)] = &[
    ("LAW", "法律"),
    ("ECON", "经济"),
    ("ACCT", "财务会计"),
    ("AUDIT", "审计"),
    ("IT", "信息技术"),
    ("CONSTR", "建筑工程"),
    ("TRANSPORT", "交通运输"),
    ("WATER", "水利"),
    ("AGRI", "农业农村"),
    ("EDU", "教育"),
    ("HEALTH", "卫生健康"),
    ("SOCSEC", "社会保障"),
    ("ENV", "生态环境"),
    ("CULTOUR", "文化旅游"),
    ("SCITECH", "科技"),
    ("INDUSTRY", "工业和信息化"),
    ("URBAN", "城乡建设"),
    ("EMERGENCY", "应急管理"),
    ("PROCURE", "政府采购"),
    ("PUBADMIN", "公共管理"),
    ("FINANCE", "金融"),
    ("STATS", "统计"),
    ("ASSET", "资产评估"),
    ("NATRES", "自然资源"),
    ("ENERGY", "能源"),
    ("COMMERCE", "商务"),
    ("CIVIL", "民政"),
    ("SPORTS", "体育"),
];

impl Default for FieldTaxonomy {
    fn default() -> Self {
        Self {
            fields: DEFAULT_FIELDS
                .iter()
                .map(|(code, name)| Field {
                    code: (*code).into(),
                    name: (*name).into(),
                })
                .collect(),
        }
    }
}

fn code_ok(code: &str) -> bool {
    let b = code.as_bytes();
    (1..=16).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

impl FieldTaxonomy {
    pub fn get(&self, code: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.code == code)
    }

    /// Chinese name of a field code.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.get(code).map(|f| f.name.as_str())
    }

    /// Code of a field given its Chinese name (Excel import), ignoring surrounding spaces.
    pub fn code_for_name(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.code.as_str())
    }

    /// Ok when every code is in the taxonomy; otherwise the unknown codes, each once, in the
    /// order given. Codes are compared exactly (see [`FieldTaxonomy::normalize`]).
    pub fn validate<S: AsRef<str>>(&self, codes: &[S]) -> Result<(), Vec<String>> {
        let mut unknown: Vec<String> = Vec::new();
        for code in codes.iter().map(AsRef::as_ref) {
            if self.get(code).is_none() && !unknown.iter().any(|u| u == code) {
                unknown.push(code.to_owned());
            }
        }
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(unknown)
        }
    }

    /// Trims and upper-cases codes, drops empty ones and duplicates, keeps the order given.
    pub fn normalize<S: AsRef<str>>(codes: &[S]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for code in codes {
            let code = code.as_ref().trim().to_ascii_uppercase();
            if !code.is_empty() && !out.contains(&code) {
                out.push(code);
            }
        }
        out
    }

    /// Self-check of a configured taxonomy: at least one field, well-formed unique codes,
    /// non-empty unique names (field paths under the taxonomy, Chinese messages).
    pub fn violations(&self) -> Vec<FieldViolation> {
        let mut v = Vec::new();
        if self.fields.is_empty() {
            v.push(FieldViolation::generic("fields", "专家领域不能为空"));
        }
        let (mut codes, mut names) = (HashSet::new(), HashSet::new());
        for (i, f) in self.fields.iter().enumerate() {
            if !code_ok(&f.code) {
                v.push(FieldViolation::generic(
                    format!("fields[{i}].code"),
                    format!(
                        "领域编码「{}」无效：应为1–16位大写字母、数字或下划线，以字母开头",
                        f.code
                    ),
                ));
            } else if !codes.insert(f.code.as_str()) {
                v.push(FieldViolation::generic(
                    format!("fields[{i}].code"),
                    format!("领域编码「{}」重复", f.code),
                ));
            }
            let name = f.name.trim();
            if name.is_empty() {
                v.push(FieldViolation::generic(
                    format!("fields[{i}].name"),
                    "领域名称不能为空",
                ));
            } else if !names.insert(name) {
                v.push(FieldViolation::generic(
                    format!("fields[{i}].name"),
                    format!("领域名称「{name}」重复"),
                ));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_taxonomy_is_large_and_well_formed() {
        let t = FieldTaxonomy::default();
        assert!(t.fields.len() >= 22, "{}", t.fields.len());
        assert!(t.violations().is_empty(), "{:?}", t.violations());
        for name in [
            "法律",
            "经济",
            "财务会计",
            "审计",
            "信息技术",
            "建筑工程",
            "交通运输",
            "水利",
            "农业农村",
            "教育",
            "卫生健康",
            "社会保障",
            "生态环境",
            "文化旅游",
            "科技",
            "工业和信息化",
            "城乡建设",
            "应急管理",
            "政府采购",
            "公共管理",
            "金融",
            "统计",
        ] {
            assert!(t.code_for_name(name).is_some(), "{name}");
        }
        assert_eq!(t.name("LAW"), Some("法律"));
        assert_eq!(t.code_for_name(" 审计 "), Some("AUDIT"));
    }

    #[test]
    fn validate_lists_unknown_codes_once_in_order() {
        let t = FieldTaxonomy::default();
        assert_eq!(t.validate(&["LAW", "IT"]), Ok(()));
        assert_eq!(t.validate::<String>(&[]), Ok(()));
        assert_eq!(
            t.validate(&["LAW", "MAGIC", "law", "MAGIC"]),
            Err(vec!["MAGIC".to_string(), "law".to_string()])
        );
    }

    #[test]
    fn normalize_trims_uppercases_and_dedups() {
        assert_eq!(
            FieldTaxonomy::normalize(&[" law", "LAW", "", "it "]),
            vec!["LAW", "IT"]
        );
    }

    #[test]
    fn self_check_catches_bad_configuration() {
        let t = FieldTaxonomy {
            fields: vec![
                Field {
                    code: "LAW".into(),
                    name: "法律".into(),
                },
                Field {
                    code: "LAW".into(),
                    name: "法学".into(),
                },
                Field {
                    code: "1X".into(),
                    name: "法律".into(),
                },
                Field {
                    code: "OK".into(),
                    name: " ".into(),
                },
            ],
        };
        let fields: Vec<String> = t.violations().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            vec![
                "fields[1].code",
                "fields[2].code",
                "fields[2].name",
                "fields[3].name"
            ]
        );
        assert_eq!(FieldTaxonomy { fields: vec![] }.violations().len(), 1);
    }

    #[test]
    fn round_trips_through_json() {
        let t = FieldTaxonomy::default();
        let json = serde_json::to_string(&t).unwrap();
        assert!(
            json.starts_with(r#"{"fields":[{"code":"LAW","name":"法律"}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<FieldTaxonomy>(&json).unwrap(), t);
    }
}
