//! The agency registry (docs/DOMAIN.md "Admission and records"): what an
//! agency record holds, how its status moves, when its qualification has expired.

use chrono::NaiveDate;
use pbm_types::FieldViolation;

pub use super::eligibility::RelationKind;
pub use super::engagement::ServiceScope as Scope;
use super::ids::CreditCode;
use super::personal::{Sealable, mask_phone};

/// 机构类型.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyType {
    AccountingFirm,
    AssetAppraisal,
    LawFirm,
    Consulting,
    ResearchInstitute,
    University,
}

/// Stored status. `Expired` is never stored: it follows from the qualification period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Admitted,
    Warned,
    Suspended,
    Removed,
}

/// What callers see: the stored status, or expiry once the qualification period has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectiveStatus {
    Admitted,
    Warned,
    Suspended,
    Removed,
    Expired,
}

text_enum!(AgencyType {
    AccountingFirm => "accounting_firm", "会计师事务所";
    AssetAppraisal => "asset_appraisal", "资产评估机构";
    LawFirm => "law_firm", "律师事务所";
    Consulting => "consulting", "咨询机构";
    ResearchInstitute => "research_institute", "科研院所";
    University => "university", "高等院校";
});
text_enum!(Status {
    Admitted => "admitted", "入库";
    Warned => "warned", "警告";
    Suspended => "suspended", "暂停";
    Removed => "removed", "清退";
});

/// A lead evaluator (主评人) on an agency record. Stored as JSON with the name sealed
/// (`name_enc`, hex), like a [`Person`]'s; a record stored before names were sealed has `name` in
/// clear and still reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadEvaluator {
    pub name: Sealable,
    pub qualifications: Vec<String>,
}

/// How a [`LeadEvaluator`] is kept in the record's JSON.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredLeadEvaluator {
    /// In clear: empty, or a record stored before names were sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name_enc: Option<String>,
    #[serde(default)]
    qualifications: Vec<String>,
}

