//! Proto ⇄ JSON for the messages pbmctl prints and reads, by `prost-reflect` against the file
//! descriptor set that pbm-proto exports (prost's generated types have no serde).
//!
//! Printing: the message is transcoded to a `DynamicMessage` and serialised with the proto3 JSON
//! mapping — the proto field names, every field (defaults too), 64-bit integers as numbers —
//! then one pass over the descriptor gives it pbmctl's shape, where the mapping differs:
//! - enums are their short keys from `names.rs` (`accounting_firm`, not
//!   `AGENCY_TYPE_ACCOUNTING_FIRM`), `""` for 0 (unspecified), `unknown(N)` for a value this
//!   client does not know;
//! - a decimal (`pbm.common.v1.Decimal`) is its exact text as the server sent it (`"84.2"`), not
//!   `{"value": "84.2"}`;
//! - an absent message field (an audit stamp, a decimal) is `null`, not left out.
//!
//! Reading: the JSON is walked with the same descriptor into a `DynamicMessage`, transcoded to the
//! generated type. Missing or `null` fields are empty; unknown fields are errors; every problem
//! is collected as `path: message` (`spec.scopes[1]: 「x」无效…`), in key order. Enums take what
//! [`Names::parse`] takes (key, Chinese label, proto name); 64-bit integers also as strings; a
//! lead evaluator may be a bare name. The `spec` object printed by `agency show --json` /
//! `expert show --json` is exactly what `agency add --file` / `expert add --file` read.

use std::sync::LazyLock;

use pbm_proto::agency::v1 as pb;
use pbm_proto::prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, Kind, MessageDescriptor, SerializeOptions,
    Value as Field,
};
use serde_json::Value;

use crate::names;

/// A generated message with its full proto name (pbm-proto's types do not implement
/// `prost::Name`).
pub trait Proto: Message + Default {
    const NAME: &'static str;
}

macro_rules! proto {
    ($($name:ident),* $(,)?) => {
        $(impl Proto for pb::$name {
            const NAME: &'static str = concat!("pbm.agency.v1.", stringify!($name));
        })*

        /// The messages pbmctl prints or reads.
        #[cfg(test)]
        const MESSAGES: &[&str] = &[$(<pb::$name as Proto>::NAME),*];
    };
}

proto!(
    AdmissionBatch,
    Agency,
    AgencySpec,
    Draw,
    EmploymentRecord,
    Engagement,
    Expert,
    ExpertSpec,
    Field,
    GetPoolStatisticsResponse,
    PoolRulesRecord,
    RatingExplanation,
    RecomputeRatingsResponse,
    Relation,
    ReplayDrawResponse,
    StatusChange,
    Violation,
);

const DECIMAL: &str = "pbm.common.v1.Decimal";

/// The messages that may be given as a bare string, their `name`: a lead evaluator
/// (`"lead_evaluators": ["赵某"]`).
const BARE_NAME: &[&str] = &["pbm.agency.v1.LeadEvaluator"];

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(pbm_proto::FILE_DESCRIPTOR_SET)
        .expect("pbm-proto's FILE_DESCRIPTOR_SET is a valid descriptor set")
});

fn descriptor<M: Proto>() -> MessageDescriptor {
    POOL.get_message_by_name(M::NAME)
        .unwrap_or_else(|| panic!("{} is not in pbm-proto's descriptor set", M::NAME))
}

// ---------------------------------------------------------------- proto → JSON

const OPTIONS: SerializeOptions = SerializeOptions::new()
    .use_proto_field_name(true)
    .skip_default_fields(false)
    .stringify_64_bit_integers(false)
    .use_enum_numbers(true);

/// A message as pbmctl prints it (see the module doc).
pub fn message<M: Proto>(m: &M) -> Value {
    let desc = descriptor::<M>();
    let mut dynamic = DynamicMessage::new(desc.clone());
    // Both ends are the same generated message: transcoding and serialising cannot fail.
    dynamic
        .transcode_from(m)
        .expect("a generated message transcodes to its descriptor");
    let mut value = dynamic
        .serialize_with_options(serde_json::value::Serializer, &OPTIONS)
        .expect("a message serialises to a JSON value");
    shape_message(&mut value, &desc);
    value
}

/// Shapes the proto3 JSON of a `desc` message into pbmctl's (see the module doc).
fn shape_message(value: &mut Value, desc: &MessageDescriptor) {
    let Value::Object(object) = value else {
        return;
    };
    for field in desc.fields() {
        // With every default printed, only an absent message field is missing.
        let v = object.entry(field.name()).or_insert(Value::Null);
        let kind = field.kind();
        if field.is_map() {
            let Kind::Message(entry) = &kind else {
                continue;
            };
            let kind = entry.map_entry_value_field().kind();
            if let Value::Object(map) = v {
                map.values_mut().for_each(|v| shape(v, &kind));
            }
        } else if let Value::Array(items) = v {
            items.iter_mut().for_each(|v| shape(v, &kind));
        } else {
            shape(v, &kind);
        }
    }
}

