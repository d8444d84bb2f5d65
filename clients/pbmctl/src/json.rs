//! Proto ⇄ JSON, written out by hand for the messages pbmctl prints and reads (prost types
//! have no serde). Field names are the proto field names; enums are their short keys
//! (`accounting_firm`, see `names.rs`). The `spec` object printed by `agency show --json` /
//! `expert show --json` is exactly what `agency add --file` / `expert add --file` read.
//! Decimals (`pbm.common.v1.Decimal`) are printed as JSON strings, exactly as the server sent
//! them (`"84.2"`), and `null` when absent.

use pbm_proto::agency::v1 as pb;
use pbm_proto::common::v1 as common;
use serde_json::{Map, Value, json};

use crate::names::{self, Names};

// ---------------------------------------------------------------- proto → JSON

pub fn stamp(s: Option<&common::AuditStamp>) -> Value {
    match s {
        Some(s) => json!({ "actor": s.actor, "at": s.at }),
        None => Value::Null,
    }
}

pub fn batch(b: &pb::AdmissionBatch) -> Value {
    json!({
        "id": b.id,
        "name": b.name,
        "procurement_ref": b.procurement_ref,
        "qualified_from": b.qualified_from,
        "qualified_to": b.qualified_to,
        "created": stamp(b.created.as_ref()),
    })
}

fn person(p: &pb::Person) -> Value {
    json!({ "name": p.name, "role": p.role, "phone": p.phone, "email": p.email })
}

pub fn relation(r: &pb::Relation) -> Value {
    json!({
        "party_code": r.party_code,
        "kind": names::RELATION.key(r.kind),
        "from": r.from,
        "to": r.to,
        "note": r.note,
    })
}