impl serde::Serialize for LeadEvaluator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (name, name_enc, _) = stored_form(&self.name, "name")?;
        StoredLeadEvaluator {
            name,
            name_enc,
            qualifications: self.qualifications.clone(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for LeadEvaluator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let e = StoredLeadEvaluator::deserialize(d)?;
        Ok(LeadEvaluator {
            name: read_form(e.name, e.name_enc, None)?,
            qualifications: e.qualifications,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Branch {
    pub name: String,
    pub credit_code: String,
    pub is_legal_person: bool,
}

/// A person on an agency record (cooperating expert, other staff, contact). Stored as JSON with
/// the name, phone and email sealed (`name_enc`/`phone_enc`/`email_enc`, hex, and the masked
/// forms of phone and email; names are never masked, so none is kept); a record stored before
/// they were sealed has `name`/`phone`/`email` in clear and still reads. Storing any in clear
/// is refused: sealing is the writer's job ([`Sealable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: Sealable,
    pub role: String,
    pub phone: Sealable,
    pub email: Sealable,
}

/// How a [`Person`] is kept in the record's JSON.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPerson {
    /// In clear: empty, or a record stored before names were sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name_enc: Option<String>,
    #[serde(default)]
    role: String,
    /// In clear: empty (no phone), or a record stored before phones were sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone_enc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone_masked: Option<String>,
    /// In clear: empty (no email), or a record stored before emails were sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email_enc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email_masked: Option<String>,
}

type StoredForm = (Option<String>, Option<String>, Option<String>);

/// (clear, enc, masked) of a value as stored: only an empty value is kept in clear.
fn stored_form<E: serde::ser::Error>(value: &Sealable, what: &str) -> Result<StoredForm, E> {
    match value {
        Sealable::Clear(text) if text.is_empty() => Ok((Some(String::new()), None, None)),
        Sealable::Clear(_) => Err(E::custom(format!(
            "a person's {what} must be sealed before it is stored"
        ))),
        Sealable::Sealed { cipher, masked } => {
            Ok((None, Some(hex::encode(cipher)), Some(masked.clone())))
        }
    }
}

fn read_form<E: serde::de::Error>(
    clear: Option<String>,
    enc: Option<String>,
    masked: Option<String>,
) -> Result<Sealable, E> {
    Ok(match enc {
        Some(enc) => Sealable::Sealed {
            cipher: hex::decode(&enc).map_err(E::custom)?,
            masked: masked.unwrap_or_default(),
        },
        None => Sealable::Clear(clear.unwrap_or_default()),
    })
}

impl serde::Serialize for Person {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (phone, phone_enc, phone_masked) = stored_form(&self.phone, "phone")?;
        let (email, email_enc, email_masked) = stored_form(&self.email, "email")?;
        let (name, name_enc, _) = stored_form(&self.name, "name")?;
        StoredPerson {
            name,
            name_enc,
            role: self.role.clone(),
            phone,
            phone_enc,
            phone_masked,
            email,
            email_enc,
            email_masked,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Person {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = StoredPerson::deserialize(d)?;
        Ok(Person {
            name: read_form(p.name, p.name_enc, None)?,
            role: p.role,
            phone: read_form(p.phone, p.phone_enc, p.phone_masked)?,
            email: read_form(p.email, p.email_enc, p.email_masked)?,
        })
    }
}

/// A declared tie with a party, used for recusal and independence checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Relation {
    pub party_code: String,
    pub kind: RelationKind,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub note: String,
}

/// The parts of an agency record read and written whole (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Details {
    pub lead_evaluators: Vec<LeadEvaluator>,
    pub branches: Vec<Branch>,
    pub cooperating_experts: Vec<Person>,
    pub other_staff: Vec<Person>,
    pub contacts: Vec<Person>,
    pub relations: Vec<Relation>,
}

/// What a writer sets on an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencySpec {
    pub credit_code: CreditCode,
    pub name: String,
    pub agency_type: AgencyType,
    pub legal_representative: String,
    pub details: Details,
    pub scopes: Vec<Scope>,
    pub admission_batch_id: i64,
}

/// A stored agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub spec: AgencySpec,
    pub status: Status,
    pub suspended_until: Option<NaiveDate>,
    pub version: i64,
    pub changed_by: String,
    pub changed_at: chrono::NaiveDateTime,
}

/// A procurement batch and its qualification period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: i64,
    pub name: String,
    pub procurement_ref: String,
    pub qualified_from: NaiveDate,
    pub qualified_to: NaiveDate,
    pub created_by: String,
    pub created_at: chrono::NaiveDateTime,
}

fn is_mobile(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit())
}

