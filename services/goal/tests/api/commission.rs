//! 事前绩效评估 commissioned to a third-party agency drawn from the agency service's pool: the
//! draw and the engagement recorded there, a decline moved to the replacement, the report filed
//! by the commissioned agency only.

use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;

/// 统一社会信用代码 of the two agencies the commissioning test admits to the pool.
fn pool_agencies() -> [String; 2] {
    ["91350100M000100Y4", "91350100M000200Y4"].map(|first17| {
        let check = pbm_agency::domain::ids::CreditCode::check_char(first17).unwrap();
        format!("{first17}{check}")
    })
}

impl App {
    /// Admits agencies for ex-ante assessment to the pool (procured for 2025–2027).
    async fn admit_agencies(&self, codes: &[String]) {
        let scope = pbm_proto::agency::v1::ServiceScope::ExAnteAndGoalReview;
        pbm_testkit::admit_agencies(&self.server, &finance(), codes, scope).await;
    }

    async fn commission(
        &self,
        who: &Who,
        request_id: &str,
        code: &str,
        due_on: &str,
    ) -> Result<pb::ExAnteCommission, Status> {
        let r = pb::CommissionExAnteAssessmentRequest {
            request_id: request_id.into(),
            pro_code: code.into(),
            fiscal_year: FY,
            weighted_by_rating: true,
            due_on: due_on.into(),
        };
        Ok(self
            .goals
            .clone()
            .commission_ex_ante_assessment(self.req(who, r))
            .await?
            .into_inner()
            .commission
            .unwrap())
    }
}

