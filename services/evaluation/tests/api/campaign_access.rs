//! CampaignService's access rules: every RPC as every role, of this region, of another city
//! and of the enclosing province — who may call what, nothing changed by a refused call, and no
//! campaign leaked to a caller who may not see it (docs/EVALUATION.md "Roles").

use pbm_auth::Role;
use pbm_proto::evaluation::v1 as ev;
use tonic::{Code, Status};

use crate::campaigns::{
    audit, bands, close, get, get_rules, list, no, open, open_request, refresh, reopen, set_rules,
    statistics,
};
use crate::common::*;
use crate::sheets::listed;

/// Every CampaignService RPC as `who`, each with a request finance's would succeed with.
async fn every_rpc(
    app: &App,
    who: &Who,
    c: &ev::Campaign,
) -> Vec<(&'static str, Result<(), Status>)> {
    let rules = bands(app, 0, ["80", "70", "60"]).await;
    let next_year = ev::OpenCampaignRequest {
        fiscal_year: FY + 1,
        ..open_request(&app.rid(), "2027-12-31")
    };
    let all = (true, true, true);
    vec![
        ("GetEvaluationRules", get_rules(app, who).await.map(drop)),
        (
            "SetEvaluationRules",
            set_rules(app, who, &app.rid(), rules).await.map(drop),
        ),
        ("OpenCampaign", open(app, who, next_year).await.map(drop)),
        (
            "RefreshExecution",
            refresh(app, who, &app.rid(), c.id).await.map(drop),
        ),
        (
            "CloseCampaign",
            close(app, who, c.id, c.revision).await.map(drop),
        ),
        ("GetCampaign", get(app, who, c.id).await.map(drop)),
        ("ListCampaigns", list(app, who, 0).await.map(drop)),
        (
            "ReopenUnit",
            reopen(app, who, (c.id, UNIT, "2027-04-10", "延期"))
                .await
                .map(drop),
        ),
        (
            "GetSelfEvaluationStatistics",
            statistics(app, who, c.id, all).await.map(drop),
        ),
    ]
}

async fn who_may_call_what(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.approved("P001", "1000000").await;
    let c = app.open_campaign().await.unwrap();
    let reads = ["GetEvaluationRules", "GetCampaign", "ListCampaigns"];
    let overseers = [reads.as_slice(), &["GetSelfEvaluationStatistics"]].concat();
    let roles: [(Who, &[&str]); 7] = [
        (department(), &reads),
        (unit(), &reads),
        (agency("91140500MA0K000001"), &["GetEvaluationRules"]),
        (
            Who::new(Role::Expert, REGION).with_expert("E001"),
            &["GetEvaluationRules"],
        ),
        (Who::new(Role::Public, REGION), &[]),
        // Auditors and the province read, and write nothing.
        (auditor(), &overseers),
        (province(), &overseers),
    ];
    for (who, allowed) in roles {
        for (rpc, result) in every_rpc(&app, &who, &c).await {
            match result {
                Ok(()) => assert!(allowed.contains(&rpc), "{rpc} allowed to {who:?}"),
                Err(e) => {
                    assert!(!allowed.contains(&rpc), "{rpc} refused to {who:?}: {e:?}");
                    let got = (e.code(), reason(&e));
                    assert_eq!(
                        got,
                        (Code::PermissionDenied, "ROLE_NOT_ALLOWED".into()),
                        "{rpc} {who:?}"
                    );
                }
            }
        }
    }
    // Finance of another city: everything refused; of the enclosing province: reads as an
    // auditor, writes nothing.
    for (rpc, result) in every_rpc(&app, &Who::finance("140600"), &c).await {
        let e = result.expect_err(rpc);
        assert_eq!(
            (e.code(), reason(&e)),
            (Code::PermissionDenied, "REGION_NOT_ALLOWED".into()),
            "{rpc}"
        );
    }
    for (rpc, result) in every_rpc(&app, &Who::finance("140000"), &c).await {
        match result {
            Ok(()) => assert!(overseers.contains(&rpc), "{rpc}"),
            Err(e) => assert_eq!(reason(&e), "REGION_NOT_ALLOWED", "{rpc}: {e:?}"),
        }
    }
    // Nothing changed: the rules, the one campaign, the unit's deadline; no write audited OK.
    assert_eq!(get_rules(&app, &finance()).await.unwrap().version, 0);
    assert_eq!(
        list(&app, &finance(), 0).await.unwrap(),
        (vec![c.clone()], 1)
    );
    assert_eq!(listed(&app, &unit(), c.id, "P001").await.deadline, DEADLINE);
    let lines = audit(&app, "campaign_unit", format!("{}/{UNIT}", c.id)).await;
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.1 != "OK"),
        "{lines:?}"
    );
    let lines = audit(&app, "evaluation_rules", FY.to_string()).await;
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.1 != "OK"),
        "{lines:?}"
    );

    // No leak: a department of the enclosing region sees no campaign here, not even by id; a
    // caller of another city is refused.
    let outsider = Who::department("140000", "140000100");
    assert_eq!(list(&app, &outsider, 0).await.unwrap(), (vec![], 0));
    no(
        get(&app, &outsider, c.id).await,
        Code::NotFound,
        "CAMPAIGN_NOT_FOUND",
        &[],
    );
    let stranger = Who::department("140600", "140600100");
    no(
        list(&app, &stranger, 0).await,
        Code::PermissionDenied,
        "REGION_NOT_ALLOWED",
        &[],
    );
}

pbm_testkit::backend_tests! {
    access => who_may_call_what;
}
