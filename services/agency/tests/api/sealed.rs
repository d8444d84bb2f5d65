//! Personal data at rest (docs/SECURITY.md "Personal data at rest", "Key rotation"): people's
//! emails on agency records masked like their phones and sealed; people's names on agency
//! records and experts' names sealed yet shown in full; experts' birth dates encrypted (a row
//! stored before is sealed at startup from its 身份证号); and the re-encryption of
//! everything from AES-256-GCM under one key to SM4-GCM under another, after which look-ups by
//! blind index still work and nothing reads under the old key alone.

use diesel::prelude::*;
use pbm_agency::AppState;
use pbm_agency::store::schema::experts;
use pbm_proto::agency::v1 as pb;
use pbm_server::pii::{PiiAlgorithm, PiiCipher, TAG_SM4_GCM};
use pbm_testkit::TestDatabase;
use pbm_types::DivisionCode;
use tonic::Code;

use crate::common::*;

const EMAIL: &str = "lisi@example.com";
const EMAIL_MASKED: &str = "l***@example.com";
/// The key the data is written under before the rotation ([`pii`]'s), and the new one.
const KEY_A: [u8; 32] = [7u8; 32];
const KEY_B: [u8; 32] = [9u8; 32];

/// [`spec`] whose contact has an email.
fn spec_with_email(batch: i64) -> pb::AgencySpec {
    let mut s = spec(batch);
    s.contacts[0].email = EMAIL.into();
    s
}

async fn contact(app: &App, who: &Who) -> pb::Person {
    let r = app.req(
        who,
        pb::GetAgencyRequest {
            credit_code: CODE_A.into(),
        },
    );
    let agency = app
        .registry
        .clone()
        .get_agency(r)
        .await
        .unwrap()
        .into_inner();
    agency.agency.unwrap().spec.unwrap().contacts[0].clone()
}

type RawExpert = (
    i64,
    Vec<u8>,
    String,
    Vec<u8>,
    Option<Vec<u8>>,
    String,
    Option<Vec<u8>>,
);

