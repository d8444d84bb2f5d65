//! Who sees and does what: every caller sees only its goals (others are told they do not
//! exist, lists leak no counts); every RPC authorises its caller by role and region before the
//! request is examined.

use pbm_auth::Role;
use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn every_caller_sees_only_its_goals(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-1", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let goal = app.save(&unit(), full("P-1"), 0).await.unwrap();
    let get = |caller: Who| {
        let mut c = app.goals.clone();
        let r = app.req(
            &caller,
            pb::GetGoalRequest {
                goal_id: goal.id,
                version: 0,
            },
        );
        async move { c.get_goal(r).await.map(|g| g.into_inner().goal.unwrap()) }
    };
    let list = |caller: Who| {
        let mut c = app.goals.clone();
        let r = app.req(&caller, pb::ListGoalsRequest::default());
        async move { c.list_goals(r).await.map(|g| g.into_inner()) }
    };
    let other_unit = who(Role::BudgetUnit, REGION, Some("140500999"), Some(DEPT));
    let other_dept = who(Role::Department, REGION, None, Some("140500900"));
    let dept = who(Role::Department, REGION, None, Some(DEPT));
    let public = who(Role::Public, REGION, None, None);
    let auditor = who(Role::Auditor, REGION, None, None);
    // Owner, its department, finance and auditors read; others are told it does not exist.
    for t in [unit(), dept.clone(), finance(), auditor.clone()] {
        assert!(get(t).await.is_ok());
    }
    for t in [other_unit.clone(), other_dept.clone(), public.clone()] {
        assert_eq!(get(t).await.unwrap_err().code(), Code::NotFound);
    }
    // Lists leak nothing: neither rows nor counts.
    for t in [other_unit.clone(), other_dept, public.clone()] {
        let l = list(t).await.unwrap();
        assert!(l.goals.is_empty());
        assert_eq!(l.page.unwrap().total_size, 0);
    }
    assert_eq!(list(dept).await.unwrap().goals.len(), 1);
    // Another unit cannot edit it (and learns nothing); auditors never write.
    let err = app
        .save(&other_unit, full("P-1"), goal.revision)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = app
        .save(&auditor, full("P-1"), goal.revision)
        .await
        .unwrap_err();
    assert!(matches!(
        err.code(),
        Code::NotFound | Code::PermissionDenied
    ));
    // A unit cannot register another unit's project.
    let r = pb::DeclareProjectRequest {
        request_id: app.rid(),
        spec: Some(pb::ProjectSpec {
            pro_code: "P-X".into(),
            name: "他单位项目".into(),
            agency_code: "140500999".into(),
            department_code: DEPT.into(),
            fiscal_year: FY,
            fund_source: pb::FundSource::GeneralPublic as i32,
            special_field: pb::SpecialField::None as i32,
            continuity: pb::Continuity::New as i32,
            nature: pb::Nature::Project as i32,
            requested_amount: dec("1000"),
            ..Default::default()
        }),
        expected_version: 0,
    };
    let err = app
        .goals
        .clone()
        .declare_project(app.req(&unit(), r))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Finance of another region is refused; the public sees a goal once it is published.
    let outsider = who(Role::FinanceAdmin, "140100", None, None);
    assert_eq!(
        get(outsider).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let g = app.submit(&goal).await.unwrap();
    let g = app
        .review(&g, pb::ReviewOutcome::Excellent, "")
        .await
        .unwrap();
    let g = app.approve(&g).await.unwrap();
    let r = pb::PublishGoalRequest {
        request_id: app.rid(),
        goal_id: g.id,
        expected_revision: g.revision,
    };
    app.goals
        .clone()
        .publish_goal(app.req(&finance(), r))
        .await
        .unwrap();
    let seen = get(public.clone()).await.unwrap();
    assert_eq!(seen.version, 1);
    assert_eq!(list(public).await.unwrap().goals.len(), 1);
    // Unauthenticated callers are refused.
    let mut c = app.goals.clone();
    let anonymous = c
        .get_goal(tonic::Request::new(pb::GetGoalRequest {
            goal_id: goal.id,
            version: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
}

type Call<'a> = Box<
    dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Code> + Send + 'a>> + 'a,
>;

/// Every RPC of the goal service called by every role with an empty request: a role that may
/// never take the action is refused before the request is examined; callers of another region
/// and bad tokens are refused everywhere.
async fn every_rpc_authorises_its_caller(db: TestDatabase) {
    let app = spawn(db).await;
    macro_rules! rpc {
        ($method:ident, $req:ty) => {
            rpc!($method, $req, |_: &App| <$req>::default())
        };
        ($method:ident, $req:ty, id) => {
            rpc!($method, $req, |app: &App| {
                let mut m = <$req>::default();
                m.request_id = app.rid();
                m
            })
        };
        ($method:ident, $req:ty, $make:expr) => {{
            let app = &app;
            let call: Call<'_> = Box::new(move |token: String| {
                let mut c = app.goals.clone();
                let r = bearer(&token, ($make)(app));
                Box::pin(async move {
                    match c.$method(r).await {
                        Ok(_) => Code::Ok,
                        Err(e) => e.code(),
                    }
                })
            });
            (stringify!($method), call)
        }};
    }
    // Each caller by its token (a bad token is tried too, below).
    let roles = [
        ("unit", unit()),
        (
            "department",
            who(Role::Department, REGION, None, Some(DEPT)),
        ),
        ("finance", finance()),
        ("auditor", who(Role::Auditor, REGION, None, None)),
        ("province", who(Role::Province, "140000", None, None)),
        (
            "finance of the province",
            who(Role::FinanceAdmin, "140000", None, None),
        ),
        ("public", who(Role::Public, REGION, None, None)),
        // Not assigned to anything: they act only on what is assigned or commissioned to them.
        ("expert", expert(7)),
        ("agency", agency("91350100M000100Y43")),
    ]
    .map(|(name, caller)| (name, app.token(&caller)));
    let calls: Vec<(&str, Call<'_>, &[&str])> = vec![
        {
            let (n, c) = rpc!(declare_project, pb::DeclareProjectRequest, id);
            (n, c, &["unit", "department", "finance"])
        },
        {
            let (n, c) = rpc!(save_goal, pb::SaveGoalRequest, id);
            (n, c, &["unit", "department"])
        },
        {
            let (n, c) = rpc!(submit_goal, pb::SubmitGoalRequest, id);
            (n, c, &["unit", "department"])
        },
        {
            let (n, c) = rpc!(assign_reviewers, pb::AssignReviewersRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(review_goal, pb::ReviewGoalRequest, id);
            (n, c, &["finance", "expert", "agency"])
        },
        {
            let (n, c) = rpc!(amend_goal, pb::AmendGoalRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(approve_goal, pb::ApproveGoalRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(publish_goal, pb::PublishGoalRequest, id);
            (n, c, &["finance", "department"])
        },
        {
            let (n, c) = rpc!(request_adjustment, pb::RequestAdjustmentRequest, id);
            (n, c, &["unit", "department"])
        },
        {
            let (n, c) = rpc!(cancel_adjustment, pb::CancelAdjustmentRequest, id);
            (n, c, &["unit", "department", "finance"])
        },
        {
            let (n, c) = rpc!(set_goal_rules, pb::SetGoalRulesRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(
                export_approved_goals,
                pb::ExportApprovedGoalsRequest,
                |_: &App| {
                    pb::ExportApprovedGoalsRequest {
                        fiscal_year: FY,
                        department_code: String::new(),
                    }
                }
            );
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                ],
            )
        },
        {
            let (n, c) = rpc!(stream_approved_goals, pb::StreamApprovedGoalsRequest);
            (
                n,
                c,
                &["finance", "auditor", "province", "finance of the province"],
            )
        },
        {
            let (n, c) = rpc!(get_goal_statistics, pb::GetGoalStatisticsRequest);
            (
                n,
                c,
                &["finance", "auditor", "province", "finance of the province"],
            )
        },
        {
            let (n, c) = rpc!(submit_ex_ante_report, pb::SubmitExAnteReportRequest, id);
            (n, c, &["unit", "department", "finance", "agency"])
        },
        {
            let (n, c) = rpc!(review_ex_ante_report, pb::ReviewExAnteReportRequest, id);
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(
                commission_ex_ante_assessment,
                pb::CommissionExAnteAssessmentRequest,
                id
            );
            (n, c, &["finance"])
        },
        {
            let (n, c) = rpc!(get_ex_ante_report, pb::GetExAnteReportRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(
                check_funding_eligibility,
                pb::CheckFundingEligibilityRequest
            );
            (
                n,
                c,
                &["finance", "auditor", "province", "finance of the province"],
            )
        },
        {
            let (n, c) = rpc!(get_project, pb::GetProjectRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(get_goal, pb::GetGoalRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(list_goals, pb::ListGoalsRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(get_goal_history, pb::GetGoalHistoryRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
        {
            let (n, c) = rpc!(get_goal_rules, pb::GetGoalRulesRequest);
            (
                n,
                c,
                &[
                    "unit",
                    "department",
                    "finance",
                    "auditor",
                    "province",
                    "finance of the province",
                    "public",
                    "expert",
                    "agency",
                ],
            )
        },
    ];
    assert_eq!(
        calls.len(),
        24,
        "every unary and server-streaming RPC of the goal service"
    );
    let other_city = app.token(&who(Role::FinanceAdmin, "140100", None, None));
    for (name, call, allowed) in &calls {
        for (who, token) in &roles {
            let code = call(token.clone()).await;
            if allowed.contains(who) {
                assert_ne!(code, Code::PermissionDenied, "{name} by {who}");
            } else {
                assert_eq!(code, Code::PermissionDenied, "{name} by {who}");
            }
        }
        assert_eq!(
            call(other_city.clone()).await,
            Code::PermissionDenied,
            "{name} by finance of another city"
        );
        assert_eq!(
            call("not-a-token".into()).await,
            Code::Unauthenticated,
            "{name} with a bad token"
        );
    }
}

pbm_testkit::backend_tests! {
    scopes => every_caller_sees_only_its_goals;
    rpc_roles => every_rpc_authorises_its_caller;
}