impl AgencySpec {
    /// Field violations of a spec (paths under `spec.`).
    pub fn violations(&self) -> Vec<FieldViolation> {
        let mut v = Vec::new();
        if self.name.trim().is_empty() {
            v.push(FieldViolation::generic("spec.name", "机构名称不能为空"));
        }
        if self.legal_representative.trim().is_empty() {
            v.push(FieldViolation::generic(
                "spec.legal_representative",
                "法定代表人不能为空",
            ));
        }
        if self.scopes.is_empty() {
            v.push(FieldViolation::generic(
                "spec.scopes",
                "至少选择一项服务范围",
            ));
        }
        let mut scopes = self.scopes.clone();
        scopes.sort();
        scopes.dedup();
        if scopes.len() != self.scopes.len() {
            v.push(FieldViolation::generic("spec.scopes", "服务范围重复"));
        }
        // A sealed name was checked when it was typed.
        let blank = |name: &Sealable| name.clear().is_some_and(|n| n.trim().is_empty());
        for (i, e) in self.details.lead_evaluators.iter().enumerate() {
            if blank(&e.name) {
                v.push(FieldViolation::generic(
                    format!("spec.lead_evaluators[{i}].name"),
                    "主评人姓名不能为空",
                ));
            }
        }
        for (i, b) in self.details.branches.iter().enumerate() {
            if b.name.trim().is_empty() {
                v.push(FieldViolation::generic(
                    format!("spec.branches[{i}].name"),
                    "分支机构名称不能为空",
                ));
            }
            if !b.credit_code.is_empty()
                && let Err(e) = CreditCode::parse(&b.credit_code)
            {
                v.push(FieldViolation::generic(
                    format!("spec.branches[{i}].credit_code"),
                    e.message,
                ));
            }
        }
        for (i, c) in self.details.contacts.iter().enumerate() {
            if blank(&c.name) {
                v.push(FieldViolation::generic(
                    format!("spec.contacts[{i}].name"),
                    "联系人姓名不能为空",
                ));
            }
            // A sealed phone was checked when it was typed.
            if let Some(phone) = c.phone.clear()
                && !phone.is_empty()
                && !is_mobile(phone)
            {
                v.push(FieldViolation::generic(
                    format!("spec.contacts[{i}].phone"),
                    format!("手机号「{}」无效", mask_phone(phone)),
                ));
            }
        }
        for (i, r) in self.details.relations.iter().enumerate() {
            if r.party_code.trim().is_empty() {
                v.push(FieldViolation::generic(
                    format!("spec.relations[{i}].party_code"),
                    "关联方编码不能为空",
                ));
            }
            if r.to.is_some_and(|to| to < r.from) {
                v.push(FieldViolation::generic(
                    format!("spec.relations[{i}].to"),
                    "关联期间的截止日期早于起始日期",
                ));
            }
        }
        v
    }
}

/// An administrator's status action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Warn,
    Suspend { until: NaiveDate },
    Reinstate,
    Remove,
}

/// The status after `action`, or why it is not allowed (reason, message). 清退 is final.
pub fn transition(
    current: Status,
    action: Action,
    today: NaiveDate,
) -> Result<(Status, Option<NaiveDate>), (&'static str, String)> {
    use Status::*;
    match (current, action) {
        (Removed, _) => Err(("AGENCY_REMOVED", "机构已清退，状态不能再变更".into())),
        (Admitted | Warned, Action::Warn) => Ok((Warned, None)),
        (Suspended, Action::Warn) => Err((
            "STATUS_TRANSITION_INVALID",
            "暂停中的机构不能再警告，可先恢复".into(),
        )),
        (_, Action::Suspend { until }) if until <= today => Err((
            "SUSPEND_UNTIL_INVALID",
            format!("暂停截止日期 {until} 必须晚于今天 {today}"),
        )),
        (Admitted | Warned | Suspended, Action::Suspend { until }) => Ok((Suspended, Some(until))),
        (Admitted, Action::Reinstate) => Err((
            "STATUS_TRANSITION_INVALID",
            "机构已是入库状态，无需恢复".into(),
        )),
        (Warned | Suspended, Action::Reinstate) => Ok((Admitted, None)),
        (Admitted | Warned | Suspended, Action::Remove) => Ok((Removed, None)),
    }
}

/// The status a caller sees on `today`: a suspension lapses after its date; the qualification
/// expires by itself after the batch's period (docs/DOMAIN.md "Admission and records": 资格到期
/// follows from the batch period, computed on read).
pub fn effective_status(
    agency: &Agency,
    qualified_to: NaiveDate,
    today: NaiveDate,
) -> EffectiveStatus {
    match agency.status {
        Status::Removed => EffectiveStatus::Removed,
        _ if today > qualified_to => EffectiveStatus::Expired,
        Status::Suspended if agency.suspended_until.is_some_and(|u| u > today) => {
            EffectiveStatus::Suspended
        }
        Status::Suspended | Status::Admitted => EffectiveStatus::Admitted,
        Status::Warned => EffectiveStatus::Warned,
    }
}