pub fn agency_spec(s: &pb::AgencySpec) -> Value {
    json!({
        "credit_code": s.credit_code,
        "name": s.name,
        "type": names::AGENCY_TYPE.key(s.r#type),
        "legal_representative": s.legal_representative,
        "lead_evaluators": s.lead_evaluators.iter().map(|e| json!({
            "name": e.name,
            "qualifications": e.qualifications,
        })).collect::<Vec<_>>(),
        "branches": s.branches.iter().map(|b| json!({
            "name": b.name,
            "credit_code": b.credit_code,
            "is_legal_person": b.is_legal_person,
        })).collect::<Vec<_>>(),
        "cooperating_experts": s.cooperating_experts.iter().map(person).collect::<Vec<_>>(),
        "other_staff": s.other_staff.iter().map(person).collect::<Vec<_>>(),
        "contacts": s.contacts.iter().map(person).collect::<Vec<_>>(),
        "scopes": s.scopes.iter().map(|v| names::SCOPE.key(*v)).collect::<Vec<_>>(),
        "admission_batch_id": s.admission_batch_id,
        "relations": s.relations.iter().map(relation).collect::<Vec<_>>(),
    })
}

pub fn agency(a: &pb::Agency) -> Value {
    json!({
        "spec": a.spec.as_ref().map_or(Value::Null, agency_spec),
        "status": names::AGENCY_STATUS.key(a.status),
        "suspended_until": a.suspended_until,
        "qualified_from": a.qualified_from,
        "qualified_to": a.qualified_to,
        "version": a.version,
        "mof_div_code": a.mof_div_code,
        "changed": stamp(a.changed.as_ref()),
    })
}

pub fn violation(v: &pb::Violation) -> Value {
    json!({
        "id": v.id,
        "credit_code": v.credit_code,
        "expert_id": v.expert_id,
        "occurred_on": v.occurred_on,
        "severity": names::SEVERITY.key(v.severity),
        "description": v.description,
        "recorded": stamp(v.recorded.as_ref()),
    })
}

pub fn status_change(c: &pb::StatusChange) -> Value {
    json!({
        "from_status": c.from_status,
        "to_status": c.to_status,
        "reason": c.reason,
        "until": c.until,
        "changed": stamp(c.changed.as_ref()),
    })
}

pub fn expert_spec(s: &pb::ExpertSpec) -> Value {
    json!({
        "name": s.name,
        "id_number": s.id_number,
        "phone": s.phone,
        "title": names::TITLE.key(s.title),
        "years_in_field": s.years_in_field,
        "fields": s.fields,
        "affiliation": s.affiliation,
        "employment": s.employment.iter().map(employment).collect::<Vec<_>>(),
        "relations": s.relations.iter().map(relation).collect::<Vec<_>>(),
    })
}

pub fn employment(e: &pb::EmploymentRecord) -> Value {
    json!({
        "organization": e.organization,
        "position": e.position,
        "from": e.from,
        "to": e.to,
    })
}

pub fn expert(e: &pb::Expert) -> Value {
    json!({
        "id": e.id,
        "spec": e.spec.as_ref().map_or(Value::Null, expert_spec),
        "birth_date": e.birth_date,
        "status": names::EXPERT_STATUS.key(e.status),
        "version": e.version,
        "mof_div_code": e.mof_div_code,
        "changed": stamp(e.changed.as_ref()),
    })
}

pub fn field(f: &pb::Field) -> Value {
    json!({ "code": f.code, "name": f.name })
}

/// The rule set is itself JSON: it is embedded as an object (or as text if it does not parse).
pub fn pool_rules(r: &pb::PoolRulesRecord) -> Value {
    let rules = serde_json::from_str::<Value>(&r.rules_json)
        .unwrap_or_else(|_| Value::String(r.rules_json.clone()));
    json!({
        "fiscal_year": r.fiscal_year,
        "version": r.version,
        "rules": rules,
        "changed": stamp(r.changed.as_ref()),
    })
}

/// A decimal as its exact text, `null` when absent.
pub fn decimal(d: Option<&common::Decimal>) -> Value {
    match d {
        Some(d) => Value::String(d.value.clone()),
        None => Value::Null,
    }
}

pub fn engagement(e: &pb::Engagement) -> Value {
    json!({
        "id": e.id,
        "commissioner": e.commissioner,
        "evaluated_party": e.evaluated_party,
        "kind": names::ENGAGEMENT_KIND.key(e.kind),
        "agency_credit_code": e.agency_credit_code,
        "expert_ids": e.expert_ids,
        "started_on": e.started_on,
        "ended_on": e.ended_on,
        "rated": e.rated,
        "scores": e.scores.iter().map(|s| json!({
            "criterion": s.criterion,
            "score": decimal(s.score.as_ref()),
        })).collect::<Vec<_>>(),
        "score": decimal(e.score.as_ref()),
        "rules": e.rules,
        "version": e.version,
        "created": stamp(e.created.as_ref()),
        "rated_by": stamp(e.rated_by.as_ref()),
        "cancelled": e.cancelled,
        "cancelled_by": stamp(e.cancelled_by.as_ref()),
        "cancel_reason": e.cancel_reason,
    })
}

pub fn rating(r: &pb::RatingExplanation) -> Value {
    json!({
        "as_of": r.as_of,
        "contributions": r.contributions.iter().map(|c| json!({
            "engagement_id": c.engagement_id,
            "ended_on": c.ended_on,
            "score": decimal(c.score.as_ref()),
            "age_months": c.age_months,
            "decay_weight": decimal(c.decay_weight.as_ref()),
            "weighted": decimal(c.weighted.as_ref()),
        })).collect::<Vec<_>>(),
        "weighted_sum": decimal(r.weighted_sum.as_ref()),
        "weight_total": decimal(r.weight_total.as_ref()),
        "pool_mean": decimal(r.pool_mean.as_ref()),
        "shrinkage_k": decimal(r.shrinkage_k.as_ref()),
        "shrunk": decimal(r.shrunk.as_ref()),
        "penalties": r.penalties.iter().map(|p| json!({
            "violation_id": p.violation_id,
            "occurred_on": p.occurred_on,
            "severity": p.severity,
            "points": decimal(p.points.as_ref()),
        })).collect::<Vec<_>>(),
        "final_score": decimal(r.final_score.as_ref()),
        "grade": r.grade,
        "action": r.action,
        "suspend_months": r.suspend_months,
        "selectable": r.selectable,
        "rules": r.rules,
    })
}

pub fn draw_round(r: &pb::DrawRound) -> Value {
    json!({
        "round": r.round,
        "seed": r.seed,
        "picked": r.picked,
        "picked_agencies": r.picked_agencies,
    })
}

pub fn draw(d: &pb::Draw) -> Value {
    json!({
        "id": d.id,
        "subject": names::DRAW_SUBJECT.key(d.subject),
        "weighted_by_rating": d.weighted_by_rating,
        "task_ref": d.task_ref,
        "field": d.field,
        "count": d.count,
        "evaluated_party": d.evaluated_party,
        "kind": names::ENGAGEMENT_KIND.key(d.kind),
        "on_date": d.on_date,
        "seed": d.seed,
        "candidates_fingerprint": d.candidates_fingerprint,
        "eligible": d.eligible,
        "rounds": d.rounds.iter().map(draw_round).collect::<Vec<_>>(),
        "drawn": d.drawn.iter().map(|m| json!({
            "expert_id": m.expert_id,
            "round": m.round,
            "answer": names::DRAW_ANSWER.key(m.answer),
            "reason": m.reason,
        })).collect::<Vec<_>>(),
        "drawn_agencies": d.drawn_agencies.iter().map(|m| json!({
            "credit_code": m.credit_code,
            "round": m.round,
            "answer": names::DRAW_ANSWER.key(m.answer),
            "reason": m.reason,
            "weight": decimal(m.weight.as_ref()),
        })).collect::<Vec<_>>(),
        "rules": d.rules,
        "version": d.version,
        "created": stamp(d.created.as_ref()),
    })
}

pub fn replay(r: &pb::ReplayDrawResponse) -> Value {
    json!({
        "matches": r.matches,
        "candidates_fingerprint": r.candidates_fingerprint,
        "replayed": r.replayed.iter().map(draw_round).collect::<Vec<_>>(),
        "draw": r.draw.as_ref().map_or(Value::Null, draw),
    })
}

pub fn rated_subject(s: &pb::RatedSubject) -> Value {
    json!({
        "agency_credit_code": s.agency_credit_code,
        "expert_id": s.expert_id,
        "final_score": decimal(s.final_score.as_ref()),
        "grade": s.grade,
        "action": s.action,
        "selectable": s.selectable,
        "engagements": s.engagements,
        "status_from": s.status_from,
        "status_to": s.status_to,
    })
}

pub fn recompute(r: &pb::RecomputeRatingsResponse) -> Value {
    json!({
        "as_of": r.as_of,
        "rules": r.rules,
        "agencies_rated": r.agencies_rated,
        "experts_rated": r.experts_rated,
        "status_changes": r.status_changes,
        "agencies": r.agencies.iter().map(rated_subject).collect::<Vec<_>>(),
        "experts": r.experts.iter().map(rated_subject).collect::<Vec<_>>(),
    })
}

fn counts(list: &[pb::CountByKey]) -> Value {
    Value::Array(
        list.iter()
            .map(|c| json!({ "key": c.key, "count": c.count }))
            .collect(),
    )
}

pub fn statistics(s: &pb::GetPoolStatisticsResponse) -> Value {
    json!({
        "mof_div_code": s.mof_div_code,
        "as_of": s.as_of,
        "agencies_by_type": counts(&s.agencies_by_type),
        "agencies_by_status": counts(&s.agencies_by_status),
        "experts_by_field": counts(&s.experts_by_field),
        "experts_by_status": counts(&s.experts_by_status),
        "agency_grades": counts(&s.agency_grades),
        "engagements_by_year_and_kind": counts(&s.engagements_by_year_and_kind),
        "rules": s.rules,
    })
}

pub fn print(value: &Value) {
    // Serialising a Value cannot fail.
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

// ---------------------------------------------------------------- JSON → proto

/// Reads JSON into proto fields, collecting every problem as `path: message`.
#[derive(Default)]
struct Reader {
    errors: Vec<String>,
}

type Obj = Map<String, Value>;

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

    /// `v` as an object whose keys are all in `allowed` (typos are errors, not ignored).
    fn object<'v>(&mut self, v: &'v Value, path: &str, allowed: &[&str]) -> Option<&'v Obj> {
        let Some(o) = v.as_object() else {
            self.error(path, "应为对象 {…} / expected an object");
            return None;
        };
        for key in o.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    &join(path, key),
                    format!("未知字段 / unknown field; 可用: {}", allowed.join(", ")),
                );
            }
        }
        Some(o)
    }

    fn string(&mut self, o: &Obj, path: &str, key: &str) -> String {
        match o.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                self.error(&join(path, key), "应为字符串 / expected a string");
                String::new()
            }
        }
    }

    fn int(&mut self, o: &Obj, path: &str, key: &str) -> i64 {
        match o.get(key) {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                s.trim().parse().unwrap_or_default()
            }
            Some(_) => {
                self.error(&join(path, key), "应为整数 / expected an integer");
                0
            }
        }
    }

    fn int32(&mut self, o: &Obj, path: &str, key: &str) -> i32 {
        let v = self.int(o, path, key);
        i32::try_from(v).unwrap_or_else(|_| {
            self.error(&join(path, key), "数值过大 / out of range");
            0
        })
    }

    fn bool(&mut self, o: &Obj, path: &str, key: &str) -> bool {
        match o.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.error(&join(path, key), "应为 true 或 false / expected a boolean");
                false
            }
        }
    }

    /// The items of an array field with their paths (`key[i]`).
    fn array<'v>(&mut self, o: &'v Obj, path: &str, key: &str) -> Vec<(String, &'v Value)> {
        match o.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => self.items(v, &join(path, key)),
        }
    }

    /// The items of `v`, which must be an array, with their paths (`path[i]`).
    fn items<'v>(&mut self, v: &'v Value, path: &str) -> Vec<(String, &'v Value)> {
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{path}[{i}]"), v))
                .collect(),
            _ => {
                self.error(path, "应为数组 [...] / expected an array");
                Vec::new()
            }
        }
    }

    fn strings(&mut self, o: &Obj, path: &str, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (p, v) in self.array(o, path, key) {
            match v.as_str() {
                Some(s) => out.push(s.to_owned()),
                None => self.error(&p, "应为字符串 / expected a string"),
            }
        }
        out
    }

    fn enum_text(&mut self, text: &str, path: &str, names: &Names) -> i32 {
        names.parse(text).unwrap_or_else(|| {
            self.error(path, format!("「{text}」无效，可选: {}", names.choices()));
            0
        })
    }

    fn enum_value(&mut self, o: &Obj, path: &str, key: &str, names: &Names) -> i32 {
        match o.get(key) {
            None | Some(Value::Null) => 0,
            Some(Value::String(s)) => self.enum_text(s, &join(path, key), names),
            Some(_) => {
                self.error(&join(path, key), "应为字符串 / expected a string");
                0
            }
        }
    }

    fn enum_values(&mut self, o: &Obj, path: &str, key: &str, names: &Names) -> Vec<i32> {
        let mut out = Vec::new();
        for (p, v) in self.array(o, path, key) {
            match v.as_str() {
                Some(s) => out.push(self.enum_text(s, &p, names)),
                None => self.error(&p, "应为字符串 / expected a string"),
            }
        }
        out
    }

    /// Each of `items` that is an object with no keys but `keys`, made into a `T` by `make`
    /// (given the reader, the object and its path).
    fn objects<T>(
        &mut self,
        items: Vec<(String, &Value)>,
        keys: &[&str],
        mut make: impl FnMut(&mut Self, &Obj, &str) -> T,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for (p, v) in items {
            if let Some(o) = self.object(v, &p, keys) {
                out.push(make(self, o, &p));
            }
        }
        out
    }

    fn people(&mut self, o: &Obj, path: &str, key: &str) -> Vec<pb::Person> {
        let items = self.array(o, path, key);
        self.objects(items, &["name", "role", "phone", "email"], |r, o, p| {
            pb::Person {
                name: r.string(o, p, "name"),
                role: r.string(o, p, "role"),
                phone: r.string(o, p, "phone"),
                email: r.string(o, p, "email"),
            }
        })
    }

    fn relations(&mut self, o: &Obj, path: &str) -> Vec<pb::Relation> {
        let items = self.array(o, path, "relations");
        self.relation_items(items)
    }

    fn relation_items(&mut self, items: Vec<(String, &Value)>) -> Vec<pb::Relation> {
        let keys = ["party_code", "kind", "from", "to", "note"];
        self.objects(items, &keys, |r, o, p| pb::Relation {
            party_code: r.string(o, p, "party_code"),
            kind: r.enum_value(o, p, "kind", &names::RELATION),
            from: r.string(o, p, "from"),
            to: r.string(o, p, "to"),
            note: r.string(o, p, "note"),
        })
    }

    fn employment_items(&mut self, items: Vec<(String, &Value)>) -> Vec<pb::EmploymentRecord> {
        let keys = ["organization", "position", "from", "to"];
        self.objects(items, &keys, |r, o, p| pb::EmploymentRecord {
            organization: r.string(o, p, "organization"),
            position: r.string(o, p, "position"),
            from: r.string(o, p, "from"),
            to: r.string(o, p, "to"),
        })
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<String>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

/// The object holding the spec: the file itself, or its `spec` member when the file is the
/// output of `show --json` (which also has `status`, `version`, …).
fn spec_object(v: &Value) -> &Value {
    match v.get("spec") {
        Some(spec) if spec.is_object() => spec,
        _ => v,
    }
}

const AGENCY_SPEC_FIELDS: &[&str] = &[
    "credit_code",
    "name",
    "type",
    "legal_representative",
    "lead_evaluators",
    "branches",
    "cooperating_experts",
    "other_staff",
    "contacts",
    "scopes",
    "admission_batch_id",
    "relations",
];

/// An `AgencySpec` from JSON (see docs/PBMCTL.md for the format).
pub fn agency_spec_from(v: &Value) -> Result<pb::AgencySpec, Vec<String>> {
    let mut r = Reader::default();
    let v = spec_object(v);
    let path = "spec";
    let Some(o) = r.object(v, path, AGENCY_SPEC_FIELDS) else {
        return Err(r.errors);
    };
    let mut lead_evaluators = Vec::new();
    for (p, v) in r.array(o, path, "lead_evaluators") {
        match v {
            // A bare name is accepted, too.
            Value::String(name) => lead_evaluators.push(pb::LeadEvaluator {
                name: name.clone(),
                qualifications: Vec::new(),
            }),
            _ => {
                if let Some(o) = r.object(v, &p, &["name", "qualifications"]) {
                    lead_evaluators.push(pb::LeadEvaluator {
                        name: r.string(o, &p, "name"),
                        qualifications: r.strings(o, &p, "qualifications"),
                    });
                }
            }
        }
    }
    let items = r.array(o, path, "branches");
    let keys = ["name", "credit_code", "is_legal_person"];
    let branches = r.objects(items, &keys, |r, o, p| pb::Branch {
        name: r.string(o, p, "name"),
        credit_code: r.string(o, p, "credit_code"),
        is_legal_person: r.bool(o, p, "is_legal_person"),
    });
    let spec = pb::AgencySpec {
        credit_code: r.string(o, path, "credit_code"),
        name: r.string(o, path, "name"),
        r#type: r.enum_value(o, path, "type", &names::AGENCY_TYPE),
        legal_representative: r.string(o, path, "legal_representative"),
        lead_evaluators,
        branches,
        cooperating_experts: r.people(o, path, "cooperating_experts"),
        other_staff: r.people(o, path, "other_staff"),
        contacts: r.people(o, path, "contacts"),
        scopes: r.enum_values(o, path, "scopes", &names::SCOPE),
        admission_batch_id: r.int(o, path, "admission_batch_id"),
        relations: r.relations(o, path),
    };
    r.finish(spec)
}

const EXPERT_SPEC_FIELDS: &[&str] = &[
    "name",
    "id_number",
    "phone",
    "title",
    "years_in_field",
    "fields",
    "affiliation",
    "employment",
    "relations",
];

/// An `ExpertSpec` from JSON (see docs/PBMCTL.md for the format).
pub fn expert_spec_from(v: &Value) -> Result<pb::ExpertSpec, Vec<String>> {
    let mut r = Reader::default();
    let v = spec_object(v);
    let path = "spec";
    let Some(o) = r.object(v, path, EXPERT_SPEC_FIELDS) else {
        return Err(r.errors);
    };
    let items = r.array(o, path, "employment");
    let employment = r.employment_items(items);
    let spec = pb::ExpertSpec {
        name: r.string(o, path, "name"),
        id_number: r.string(o, path, "id_number"),
        phone: r.string(o, path, "phone"),
        title: r.enum_value(o, path, "title", &names::TITLE),
        years_in_field: r.int32(o, path, "years_in_field"),
        fields: r.strings(o, path, "fields"),
        affiliation: r.string(o, path, "affiliation"),
        employment,
        relations: r.relations(o, path),
    };
    r.finish(spec)
}

/// A JSON array of `EmploymentRecord`s (an .xlsx cell); problems as `path[i].key: message`.
pub fn employment_list_from(
    v: &Value,
    path: &str,
) -> Result<Vec<pb::EmploymentRecord>, Vec<String>> {
    let mut r = Reader::default();
    let items = r.items(v, path);
    let list = r.employment_items(items);
    r.finish(list)
}

/// A JSON array of `Relation`s (an .xlsx cell); problems as `path[i].key: message`.
pub fn relation_list_from(v: &Value, path: &str) -> Result<Vec<pb::Relation>, Vec<String>> {
    let mut r = Reader::default();
    let items = r.items(v, path);
    let list = r.relation_items(items);
    r.finish(list)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(agency_spec_from(&agency_spec(&spec)), Ok(spec.clone()));
        // The output of `agency show --json` is accepted as is.
        let shown = agency(&pb::Agency {
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
        assert_eq!(expert_spec_from(&expert_spec(&spec)), Ok(spec));
    }
}