fn shape(v: &mut Value, kind: &Kind) {
    match kind {
        Kind::Message(_) if v.is_null() => {}
        Kind::Message(m) if m.full_name() == DECIMAL => {
            *v = v.get_mut("value").map_or(Value::Null, Value::take);
        }
        Kind::Message(m) => shape_message(v, m),
        Kind::Enum(e) => {
            if let Some(number) = v.as_i64().and_then(|n| i32::try_from(n).ok()) {
                *v = Value::String(enum_key(e, number));
            }
        }
        _ => {}
    }
}

/// The key of an enum value: from `names.rs` (`""` for 0, `unknown(N)` for a value it does not
/// name), else its proto name.
fn enum_key(e: &EnumDescriptor, number: i32) -> String {
    match names::of_enum(e.full_name()) {
        Some(names) => names.key(number),
        None => e
            .get_value(number)
            .map_or_else(|| format!("unknown({number})"), |v| v.name().to_owned()),
    }
}

/// A pool rule set: the record, with its `rules_json` text embedded as the object `rules` (or as
/// text if it does not parse).
pub fn pool_rules(r: &pb::PoolRulesRecord) -> Value {
    let rules = serde_json::from_str::<Value>(&r.rules_json)
        .unwrap_or_else(|_| Value::String(r.rules_json.clone()));
    let mut value = message(r);
    if let Value::Object(o) = &mut value {
        o.remove("rules_json");
        o.insert("rules".into(), rules);
    }
    value
}

