//! Personal data (docs/AGENCY.md): people's phones on agency records shown in full only to
//! finance of this region reading one record, sealed at rest (records stored in clear still read
//! and are sealed at startup), never in clear in the responses stored for replay, and no birth
//! date beside a masked 身份证号.

use pbm_agency::AppState;
use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use pbm_types::DivisionCode;
use prost::Message;

use crate::common::*;

const PHONE: &str = "13812345678";
const MASKED: &str = "138****5678";

/// [`spec`] with a cooperating expert and a staff member, each with a phone.
fn spec_with_people(batch: i64) -> pb::AgencySpec {
    let person = |name: &str, phone: &str| pb::Person {
        name: name.into(),
        role: "造价".into(),
        phone: phone.into(),
        email: String::new(),
    };
    pb::AgencySpec {
        cooperating_experts: vec![person("孙某", "13911112222")],
        other_staff: vec![person("周某", "13733334444"), person("吴某", "")],
        ..spec(batch)
    }
}

/// Every phone of an agency as a response shows it: contacts, cooperating experts, staff.
fn phones(a: &pb::Agency) -> Vec<String> {
    let s = a.spec.as_ref().unwrap();
    s.contacts
        .iter()
        .chain(&s.cooperating_experts)
        .chain(&s.other_staff)
        .map(|p| p.phone.clone())
        .collect()
}

const FULL: [&str; 4] = [PHONE, "13911112222", "13733334444", ""];
const ALL_MASKED: [&str; 4] = [MASKED, "139****2222", "137****4444", ""];

async fn get(app: &App, who: &Who) -> pb::Agency {
    let r = app.req(
        who,
        pb::GetAgencyRequest {
            credit_code: CODE_A.into(),
        },
    );
    app.registry
        .clone()
        .get_agency(r)
        .await
        .unwrap()
        .into_inner()
        .agency
        .unwrap()
}

/// (a) GetAgency shows phones in full to finance of this region only; auditors, the province,
/// finance of the enclosing region and the agency itself see them masked; lists mask them for
/// everyone.
async fn phones_in_full_only_to_local_finance(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    app.register(spec_with_people(batch.id)).await.unwrap();
    assert_eq!(phones(&get(&app, &finance()).await), FULL);
    for who in [
        auditor(),
        province(),
        Who::finance(PROVINCE),
        as_agency(CODE_A),
    ] {
        assert_eq!(phones(&get(&app, &who).await), ALL_MASKED, "{who:?}");
    }
    for who in [finance(), auditor(), province(), as_agency(CODE_A)] {
        let r = app.req(&who, pb::ListAgenciesRequest::default());
        let listed = app
            .registry
            .clone()
            .list_agencies(r)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(phones(&listed.agencies[0]), ALL_MASKED, "{who:?}");
    }
}

/// (b) Phones are encrypted at rest; a record stored in clear (before phones were sealed) still
/// reads, and is sealed when the service starts.
async fn phones_are_encrypted_at_rest(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    app.register(spec_with_people(batch.id)).await.unwrap();
    let stored = stored_details(&app).await;
    for phone in FULL.iter().filter(|p| !p.is_empty()) {
        assert!(!stored.contains(&phone[3..]), "{phone} in clear: {stored}");
    }
    assert!(stored.contains("phone_enc"), "{stored}");

    // A record as stored before phones were sealed.
    let old = r#"{"lead_evaluators":[{"name":"赵某","qualifications":["注册会计师"]}],"branches":[],"cooperating_experts":[],"other_staff":[],"contacts":[{"name":"李某","role":"项目经理","phone":"13812345678","email":""}],"relations":[]}"#;
    set_stored_details(&app, old).await;
    assert_eq!(phones(&get(&app, &finance()).await), [PHONE]);
    assert_eq!(phones(&get(&app, &auditor()).await), [MASKED]);
    // Starting the service seals it; it reads as before.
    AppState::open(
        app.state.db.clone(),
        DivisionCode::parse(REGION).unwrap(),
        pii(),
    )
    .await
    .unwrap();
    let stored = stored_details(&app).await;
    assert!(!stored.contains("12345678"), "{stored}");
    assert_eq!(phones(&get(&app, &finance()).await), [PHONE]);
    assert_eq!(phones(&get(&app, &auditor()).await), [MASKED]);
    let version = get(&app, &finance()).await.version;
    assert_eq!(version, 1, "sealing is not a change of the record");

    // A write of a record stored in clear seals it too.
    set_stored_details(&app, old).await;
    app.act(CODE_A, 1, pb::AgencyAction::Warn, "")
        .await
        .unwrap();
    assert!(!stored_details(&app).await.contains("12345678"));
    assert_eq!(phones(&get(&app, &finance()).await), [PHONE]);
}