/// The status a grade action moves an agency to on `today`
/// (docs/DOMAIN.md "Rating and credit grades": the grade acts by itself — warning, suspension for
/// N months, removal): a warning only warns an admitted agency; a suspension applies to an
/// admitted or warned one, until `today` plus the months; removal applies to any agency not yet
/// removed. `None` = nothing to change (the agency is already there or further).
pub fn grade_action_target(
    current: Status,
    action: super::rules::Action,
    today: NaiveDate,
) -> Option<(Status, Option<NaiveDate>)> {
    use super::rules::Action;
    match action {
        Action::None => None,
        Action::Warning if current == Status::Admitted => Some((Status::Warned, None)),
        Action::Suspend { months } if matches!(current, Status::Admitted | Status::Warned) => {
            Some((
                Status::Suspended,
                today.checked_add_months(chrono::Months::new(months)),
            ))
        }
        Action::Remove if current != Status::Removed => Some((Status::Removed, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grade_actions_only_ever_tighten_an_agency_status() {
        use super::super::rules::Action;
        let today = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        assert_eq!(
            grade_action_target(Status::Admitted, Action::Warning, today),
            Some((Status::Warned, None))
        );
        assert_eq!(
            grade_action_target(Status::Warned, Action::Warning, today),
            None
        );
        assert_eq!(
            grade_action_target(Status::Warned, Action::Suspend { months: 1 }, today),
            Some((Status::Suspended, NaiveDate::from_ymd_opt(2026, 2, 28)))
        );
        assert_eq!(
            grade_action_target(Status::Suspended, Action::Suspend { months: 6 }, today),
            None
        );
        assert_eq!(
            grade_action_target(Status::Suspended, Action::Remove, today),
            Some((Status::Removed, None))
        );
        assert_eq!(
            grade_action_target(Status::Removed, Action::Remove, today),
            None
        );
        assert_eq!(
            grade_action_target(Status::Admitted, Action::None, today),
            None
        );
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn lifecycle_moves_and_removal_is_final() {
        let today = d("2026-06-01");
        assert_eq!(
            transition(Status::Admitted, Action::Warn, today).unwrap().0,
            Status::Warned
        );
        let (s, until) = transition(
            Status::Warned,
            Action::Suspend {
                until: d("2026-12-01"),
            },
            today,
        )
        .unwrap();
        assert_eq!((s, until), (Status::Suspended, Some(d("2026-12-01"))));
        assert_eq!(
            transition(Status::Suspended, Action::Reinstate, today)
                .unwrap()
                .0,
            Status::Admitted
        );
        assert_eq!(
            transition(Status::Warned, Action::Remove, today).unwrap().0,
            Status::Removed
        );
        for action in [
            Action::Warn,
            Action::Reinstate,
            Action::Remove,
            Action::Suspend {
                until: d("2027-01-01"),
            },
        ] {
            assert_eq!(
                transition(Status::Removed, action, today).unwrap_err().0,
                "AGENCY_REMOVED"
            );
        }
        assert_eq!(
            transition(Status::Admitted, Action::Suspend { until: today }, today)
                .unwrap_err()
                .0,
            "SUSPEND_UNTIL_INVALID"
        );
        assert!(transition(Status::Admitted, Action::Reinstate, today).is_err());
    }

    fn agency(status: Status, until: Option<&str>) -> Agency {
        Agency {
            spec: AgencySpec {
                credit_code: CreditCode::parse("91350100M000100Y43").unwrap(),
                name: "某会计师事务所".into(),
                agency_type: AgencyType::AccountingFirm,
                legal_representative: "张三".into(),
                details: Details::default(),
                scopes: vec![Scope::Evaluation],
                admission_batch_id: 1,
            },
            status,
            suspended_until: until.map(d),
            version: 1,
            changed_by: "u".into(),
            changed_at: Default::default(),
        }
    }

    #[test]
    fn qualification_expires_by_itself_and_suspensions_lapse() {
        let end = d("2022-12-31");
        assert_eq!(
            effective_status(&agency(Status::Admitted, None), end, d("2022-12-31")),
            EffectiveStatus::Admitted
        );
        assert_eq!(
            effective_status(&agency(Status::Admitted, None), end, d("2023-01-01")),
            EffectiveStatus::Expired
        );
        assert_eq!(
            effective_status(&agency(Status::Removed, None), end, d("2023-01-01")),
            EffectiveStatus::Removed
        );
        let suspended = agency(Status::Suspended, Some("2022-06-30"));
        assert_eq!(
            effective_status(&suspended, end, d("2022-06-29")),
            EffectiveStatus::Suspended
        );
        assert_eq!(
            effective_status(&suspended, end, d("2022-06-30")),
            EffectiveStatus::Admitted
        );
    }

    #[test]
    fn spec_needs_name_representative_and_scopes() {
        let mut a = agency(Status::Admitted, None).spec;
        assert!(a.violations().is_empty());
        a.name = " ".into();
        a.scopes = vec![];
        a.details.contacts.push(Person {
            name: "李四".into(),
            role: String::new(),
            phone: "12345".into(),
            email: Sealable::default(),
        });
        let fields: Vec<String> = a.violations().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            ["spec.name", "spec.scopes", "spec.contacts[0].phone"]
        );
    }

    #[test]
    fn a_person_is_stored_with_name_phone_and_email_sealed_and_old_records_still_read() {
        let sealed = Person {
            name: Sealable::Sealed {
                cipher: vec![0x01],
                masked: String::new(),
            },
            role: "项目经理".into(),
            phone: Sealable::Sealed {
                cipher: vec![0xab, 0xcd],
                masked: "138****5678".into(),
            },
            email: Sealable::Sealed {
                cipher: vec![0xef],
                masked: "l*@example.com".into(),
            },
        };
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(
            json,
            r#"{"name_enc":"01","role":"项目经理","phone_enc":"abcd","phone_masked":"138****5678","email_enc":"ef","email_masked":"l*@example.com"}"#
        );
        assert_eq!(serde_json::from_str::<Person>(&json).unwrap(), sealed);
        // Written before names, phones and emails were sealed: read in clear (and sealed by the
        // next write).
        let old: Person = serde_json::from_str(
            r#"{"name":"李某","role":"项目经理","phone":"13812345678","email":"li@example.com"}"#,
        )
        .unwrap();
        assert_eq!(old.name, Sealable::from("李某"));
        assert_eq!(old.phone, Sealable::from("13812345678"));
        assert_eq!(old.email, Sealable::from("li@example.com"));
        // None is ever written in clear; an empty one is.
        assert!(serde_json::to_string(&old).is_err());
        let phone_only = Person {
            phone: Sealable::default(),
            ..old.clone()
        };
        assert!(serde_json::to_string(&phone_only).is_err());
        let name_only = Person {
            phone: Sealable::default(),
            email: Sealable::default(),
            ..old.clone()
        };
        assert!(serde_json::to_string(&name_only).is_err());
        let none = Person {
            name: Sealable::default(),
            phone: Sealable::default(),
            email: Sealable::default(),
            ..old
        };
        let json = serde_json::to_string(&none).unwrap();
        assert!(json.contains(r#""phone":"""#), "{json}");
        assert!(json.contains(r#""email":"""#), "{json}");
        assert_eq!(serde_json::from_str::<Person>(&json).unwrap(), none);
    }

    #[test]
    fn a_lead_evaluator_is_stored_with_the_name_sealed_and_old_records_still_read() {
        let sealed = LeadEvaluator {
            name: Sealable::Sealed {
                cipher: vec![0xab],
                masked: String::new(),
            },
            qualifications: vec!["资产评估师".into()],
        };
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(json, r#"{"name_enc":"ab","qualifications":["资产评估师"]}"#);
        assert_eq!(
            serde_json::from_str::<LeadEvaluator>(&json).unwrap(),
            sealed
        );
        let old: LeadEvaluator =
            serde_json::from_str(r#"{"name":"王五","qualifications":[]}"#).unwrap();
        assert_eq!(old.name, Sealable::from("王五"));
        assert!(serde_json::to_string(&old).is_err());
    }
}