pub fn print(value: &Value) {
    // Serialising a Value cannot fail.
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

// ---------------------------------------------------------------- JSON → proto

/// Reads JSON into dynamic messages, collecting every problem as `path: message`.
#[derive(Default)]
struct Reader {
    errors: Vec<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader {
    fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {message}"));
    }

    /// A `desc` message from `v`, an object whose keys are all its fields (typos are errors, not
    /// ignored), read member by member in key order (so are the problems); `null` is empty.
    fn message(
        &mut self,
        v: &Value,
        path: &str,
        desc: &MessageDescriptor,
    ) -> Option<DynamicMessage> {
        if let (Value::String(name), Some(field)) = (v, desc.get_field_by_name("name"))
            && BARE_NAME.contains(&desc.full_name())
        {
            let mut message = DynamicMessage::new(desc.clone());
            message.set_field(&field, Field::String(name.clone()));
            return Some(message);
        }
        let Some(o) = v.as_object() else {
            self.error(path, "应为对象 {…} / expected an object");
            return None;
        };
        let mut message = DynamicMessage::new(desc.clone());
        for (key, v) in o {
            let path = join(path, key);
            let Some(field) = desc.get_field_by_name(key) else {
                let allowed: Vec<String> = desc.fields().map(|f| f.name().to_owned()).collect();
                let allowed = allowed.join(", ");
                self.error(&path, format!("未知字段 / unknown field; 可用: {allowed}"));
                continue;
            };
            let value = match v {
                Value::Null => None,
                _ if field.is_list() => self.list(v, &path, &field.kind()).map(Field::List),
                _ => self.value(v, &path, &field.kind()),
            };
            if let Some(value) = value {
                message.set_field(&field, value);
            }
        }
        Some(message)
    }

    /// The items of `v`, which must be an array, each read at `path[i]`.
    fn list(&mut self, v: &Value, path: &str, kind: &Kind) -> Option<Vec<Field>> {
        let Value::Array(items) = v else {
            self.error(path, "应为数组 [...] / expected an array");
            return None;
        };
        let mut list = Vec::new();
        for (i, v) in items.iter().enumerate() {
            list.extend(self.value(v, &format!("{path}[{i}]"), kind));
        }
        Some(list)
    }

    fn value(&mut self, v: &Value, path: &str, kind: &Kind) -> Option<Field> {
        match (kind, v) {
            (Kind::String, Value::String(s)) => return Some(Field::String(s.clone())),
            (Kind::Bool, Value::Bool(b)) => return Some(Field::Bool(*b)),
            (Kind::Int64, _) => return self.int(v, path).map(Field::I64),
            (Kind::Int32, _) => {
                let n = self.int(v, path)?;
                let n = i32::try_from(n).map_err(|_| self.error(path, "数值过大 / out of range"));
                return n.ok().map(Field::I32);
            }
            (Kind::Enum(e), Value::String(s)) => return self.enum_text(s, path, e),
            (Kind::Message(m), _) => return self.message(v, path, m).map(Field::Message),
            _ => {}
        }
        let expected = match kind {
            Kind::String | Kind::Enum(_) => "应为字符串 / expected a string",
            Kind::Bool => "应为 true 或 false / expected a boolean",
            _ => "不支持的字段类型 / unsupported field type",
        };
        self.error(path, expected);
        None
    }

    /// An integer, as a JSON number or a string.
    fn int(&mut self, v: &Value, path: &str) -> Option<i64> {
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if n.is_none() {
            self.error(path, "应为整数 / expected an integer");
        }
        n
    }

    fn enum_text(&mut self, text: &str, path: &str, e: &EnumDescriptor) -> Option<Field> {
        let Some(names) = names::of_enum(e.full_name()) else {
            self.error(path, "不支持的字段类型 / unsupported field type");
            return None;
        };
        let number = names.parse(text);
        if number.is_none() {
            self.error(path, format!("「{text}」无效，可选: {}", names.choices()));
        }
        number.map(Field::EnumNumber)
    }
}

/// The generated message of a dynamic one that was read against its descriptor.
fn transcode<M: Proto>(m: &DynamicMessage) -> Result<M, Vec<String>> {
    m.transcode_to::<M>()
        .map_err(|e| vec![format!("{}: {e}", M::NAME)])
}

/// A spec (`AgencySpec`, `ExpertSpec`) from a file: the file itself, or its `spec` member when
/// the file is the output of `show --json` (which also has `status`, `version`, …); problems as
/// `spec.key: message`. See docs/PBMCTL.md for the format.
pub fn spec_from<M: Proto>(v: &Value) -> Result<M, Vec<String>> {
    let v = match v.get("spec") {
        Some(spec) if spec.is_object() => spec,
        _ => v,
    };
    let mut r = Reader::default();
    match r.message(v, "spec", &descriptor::<M>()) {
        Some(m) if r.errors.is_empty() => transcode(&m),
        _ => Err(r.errors),
    }
}

/// A JSON array of `M`s (an .xlsx cell); problems as `path[i].key: message`.
pub fn list_from<M: Proto>(v: &Value, path: &str) -> Result<Vec<M>, Vec<String>> {
    let mut r = Reader::default();
    match r.list(v, path, &Kind::Message(descriptor::<M>())) {
        Some(items) if r.errors.is_empty() => items
            .iter()
            .filter_map(Field::as_message)
            .map(transcode)
            .collect(),
        _ => Err(r.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agency_spec_from(v: &Value) -> Result<pb::AgencySpec, Vec<String>> {
        spec_from(v)
    }

    fn expert_spec_from(v: &Value) -> Result<pb::ExpertSpec, Vec<String>> {
        spec_from(v)
    }

    #[test]
    fn messages_print_in_pbmctl_s_shape() {
        use pbm_proto::common::v1 as common;
        let decimal = |s: &str| Some(common::Decimal { value: s.into() });
        let engagement = pb::Engagement {
            id: 7,
            kind: pb::EngagementKind::ExAnteAssessment as i32,
            expert_ids: vec![3, i64::MAX],
            rated: true,
            scores: vec![
                pb::CriterionScore {
                    criterion: "QUALITY".into(),
                    score: decimal("84.2"),
                },
                pb::CriterionScore {
                    criterion: "TIMELINESS".into(),
                    score: None,
                },
            ],
            score: decimal("90.00"),
            created: Some(common::AuditStamp {
                actor: "admin".into(),
                at: "2026-03-01T08:00:00Z".into(),
            }),
            ..Default::default()
        };
        assert_eq!(
            message(&engagement),
            json!({
                "id": 7,
                "commissioner": "",
                "evaluated_party": "",
                "kind": "ex_ante_assessment",
                "agency_credit_code": "",
                "expert_ids": [3, i64::MAX],
                "started_on": "",
                "ended_on": "",
                "rated": true,
                "scores": [
                    {"criterion": "QUALITY", "score": "84.2"},
                    {"criterion": "TIMELINESS", "score": null},
                ],
                "score": "90.00",
                "rules": "",
                "version": 0,
                "created": {"actor": "admin", "at": "2026-03-01T08:00:00Z"},
                "rated_by": null,
                "cancelled": false,
                "cancelled_by": null,
                "cancel_reason": "",
            })
        );
        // 0 (unspecified) is "", a value this client does not know is unknown(N).
        let violation = pb::Violation {
            severity: 9,
            ..Default::default()
        };
        assert_eq!(message(&violation)["severity"], "unknown(9)");
        assert_eq!(message(&pb::Agency::default())["status"], "");
        assert_eq!(message(&pb::Agency::default())["spec"], Value::Null);
        let rules = pool_rules(&pb::PoolRulesRecord {
            fiscal_year: 2026,
            rules_json: r#"{"decay": {"half_life_months": 24}}"#.into(),
            ..Default::default()
        });
        assert_eq!(
            rules,
            json!({
                "fiscal_year": 2026,
                "version": 0,
                "rules": {"decay": {"half_life_months": 24}},
                "changed": null,
            })
        );
    }

    /// Every enum in what pbmctl prints or reads has its names, and they name exactly its values,
    /// each by its proto name without the prefix (`AGENCY_TYPE_ACCOUNTING_FIRM` →
    /// `accounting_firm`).
    #[test]
    fn every_enum_has_its_names() {
        fn enums(m: &MessageDescriptor, seen: &mut Vec<String>, out: &mut Vec<EnumDescriptor>) {
            if seen.iter().any(|s| s == m.full_name()) {
                return;
            }
            seen.push(m.full_name().to_owned());
            for field in m.fields() {
                match field.kind() {
                    Kind::Enum(e) if !out.contains(&e) => out.push(e),
                    Kind::Message(m) => enums(&m, seen, out),
                    _ => {}
                }
            }
        }
        let (mut seen, mut found) = (Vec::new(), Vec::new());
        for name in MESSAGES {
            let m = POOL.get_message_by_name(name).expect(name);
            enums(&m, &mut seen, &mut found);
        }
        assert_eq!(found.len(), 10);
        for e in found {
            let names = names::of_enum(e.full_name())
                .unwrap_or_else(|| panic!("{} has no names in names.rs", e.full_name()));
            for v in e.values().filter(|v| v.number() != 0) {
                let key = v.name().strip_prefix(names.prefix).unwrap_or_default();
                assert_eq!(
                    names.key(v.number()),
                    key.to_ascii_lowercase(),
                    "{}",
                    v.name()
                );
            }
            for n in names.names {
                assert!(
                    e.get_value(n.value).is_some(),
                    "{}: {}",
                    e.full_name(),
                    n.key
                );
            }
        }
    }

    #[test]
    fn agency_spec_round_trips_through_json() {
        let spec = pb::AgencySpec {
            credit_code: "91350100M000100Y43".into(),
            name: "晋城某会计师事务所有限公司".into(),
            r#type: pb::AgencyType::AccountingFirm as i32,
            legal_representative: "王某".into(),
            lead_evaluators: vec![pb::LeadEvaluator {
                name: "赵某".into(),
                qualifications: vec!["注册会计师".into()],
            }],
            branches: vec![pb::Branch {
                name: "阳城分所".into(),
                credit_code: String::new(),
                is_legal_person: false,
            }],
            contacts: vec![pb::Person {
                name: "李某".into(),
                role: "项目经理".into(),
                phone: "13812345678".into(),
                email: String::new(),
            }],
            scopes: vec![pb::ServiceScope::Evaluation as i32],
            admission_batch_id: 3,
            relations: vec![pb::Relation {
                party_code: "DEPT-WATER".into(),
                kind: pb::RelationKind::WorkedFor as i32,
                from: "2020-01-01".into(),
                to: String::new(),
                note: String::new(),
            }],
            ..Default::default()
        };
        assert_eq!(agency_spec_from(&message(&spec)), Ok(spec.clone()));
        // The output of `agency show --json` is accepted as is.
        let shown = message(&pb::Agency {
            spec: Some(spec.clone()),
            version: 2,
            ..Default::default()
        });
        assert_eq!(agency_spec_from(&shown), Ok(spec));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let v = json!({
            "name": 5,
            "type": "bank",
            "scopes": ["evaluation", "x"],
            "lead_evaluators": ["赵某", {"nam": "钱某"}],
            "admission_batch_id": "7",
        });
        let errors = agency_spec_from(&v).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("spec.lead_evaluators[1].nam: 未知字段"));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("spec.name: 应为字符串"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("spec.type: 「bank」无效"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("spec.scopes[1]: 「x」无效"))
        );
    }

    #[test]
    fn expert_spec_reads_keys_and_chinese_labels() {
        let v = json!({
            "name": "张专家",
            "id_number": "140502197003151234",
            "phone": "13900001111",
            "title": "副高级",
            "years_in_field": 15,
            "fields": ["LAW"],
            "employment": [{"organization": "山西某大学", "position": "教授", "from": "2000-09-01"}],
        });
        let spec = expert_spec_from(&v).unwrap();
        assert_eq!(spec.title, pb::TitleLevel::Senior as i32);
        assert_eq!(spec.employment[0].to, "");
        assert_eq!(expert_spec_from(&message(&spec)), Ok(spec));
    }
}
