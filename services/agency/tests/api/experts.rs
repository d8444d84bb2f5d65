//! The expert pool: personal data encrypted at rest and masked, revealed to finance with a
//! reason and audited; the entry rules; the status lifecycle with history; who sees whom.

use pbm_auth::Role;
use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn experts_keep_personal_data_encrypted_and_masked(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let taxonomy = app
        .registry
        .clone()
        .get_field_taxonomy(app.fin(pb::GetFieldTaxonomyRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(taxonomy.fields.len() >= 20);
    let law = taxonomy
        .fields
        .iter()
        .find(|f| f.name == "法律")
        .expect("法律 in the taxonomy")
        .code
        .clone();
    let id = id_number("19700315", "123");
    let mut spec = expert_spec(&id);
    spec.fields = vec![law];
    let e = app.register_expert(spec.clone()).await.unwrap();
    let shown = e.spec.unwrap();
    assert_eq!(
        shown.id_number,
        format!("{}***********{}", &id[..3], &id[14..])
    );
    assert_eq!(shown.phone, "139****1111");
    assert_eq!(e.birth_date, "", "never beside the masked number");
    assert_eq!(e.status, pb::ExpertStatus::Active as i32);

    // Nothing in clear at rest.
    let rows = app
        .state
        .db
        .read(|c| pbm_agency::store::experts::list_experts(c, &Default::default(), 0, 10))
        .await
        .unwrap()
        .0;
    assert!(!String::from_utf8_lossy(&rows[0].id_number_enc).contains(&id[..10]));
    // One person, one record.
    refused(
        app.register_expert(spec).await,
        Code::AlreadyExists,
        "EXPERT_EXISTS",
    );

    // The full values: finance only, with a reason, each read audited.
    let reveal = |who: Who, reason: &str| {
        let mut c = app.registry.clone();
        let r = app.req(
            &who,
            pb::RevealExpertContactRequest {
                expert_id: e.id,
                reason: reason.into(),
            },
        );
        async move { c.reveal_expert_contact(r).await }
    };
    let full = reveal(finance(), "通知参加评审")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (full.id_number.as_str(), full.phone.as_str()),
        (id.as_str(), "13900001111")
    );
    assert_eq!(
        reveal(finance(), " ").await.unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        reveal(auditor(), "核查").await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let audit = app
        .state
        .db
        .read(move |c| pbm_db::platform::audit_of(c, "expert", &e.id.to_string()))
        .await
        .unwrap();
    let reveals: Vec<&str> = audit
        .iter()
        .filter(|a| a.method == "RevealExpertContact")
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(reveals, ["OK", "REASON_REQUIRED", "ROLE_NOT_ALLOWED"]);
}

async fn experts_must_meet_the_entry_rules(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let mut junior = expert_spec(&id_number("19800101", "001"));
    junior.title = pb::TitleLevel::Intermediate as i32;
    junior.years_in_field = 7;
    let err = refused(
        app.register_expert(junior).await,
        Code::FailedPrecondition,
        "ENTRY_RULES_NOT_MET",
    );
    assert_eq!(fields(&err), ["spec.years_in_field"]);
    let old = app
        .register_expert(expert_spec(&id_number("19500101", "002")))
        .await
        .unwrap_err();
    assert_eq!(fields(&old), ["spec.id_number"], "over the age cap of 70");
    let mut bad = expert_spec("110101199003071235");
    bad.fields = vec!["NOPE".into()];
    bad.phone = "123".into();
    let err = app.register_expert(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["spec.id_number", "spec.phone"]);
    let listed = app
        .registry
        .clone()
        .list_experts(app.fin(pb::ListExpertsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.page.unwrap().total_size, 0, "nothing was written");
}

async fn expert_lifecycle_and_roles(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let e = app
        .register_expert(expert_spec(&id_number("19750505", "010")))
        .await
        .unwrap();
    let change = |to: pb::ExpertStatus, version: i64| {
        let mut c = app.registry.clone();
        let r = app.fin(pb::ChangeExpertStatusRequest {
            request_id: app.rid(),
            expert_id: e.id,
            expected_version: version,
            status: to as i32,
            reason: "年度考评".into(),
        });
        async move { c.change_expert_status(r).await }
    };
    assert_eq!(
        change(pb::ExpertStatus::UnderReview, 1)
            .await
            .unwrap()
            .into_inner()
            .expert
            .unwrap()
            .status,
        pb::ExpertStatus::UnderReview as i32
    );
    assert_eq!(
        change(pb::ExpertStatus::Exited, 1)
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    change(pb::ExpertStatus::Exited, 2).await.unwrap();
    let after = change(pb::ExpertStatus::Active, 3).await.unwrap_err();
    assert_eq!(reason(&after), "EXPERT_EXITED");
    let history = app
        .registry
        .clone()
        .list_expert_status_history(app.fin(pb::ListExpertStatusHistoryRequest { expert_id: e.id }))
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert_eq!(
        history
            .iter()
            .map(|c| c.to_status.as_str())
            .collect::<Vec<_>>(),
        ["active", "under_review", "exited"]
    );

    // An expert sees only themself; agencies and departments see no experts.
    let expert = as_expert(e.id);
    let get = |who: Who, id: i64| {
        let mut c = app.registry.clone();
        let r = app.req(&who, pb::GetExpertRequest { expert_id: id });
        async move { c.get_expert(r).await }
    };
    assert!(get(expert.clone(), e.id).await.is_ok());
    assert_eq!(
        get(expert, e.id + 1).await.unwrap_err().code(),
        Code::NotFound
    );
    for role in [
        Role::Agency,
        Role::Department,
        Role::BudgetUnit,
        Role::Public,
    ] {
        let err = get(of_role(role).with_agency(CODE_A), e.id)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
    }
    assert!(get(auditor(), e.id).await.is_ok());
}

pbm_testkit::backend_tests! {
    experts_pii => experts_keep_personal_data_encrypted_and_masked;
    experts_entry => experts_must_meet_the_entry_rules;
    experts_lifecycle => expert_lifecycle_and_roles;
}
