//! 指标框架: the fixed first and second levels, versioned by fiscal year (docs/DOMAIN.md
//! "Frames"). The frame is data, so the national default (财预〔2015〕88号) and the newer guide
//! with 成本指标 as a first level (财预〔2021〕101号) coexist in different years.

use std::collections::HashSet;

use pbm_types::{FieldViolation, FiscalYear};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameNode {
    pub code: String,
    pub name: String,
    /// 1 or 2.
    pub level: i32,
    /// Empty for level 1.
    pub parent_code: String,
    pub sort_order: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fiscal_year: FiscalYear,
    pub name: String,
    pub nodes: Vec<FrameNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// 产出 / 效益 / 满意度 (national default).
    NationalDefault,
    /// The newer national guide: 成本指标 (经济/社会/生态环境成本) as a first level.
    CostFirstLevel,
}

fn node(code: &str, name: &str, parent: &str, sort_order: i32) -> FrameNode {
    FrameNode {
        code: code.into(),
        name: name.into(),
        level: if parent.is_empty() { 1 } else { 2 },
        parent_code: parent.into(),
        sort_order,
    }
}

impl Template {
    pub fn default_name(self) -> &'static str {
        match self {
            Template::NationalDefault => "全国通用指标框架",
            Template::CostFirstLevel => "全国通用指标框架（成本指标为一级指标）",
        }
    }

    /// The nodes of the template (docs/DOMAIN.md "Frames", its table).
    pub fn nodes(self) -> Vec<FrameNode> {
        let mut nodes = vec![
            node("1", "产出指标", "", 1),
            node("101", "数量指标", "1", 1),
            node("102", "质量指标", "1", 2),
            node("103", "时效指标", "1", 3),
        ];
        if self == Template::NationalDefault {
            nodes.push(node("104", "成本指标", "1", 4));
        }
        nodes.extend([
            node("2", "效益指标", "", 2),
            node("201", "经济效益指标", "2", 1),
            node("202", "社会效益指标", "2", 2),
            node("203", "生态效益指标", "2", 3),
            node("204", "可持续影响指标", "2", 4),
            node("3", "满意度指标", "", 3),
            node("301", "服务对象满意度指标", "3", 1),
        ]);
        if self == Template::CostFirstLevel {
            nodes.extend([
                node("4", "成本指标", "", 0),
                node("401", "经济成本指标", "4", 1),
                node("402", "社会成本指标", "4", 2),
                node("403", "生态环境成本指标", "4", 3),
            ]);
        }
        nodes
    }
}

impl Frame {
    /// Checks the shape of a frame: unique codes, level-1 nodes without parent, every level-2
    /// node under an existing level-1 node, at least one level-2 node. Returns violations.
    pub fn violations(&self) -> Vec<FieldViolation> {
        let mut violations = Vec::new();
        if self.name.trim().is_empty() {
            violations.push(FieldViolation::generic("name", "框架名称不能为空"));
        }
        let mut codes = HashSet::new();
        let level1: HashSet<&str> = self
            .nodes
            .iter()
            .filter(|n| n.level == 1)
            .map(|n| n.code.as_str())
            .collect();
        for (i, n) in self.nodes.iter().enumerate() {
            let field = |f: &str| format!("nodes[{i}].{f}");
            if n.code.trim().is_empty() || n.code.len() > 16 {
                violations.push(FieldViolation::generic(
                    field("code"),
                    "节点编码不能为空且不超过16个字符",
                ));
            }
            if !codes.insert(n.code.as_str()) {
                violations.push(FieldViolation::generic(
                    field("code"),
                    format!("节点编码「{}」重复", n.code),
                ));
            }
            if n.name.trim().is_empty() {
                violations.push(FieldViolation::generic(field("name"), "节点名称不能为空"));
            }
            match n.level {
                1 if !n.parent_code.is_empty() => {
                    violations.push(FieldViolation::generic(
                        field("parent_code"),
                        "一级指标不能有上级",
                    ));
                }
                2 if !level1.contains(n.parent_code.as_str()) => {
                    violations.push(FieldViolation::generic(
                        field("parent_code"),
                        format!("上级一级指标「{}」不存在", n.parent_code),
                    ));
                }
                1 | 2 => {}
                _ => violations.push(FieldViolation::generic(field("level"), "层级只能是 1 或 2")),
            }
        }
        if !self.nodes.iter().any(|n| n.level == 2) {
            violations.push(FieldViolation::generic("nodes", "框架至少需要一个二级指标"));
        }
        violations
    }

    /// The second-level node with this code.
    pub fn level2(&self, code: &str) -> Option<&FrameNode> {
        self.nodes.iter().find(|n| n.level == 2 && n.code == code)
    }

    pub fn node(&self, code: &str) -> Option<&FrameNode> {
        self.nodes.iter().find(|n| n.code == code)
    }

    /// Finds a second-level node by its name and its first-level parent's name (Excel import).
    pub fn level2_by_names(&self, level1_name: &str, level2_name: &str) -> Option<&FrameNode> {
        let parent = self
            .nodes
            .iter()
            .find(|n| n.level == 1 && n.name == level1_name)?;
        self.nodes
            .iter()
            .find(|n| n.level == 2 && n.parent_code == parent.code && n.name == level2_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(template: Template) -> Frame {
        Frame {
            fiscal_year: FiscalYear::new(2026).unwrap(),
            name: template.default_name().into(),
            nodes: template.nodes(),
        }
    }

    #[test]
    fn national_templates_are_well_formed() {
        for t in [Template::NationalDefault, Template::CostFirstLevel] {
            assert!(frame(t).violations().is_empty(), "{t:?}");
        }
    }

    #[test]
    fn national_default_has_the_domain_table() {
        let f = frame(Template::NationalDefault);
        assert_eq!(f.nodes.iter().filter(|n| n.level == 1).count(), 3);
        assert_eq!(f.nodes.iter().filter(|n| n.level == 2).count(), 9);
        assert_eq!(f.level2("101").unwrap().name, "数量指标");
        assert_eq!(
            f.level2_by_names("效益指标", "社会效益指标").unwrap().code,
            "202"
        );
        assert!(
            f.level2("1").is_none(),
            "a first-level node is not a place for indicators"
        );
    }

    #[test]
    fn cost_first_level_moves_cost_up() {
        let f = frame(Template::CostFirstLevel);
        assert!(f.level2("104").is_none());
        assert_eq!(f.node("4").unwrap().level, 1);
        assert_eq!(
            f.level2_by_names("成本指标", "生态环境成本指标")
                .unwrap()
                .code,
            "403"
        );
    }

    #[test]
    fn rejects_orphans_duplicates_and_bad_levels() {
        let mut f = frame(Template::NationalDefault);
        f.nodes.push(node("999", "孤儿", "9", 1));
        f.nodes.push(node("101", "重复", "1", 9));
        f.nodes.push(FrameNode {
            level: 3,
            ..node("x", "三级", "1", 1)
        });
        let fields: Vec<String> = f.violations().into_iter().map(|v| v.field).collect();
        assert!(
            fields.contains(&"nodes[12].parent_code".to_string()),
            "{fields:?}"
        );
        assert!(fields.contains(&"nodes[13].code".to_string()), "{fields:?}");
        assert!(
            fields.contains(&"nodes[14].level".to_string()),
            "{fields:?}"
        );
    }
}