/// 事前绩效评估 commissioned to an agency drawn from the pool (docs/DOMAIN.md "Ex-ante assessment
/// (事前绩效评估)", docs/DOMAIN.md "What may be commissioned"): finance commissions, the agency
/// service draws and records the engagement, the commissioned agency reads the project and files
/// the report; nobody else reports for it.
async fn ex_ante_assessment_is_commissioned_to_an_agency(db: TestDatabase) {
    let app = spawn(db).await;
    app.project("P-EXA", "6000000", pb::Continuity::New)
        .await
        .unwrap();
    let pool = pool_agencies();
    app.admit_agencies(&pool).await;

    // Only finance commissions; bad input is refused field by field, before the pool is asked.
    let denied = app
        .commission(&unit(), "c-unit", "P-EXA", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(
        (denied.code(), reason(&denied).as_str()),
        (Code::PermissionDenied, "ROLE_NOT_ALLOWED")
    );
    let bad = app
        .commission(&finance(), "c-bad", "P-EXA", "2025-12-31")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(violations(&bad)[0].0, "due_on");
    let missing = app
        .commission(&finance(), "c-missing", "P-NONE", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let c = app
        .commission(&finance(), "c-1", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    let first = c.agency_credit_code.clone();
    let second = pool.iter().find(|a| **a != first).unwrap().clone();
    assert!(pool.contains(&first), "{c:?}");
    assert_eq!(c.due_on, "2026-03-31");
    assert!(c.draw_id > 0 && c.engagement_id > 0, "{c:?}");
    // A retry replays; another request is refused.
    let again = app
        .commission(&finance(), "c-1", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(again, c);
    let twice = app
        .commission(&finance(), "c-2", "P-EXA", "2026-04-30")
        .await
        .unwrap_err();
    assert_eq!(
        (twice.code(), reason(&twice).as_str()),
        (Code::FailedPrecondition, "EX_ANTE_ALREADY_COMMISSIONED")
    );

    // The engagement is recorded in the agency service, for its rating later.
    let engagements =
        pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient::new(
            app.channel(),
        );
    let engagement = |id: i64| {
        let mut client = engagements.clone();
        let r = app.req(
            &finance(),
            pbm_proto::agency::v1::GetEngagementRequest { engagement_id: id },
        );
        async move {
            client
                .get_engagement(r)
                .await
                .unwrap()
                .into_inner()
                .engagement
                .unwrap()
        }
    };
    let e = engagement(c.engagement_id).await;
    assert_eq!(
        (
            e.kind,
            e.agency_credit_code.as_str(),
            e.evaluated_party.as_str(),
            e.commissioner.as_str(),
            e.ended_on.as_str()
        ),
        (
            pbm_proto::agency::v1::EngagementKind::ExAnteAssessment as i32,
            first.as_str(),
            UNIT,
            REGION,
            "2026-03-31"
        )
    );

    // The commissioned agency sees the project; another agency does not.
    let get_project = |caller: Who| {
        let mut goals = app.goals.clone();
        let r = app.req(
            &caller,
            pb::GetProjectRequest {
                pro_code: "P-EXA".into(),
                fiscal_year: FY,
            },
        );
        async move { goals.get_project(r).await }
    };
    get_project(agency(&first)).await.unwrap();
    let other = get_project(agency(&second)).await.unwrap_err();
    assert_eq!(other.code(), Code::NotFound);

    // The agency declines (finance records its answer in the pool, whose consumer of the decline
    // draws a replacement round); a new commissioning request moves the commission to the
    // replacement.
    let app_ref = &app;
    let decline = move |draw_id: i64, agency: String| {
        let app = app_ref;
        let mut draws =
            pbm_proto::agency::v1::draw_service_client::DrawServiceClient::new(app.channel());
        let finance = finance();
        let request_id = app.rid();
        async move {
            let draw = draws
                .get_draw(app.req(&finance, pbm_proto::agency::v1::GetDrawRequest { draw_id }))
                .await
                .unwrap()
                .into_inner()
                .draw
                .unwrap();
            draws
                .respond_to_draw(app.req(
                    &finance,
                    pbm_proto::agency::v1::RespondToDrawRequest {
                        request_id,
                        draw_id,
                        expected_version: draw.version,
                        agency_credit_code: agency,
                        accept: false,
                        reason: "与被评估单位存在业务往来".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop)
        }
    };
    decline(c.draw_id, first.clone()).await.unwrap();
    app.settle_pool().await;
    let moved = app
        .commission(&finance(), "c-3", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(
        (moved.agency_credit_code.as_str(), moved.draw_id),
        (second.as_str(), c.draw_id)
    );
    assert_ne!(moved.engagement_id, c.engagement_id);
    assert_eq!(
        engagement(moved.engagement_id).await.agency_credit_code,
        second
    );
    // The engagement of the agency that declined is withdrawn in the agency service.
    let withdrawn = engagement(c.engagement_id).await;
    assert!(withdrawn.cancelled && !withdrawn.rated, "{withdrawn:?}");
    assert!(
        withdrawn.cancel_reason.contains(&first) && withdrawn.cancel_reason.contains(&second),
        "{}",
        withdrawn.cancel_reason
    );
    assert!(!engagement(moved.engagement_id).await.cancelled);
    let again = app
        .commission(&finance(), "c-3", "P-EXA", "2026-03-31")
        .await
        .unwrap();
    assert_eq!(again, moved, "a retry of the move replays it");
    let settled = app
        .commission(&finance(), "c-4", "P-EXA", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(reason(&settled), "EX_ANTE_ALREADY_COMMISSIONED");
    assert_eq!(
        get_project(agency(&first)).await.unwrap_err().code(),
        Code::NotFound,
        "the agency that declined no longer sees the project"
    );
    get_project(agency(&second)).await.unwrap();

    // A decline the pool cannot replace (no candidate left) is recorded with the shortfall on
    // the draw: no agency to move to, the commission stays.
    decline(c.draw_id, second.clone()).await.unwrap();
    app.settle_pool().await;
    let stays = app
        .commission(&finance(), "c-5", "P-EXA", "2026-03-31")
        .await
        .unwrap_err();
    assert_eq!(reason(&stays), "EX_ANTE_ALREADY_COMMISSIONED");
    let commissioned = agency(&second);
    get_project(commissioned.clone()).await.unwrap();

    // The unit may not report for a commissioned assessment; the commissioned agency does.
    let mut by_unit = report("P-EXA", "support", "项目必要性充分");
    by_unit.assessor = pb::Assessor::BudgetUnit as i32;
    by_unit.assessor_agency_code = String::new();
    let refused = app.ex_ante(&unit(), by_unit, 0).await.unwrap_err();
    assert_eq!(reason(&refused), "ASSESSOR_NOT_COMMISSIONED");
    let mut by_agency = report("P-EXA", "support", "项目必要性充分，投入经济");
    by_agency.assessor_agency_code = second.clone();
    let filed = app
        .ex_ante(&commissioned, by_agency.clone(), 0)
        .await
        .unwrap();
    assert_eq!(filed.assessor_agency_code, second);
    // Another agency cannot file it even when it names the commissioned one.
    let stranger = app
        .ex_ante(&agency(&first), by_agency, 1)
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    let shown = app
        .goals
        .clone()
        .get_ex_ante_report(app.req(
            &finance(),
            pb::GetExAnteReportRequest {
                pro_code: "P-EXA".into(),
                fiscal_year: FY,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shown.commission, Some(moved));
    assert_eq!(shown.report.unwrap().version, 1);

    // With the agency service unreachable: UNAVAILABLE, and nothing is recorded (a second
    // request is not refused as already commissioned).
    let dead = dead_url().await;
    let offline = spawn_full(TestDatabase::sqlite(), None, Some(&dead)).await;
    offline
        .project("P-EXA", "6000000", pb::Continuity::New)
        .await
        .unwrap();
    for request_id in ["o-1", "o-2"] {
        let err = offline
            .commission(&finance(), request_id, "P-EXA", "2026-03-31")
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::Unavailable, "AGENCY_SERVICE_UNAVAILABLE")
        );
    }
}

pbm_testkit::backend_tests! {
    commission => ex_ante_assessment_is_commissioned_to_an_agency;
}
