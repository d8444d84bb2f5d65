//! Pool rules (入库与评级规则): configuration per fiscal year, national defaults until set,
//! versioned, validated, and in force for the entry of experts.

use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn pool_rules_are_configuration_per_year(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let get = |who: Who| {
        let mut c = app.registry.clone();
        let r = app.req(&who, pb::GetPoolRulesRequest { fiscal_year: 2026 });
        async move {
            c.get_pool_rules(r)
                .await
                .map(|r| r.into_inner().rules.unwrap())
        }
    };
    let defaults = get(finance()).await.unwrap();
    assert_eq!(defaults.version, 0, "national defaults until set");
    let mut json: serde_json::Value = serde_json::from_str(&defaults.rules_json).unwrap();
    assert_eq!(json["expert_entry"]["age_cap"], 70);
    // One province caps experts' age at 68.
    json["expert_entry"]["age_cap"] = 68.into();
    let set = |expected: i64, rules: String, who: Who| {
        let mut c = app.registry.clone();
        let r = app.req(
            &who,
            pb::SetPoolRulesRequest {
                request_id: app.rid(),
                fiscal_year: 2026,
                expected_version: expected,
                rules_json: rules,
            },
        );
        async move {
            c.set_pool_rules(r)
                .await
                .map(|r| r.into_inner().rules.unwrap())
        }
    };
    assert_eq!(
        set(0, json.to_string(), auditor())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let v1 = set(0, json.to_string(), finance()).await.unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(
        set(0, json.to_string(), finance())
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    let mut broken = json.clone();
    broken["rubric"][0]["weight"] = "10".into();
    let err = set(1, broken.to_string(), finance()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        fields(&err).iter().all(|f| f.starts_with("rules_json.")),
        "{:?}",
        fields(&err)
    );
    assert_eq!(
        set(1, "{".into(), finance()).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // Readers of the pool see the rules in force.
    assert_eq!(get(as_agency(CODE_A)).await.unwrap().version, 1);

    // A 69-year-old senior expert: allowed by the national default (70), refused under 68.
    let err = app
        .register_expert(expert_spec(&id_number("19570101", "003")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ENTRY_RULES_NOT_MET");
    assert!(
        err.message().contains("2026年度规则第1版"),
        "{}",
        err.message()
    );
}

pbm_testkit::backend_tests! {
    pool_rules => pool_rules_are_configuration_per_year;
}