/// Every expert's personal columns as stored: id, 身份证号, its blind index, phone, birth date,
/// name in clear (empty once sealed), name.
async fn raw_experts(app: &App) -> Vec<RawExpert> {
    app.state
        .db
        .read(|c| -> Result<Vec<RawExpert>, pbm_db::StoreError> {
            Ok(experts::table
                .order(experts::id.asc())
                .select((
                    experts::id,
                    experts::id_number_enc,
                    experts::id_number_index,
                    experts::phone_enc,
                    experts::birth_date_enc,
                    experts::name,
                    experts::name_enc,
                ))
                .load(c)?)
        })
        .await
        .unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The encrypted values (hex) of a stored agency record's people and lead evaluators.
fn sealed_values(details: &str) -> Vec<Vec<u8>> {
    let json: serde_json::Value = serde_json::from_str(details).unwrap();
    let mut out = Vec::new();
    for list in [
        "lead_evaluators",
        "contacts",
        "cooperating_experts",
        "other_staff",
    ] {
        for p in json[list].as_array().unwrap() {
            for key in ["name_enc", "phone_enc", "email_enc"] {
                if let Some(hex) = p[key].as_str() {
                    out.push(hex::decode(hex).unwrap());
                }
            }
        }
    }
    out
}

/// Emails: in full only to finance of this region reading one record, masked for everyone else
/// and in lists; never in clear at rest; a record stored with its email in clear is sealed at
/// startup.
async fn emails_are_masked_like_phones_and_sealed(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    let registered = app.register(spec_with_email(batch.id)).await.unwrap();
    let in_response = &registered.spec.unwrap().contacts[0];
    assert_eq!(
        in_response.email, EMAIL_MASKED,
        "a stored response is masked"
    );
    assert_eq!(contact(&app, &finance()).await.email, EMAIL);
    for who in [
        auditor(),
        province(),
        Who::finance(PROVINCE),
        as_agency(CODE_A),
    ] {
        assert_eq!(contact(&app, &who).await.email, EMAIL_MASKED, "{who:?}");
    }
    let listed = app
        .registry
        .clone()
        .list_agencies(app.fin(pb::ListAgenciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.agencies[0].spec.as_ref().unwrap().contacts[0].email,
        EMAIL_MASKED
    );
    let stored = stored_details(&app).await;
    assert!(!stored.contains("lisi"), "{stored}");
    assert!(stored.contains("email_enc"), "{stored}");

    // As stored before emails were sealed: read, and sealed when the service starts.
    let old = stored.replace(r#""email_enc""#, r#""ignored""#).replace(
        &format!(r#""email_masked":"{EMAIL_MASKED}""#),
        &format!(r#""email":"{EMAIL}""#),
    );
    assert!(old.contains(EMAIL), "{old}");
    set_stored_details(&app, old).await;
    assert_eq!(contact(&app, &auditor()).await.email, EMAIL_MASKED);
    AppState::open(
        app.state.db.clone(),
        DivisionCode::parse(REGION).unwrap(),
        pii(),
    )
    .await
    .unwrap();
    assert!(!stored_details(&app).await.contains("lisi"));
    assert_eq!(contact(&app, &finance()).await.email, EMAIL);
}

/// Birth dates: encrypted at rest (never the digits of the date in clear); a row stored before
/// they were encrypted is sealed at startup from its 身份证号, and the age cap still reads it.
async fn birth_dates_are_encrypted(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let id = id_number("19700315", "123");
    app.register_expert(expert_spec(&id)).await.unwrap();
    let rows = raw_experts(&app).await;
    let birth = rows[0].4.clone().expect("sealed on registration");
    for clear in ["1970-03-15", "19700315"] {
        assert!(!contains(&birth, clear));
    }
    assert_eq!(pii().decrypt(&birth).unwrap(), "1970-03-15");

    // A row as the migration leaves it: no birth date yet.
    app.state
        .db
        .write(|c| -> Result<usize, pbm_db::StoreError> {
            Ok(diesel::update(experts::table)
                .set(experts::birth_date_enc.eq(None::<Vec<u8>>))
                .execute(c)?)
        })
        .await
        .unwrap();
    let app = app.restart_with("2026-06-01", pii()).await;
    let birth = raw_experts(&app).await[0]
        .4
        .clone()
        .expect("sealed at startup");
    assert_eq!(pii().decrypt(&birth).unwrap(), "1970-03-15");
    let drawn = app.draw("T-BIRTH", 1).await.unwrap();
    assert_eq!(drawn.drawn.len(), 1);
}

/// The people's names of [`spec_with_people`], in the order [`names`] lists them.
const NAMES: [&str; 4] = ["赵某", "李某", "孙某", "周某"];

/// [`spec`] (lead evaluator 赵某, contact 李某) with a cooperating expert and a staff member.
fn spec_with_people(batch: i64) -> pb::AgencySpec {
    let person = |name: &str| pb::Person {
        name: name.into(),
        role: "造价".into(),
        phone: String::new(),
        email: String::new(),
    };
    pb::AgencySpec {
        cooperating_experts: vec![person("孙某")],
        other_staff: vec![person("周某")],
        ..spec(batch)
    }
}

/// Every name on an agency as a response shows it: lead evaluators, contacts, cooperating
/// experts, staff.
fn names(a: &pb::Agency) -> Vec<String> {
    let s = a.spec.as_ref().unwrap();
    s.lead_evaluators
        .iter()
        .map(|e| e.name.clone())
        .chain(
            s.contacts
                .iter()
                .chain(&s.cooperating_experts)
                .chain(&s.other_staff)
                .map(|p| p.name.clone()),
        )
        .collect()
}

async fn get_agency(app: &App, who: &Who) -> pb::Agency {
    let r = app.req(
        who,
        pb::GetAgencyRequest {
            credit_code: CODE_A.into(),
        },
    );
    let got = app.registry.clone().get_agency(r).await.unwrap();
    got.into_inner().agency.unwrap()
}

/// Names of people on agency records: never in clear at rest, shown in full to every reader
/// (one record, a list, a mutation's response); a record stored with names in clear reads and is
/// sealed at startup.
async fn names_on_agency_records_are_sealed(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    let registered = app.register(spec_with_people(batch.id)).await.unwrap();
    assert_eq!(names(&registered), NAMES, "a mutation's response");
    for who in [finance(), auditor(), province(), as_agency(CODE_A)] {
        assert_eq!(names(&get_agency(&app, &who).await), NAMES, "{who:?}");
    }
    let listed = app
        .registry
        .clone()
        .list_agencies(app.fin(pb::ListAgenciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&listed.agencies[0]), NAMES, "a list");
    let stored = stored_details(&app).await;
    for name in NAMES {
        assert!(!stored.contains(name), "{name} in {stored}");
    }
    let sealed = sealed_values(&stored);
    assert_eq!(sealed.len(), 5, "4 names and the contact's phone");
    let opened: Vec<String> = sealed.iter().map(|v| pii().decrypt(v).unwrap()).collect();
    for name in NAMES {
        assert!(opened.iter().any(|o| o == name), "{name}");
    }

    // As stored before names were sealed: read, and sealed when the service starts.
    let mut old: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let mut clear = NAMES.iter();
    for list in [
        "lead_evaluators",
        "contacts",
        "cooperating_experts",
        "other_staff",
    ] {
        for p in old[list].as_array_mut().unwrap() {
            let p = p.as_object_mut().unwrap();
            assert!(p.remove("name_enc").is_some());
            p.insert("name".into(), (*clear.next().unwrap()).into());
        }
    }
    set_stored_details(&app, old.to_string()).await;
    assert!(stored_details(&app).await.contains("孙某"));
    assert_eq!(names(&get_agency(&app, &auditor()).await), NAMES);
    AppState::open(
        app.state.db.clone(),
        DivisionCode::parse(REGION).unwrap(),
        pii(),
    )
    .await
    .unwrap();
    let resealed = stored_details(&app).await;
    for name in NAMES {
        assert!(!resealed.contains(name), "{name} in {resealed}");
    }
    assert_eq!(sealed_values(&resealed).len(), 5);
    assert_eq!(names(&get_agency(&app, &finance()).await), NAMES);
    assert_eq!(
        get_agency(&app, &finance()).await.version,
        1,
        "not a change"
    );
}

async fn get_expert(app: &App, id: i64) -> pb::Expert {
    let r = pb::GetExpertRequest { expert_id: id };
    let got = app.registry.clone().get_expert(app.fin(r)).await.unwrap();
    got.into_inner().expert.unwrap()
}

/// Experts' names: encrypted at rest (the clear column left empty), shown in full; a row stored
/// before names were encrypted (name in clear, none sealed) is sealed at startup.
async fn expert_names_are_encrypted(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let registered = app
        .register_expert(expert_spec(&id_number("19700315", "123")))
        .await
        .unwrap();
    assert_eq!(registered.spec.as_ref().unwrap().name, "张专家");
    let row = raw_experts(&app).await.remove(0);
    assert_eq!(row.5, "", "no name in clear");
    let sealed = row.6.expect("sealed on registration");
    assert!(!contains(&sealed, "张专家"));
    assert_eq!(pii().decrypt(&sealed).unwrap(), "张专家");
    assert_eq!(get_expert(&app, row.0).await.spec.unwrap().name, "张专家");
    let listed = app
        .registry
        .clone()
        .list_experts(app.fin(pb::ListExpertsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.experts[0].spec.as_ref().unwrap().name, "张专家");

    // A row as the migration leaves it: the name in clear, none sealed.
    app.state
        .db
        .write(|c| -> Result<usize, pbm_db::StoreError> {
            Ok(diesel::update(experts::table)
                .set((
                    experts::name.eq("张专家"),
                    experts::name_enc.eq(None::<Vec<u8>>),
                ))
                .execute(c)?)
        })
        .await
        .unwrap();
    let app = app.restart_with("2026-06-01", pii()).await;
    let row = raw_experts(&app).await.remove(0);
    assert_eq!(row.5, "", "the clear column emptied at startup");
    assert_eq!(pii().decrypt(&row.6.unwrap()).unwrap(), "张专家");
    let got = get_expert(&app, row.0).await;
    assert_eq!(
        (got.spec.unwrap().name.as_str(), got.version),
        ("张专家", 1)
    );
}

/// The key rotation of docs/SECURITY.md: data written under AES-256-GCM with key A; the service
/// switched to SM4-GCM with key B (A as the previous key) still reads it and refuses a duplicate
/// person; `reencrypt` rewrites every value and blind index in batches, a second run changes
/// nothing; afterwards everything reads under B alone and nothing under A alone.
async fn reencryption_moves_everything_to_sm4_under_a_new_key(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec_with_email(batch.id)).await.unwrap();
    // More experts than one batch of the re-encryption holds.
    let count = usize::try_from(pbm_agency::REENCRYPT_BATCH).unwrap() + 5;
    let ids: Vec<String> = (0..count)
        .map(|n| {
            id_number(
                &format!("1970{:02}{:02}", n % 12 + 1, n % 28 + 1),
                &format!("{:03}", n),
            )
        })
        .collect();
    for id in &ids {
        app.register_expert(expert_spec(id)).await.unwrap();
    }

    let old_key = PiiCipher::new(PiiAlgorithm::Aes256Gcm, &KEY_A, None);
    let rotated = PiiCipher::new(PiiAlgorithm::Sm4Gcm, &KEY_B, Some(&KEY_A));
    let app = app.restart_with("2026-06-01", rotated.clone()).await;
    // Before the re-encryption: the old values read, and the person stored under key A's
    // blind index is still found.
    assert_eq!(contact(&app, &finance()).await.email, EMAIL);
    refused(
        app.register_expert(expert_spec(&ids[0])).await,
        Code::AlreadyExists,
        "EXPERT_EXISTS",
    );

    let first = pbm_agency::reencrypt(&app.state.db, &rotated)
        .await
        .unwrap();
    assert_eq!((first.experts, first.experts_rewritten), (count, count));
    assert_eq!(first.indexes, count);
    assert_eq!(
        first.values,
        count * 4 + 4,
        "name, 身份证号, phone, birth date; lead evaluator's name, contact's name, phone, email"
    );
    assert_eq!((first.agencies, first.agencies_rewritten), (1, 1));
    let second = pbm_agency::reencrypt(&app.state.db, &rotated)
        .await
        .unwrap();
    assert_eq!(
        (
            second.experts_rewritten,
            second.agencies_rewritten,
            second.values,
            second.indexes
        ),
        (0, 0, 0, 0),
        "{second}"
    );

    // Under key B alone everything reads and is SM4-GCM; under key A alone nothing does.
    let only_b = PiiCipher::new(PiiAlgorithm::Sm4Gcm, &KEY_B, None);
    let rows = raw_experts(&app).await;
    assert_eq!(rows.len(), count);
    for (row, id) in rows.iter().zip(&ids) {
        let birth = row.4.as_ref().unwrap();
        let name = row.6.as_ref().unwrap();
        for value in [&row.1, &row.3, birth, name] {
            assert_eq!(value[0], TAG_SM4_GCM);
            assert!(old_key.decrypt(value).is_err(), "expert {}", row.0);
        }
        assert_eq!(only_b.decrypt(&row.1).unwrap(), *id);
        assert_eq!(row.2, only_b.blind_index(id), "HMAC-SM3 under key B");
        assert!(!contains(&row.1, &id[..10]));
    }
    let sealed = sealed_values(&stored_details(&app).await);
    assert_eq!(sealed.len(), 4);
    for value in &sealed {
        assert!(old_key.decrypt(value).is_err());
        assert!(only_b.decrypt(value).is_ok());
    }

    // Served with key B alone: reads, reveals, look-ups by blind index and draws work.
    let app = app.restart_with("2026-06-01", only_b).await;
    let person = contact(&app, &finance()).await;
    assert_eq!(
        (person.phone.as_str(), person.email.as_str()),
        ("13812345678", EMAIL)
    );
    assert_eq!(contact(&app, &auditor()).await.email, EMAIL_MASKED);
    assert_eq!(person.name, "李某");
    assert_eq!(
        get_expert(&app, rows[1].0).await.spec.unwrap().name,
        "张专家"
    );
    let reveal = pb::RevealExpertContactRequest {
        expert_id: rows[1].0,
        reason: "通知参加评审".into(),
    };
    let full = app
        .registry
        .clone()
        .reveal_expert_contact(app.fin(reveal))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(full.id_number, ids[1]);
    refused(
        app.register_expert(expert_spec(&ids[2])).await,
        Code::AlreadyExists,
        "EXPERT_EXISTS",
    );
    assert_eq!(app.draw("T-ROTATED", 3).await.unwrap().drawn.len(), 3);
}

pbm_testkit::backend_tests! {
    sealed_emails => emails_are_masked_like_phones_and_sealed;
    sealed_birth_dates => birth_dates_are_encrypted;
    sealed_names => names_on_agency_records_are_sealed;
    sealed_expert_names => expert_names_are_encrypted;
    sealed_reencryption => reencryption_moves_everything_to_sm4_under_a_new_key;
}