/// The response stored for replay of request `request_id`.
async fn stored_response(app: &App, request_id: &str) -> Vec<u8> {
    let id = request_id.to_owned();
    app.state
        .db
        .read(move |c| pbm_db::platform::find_idempotency(c, "pbm.agency", &id))
        .await
        .unwrap()
        .expect("an idempotency record")
        .response
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// (c) The responses of agency and expert mutations — stored for replay — carry personal data
/// only masked (finance reads the phones with GetAgency, an expert's with RevealExpertContact),
/// and a replay answers the same.
async fn stored_responses_carry_no_personal_data_in_clear(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    let mut registry = app.registry.clone();

    let register = pb::RegisterAgencyRequest {
        request_id: app.rid(),
        spec: Some(spec_with_people(batch.id)),
    };
    let first = registry
        .register_agency(app.fin(register.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(phones(first.agency.as_ref().unwrap()), ALL_MASKED);
    let replay = registry
        .register_agency(app.fin(register.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay, first, "a replay answers the first response");
    let update = pb::UpdateAgencyRequest {
        request_id: app.rid(),
        expected_version: 1,
        spec: Some(spec_with_people(batch.id)),
    };
    registry
        .update_agency(app.fin(update.clone()))
        .await
        .unwrap();
    let status = pb::ChangeAgencyStatusRequest {
        request_id: app.rid(),
        credit_code: CODE_A.into(),
        expected_version: 2,
        action: pb::AgencyAction::Warn as i32,
        reason: "年度考评".into(),
        until: String::new(),
    };
    registry
        .change_agency_status(app.fin(status.clone()))
        .await
        .unwrap();
    for rid in [&register.request_id, &update.request_id, &status.request_id] {
        let stored = stored_response(&app, rid).await;
        for phone in FULL.iter().filter(|p| !p.is_empty()) {
            assert!(
                !contains(&stored, phone),
                "{phone} stored in clear for {rid}"
            );
        }
        // The stored response is the agency the RPC answers with.
        let agency = pb::Agency::decode(stored.as_slice()).unwrap();
        assert_eq!(phones(&agency), ALL_MASKED, "{rid}");
    }

    let id = id_number("19700315", "123");
    let expert = pb::RegisterExpertRequest {
        request_id: app.rid(),
        spec: Some(expert_spec(&id)),
    };
    let e = registry
        .register_expert(app.fin(expert.clone()))
        .await
        .unwrap()
        .into_inner()
        .expert
        .unwrap();
    let mut changed = expert_spec("");
    changed.phone = "13900002222".into();
    let update = pb::UpdateExpertRequest {
        request_id: app.rid(),
        expert_id: e.id,
        expected_version: 1,
        spec: Some(changed),
    };
    registry
        .update_expert(app.fin(update.clone()))
        .await
        .unwrap();
    let status = pb::ChangeExpertStatusRequest {
        request_id: app.rid(),
        expert_id: e.id,
        expected_version: 2,
        status: pb::ExpertStatus::UnderReview as i32,
        reason: "年度考评".into(),
    };
    registry
        .change_expert_status(app.fin(status.clone()))
        .await
        .unwrap();
    for rid in [&expert.request_id, &update.request_id, &status.request_id] {
        let stored = stored_response(&app, rid).await;
        for secret in [
            id.as_str(),
            &id[6..14],
            "1970-03-15",
            "13900001111",
            "13900002222",
        ] {
            assert!(!contains(&stored, secret), "{secret} stored for {rid}");
        }
    }
}

/// (d) A masked 身份证号 comes without the birth date (which beside it narrows the number to
/// about ten people) and never shows its birth-date digits, on every read and response.
async fn no_birth_date_beside_a_masked_id_number(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let id = id_number("19700315", "123");
    let registered = app.register_expert(expert_spec(&id)).await.unwrap();
    let got = app
        .registry
        .clone()
        .get_expert(app.fin(pb::GetExpertRequest {
            expert_id: registered.id,
        }))
        .await
        .unwrap()
        .into_inner()
        .expert
        .unwrap();
    let listed = app
        .registry
        .clone()
        .list_experts(app.fin(pb::ListExpertsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .experts;
    for e in [&registered, &got, &listed[0]] {
        assert_eq!(e.birth_date, "", "no birth date beside the masked number");
        let shown = &e.spec.as_ref().unwrap().id_number;
        assert_eq!(shown, &format!("140***********{}", &id[14..]));
        assert!(!shown.contains("19700315"));
    }
}

pbm_testkit::backend_tests! {
    personal_phones_by_role => phones_in_full_only_to_local_finance;
    personal_phones_at_rest => phones_are_encrypted_at_rest;
    personal_stored_responses => stored_responses_carry_no_personal_data_in_clear;
    personal_no_birth_date => no_birth_date_beside_a_masked_id_number;
}
