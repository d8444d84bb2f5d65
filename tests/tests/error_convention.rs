//! One error convention across every service (README "Errors"): each refusal carries
//! `google.rpc.ErrorInfo` with a stable reason and the one domain scheme — the proto package
//! of the called service without its version (`pbm.indicator`, `pbm.agency`, `pbm.goal`) —
//! over real gRPC, the server assembled as `pbm serve` assembles it.

use pbm_e2e::REGION;
use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_testkit::{TestDatabase, Who, bearer, domain, reason};
use tonic::{Code, Status};

/// Asserts a refusal's code, reason and domain.
#[track_caller]
fn assert_refusal<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    expected_reason: &str,
    expected_domain: &str,
) {
    let status = result.expect_err("expected a refusal");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(reason(&status), expected_reason, "{status:?}");
    assert_eq!(domain(&status), expected_domain, "{status:?}");
    assert!(
        status.message().ends_with(&format!("({expected_reason})")),
        "the message ends with the reason code: {status:?}"
    );
}

async fn every_service_answers_in_its_own_domain(db: TestDatabase) {
    let d = pbm_e2e::Deployment::start(db, None).await;
    let finance = d.token(&Who::finance(REGION));
    let channel = d.channel.clone();
    let mut library = IndicatorServiceClient::new(channel.clone());
    let mut registry = AgencyRegistryServiceClient::new(channel.clone());
    let mut engagements = EngagementServiceClient::new(channel.clone());
    let mut draws = DrawServiceClient::new(channel.clone());
    let mut goals = GoalServiceClient::new(channel);

    // Reads of what does not exist.
    assert_refusal(
        library
            .get_frame(bearer(&finance, ind::GetFrameRequest { fiscal_year: 2031 }))
            .await,
        Code::NotFound,
        "FRAME_NOT_FOUND",
        "pbm.indicator",
    );
    let engagement = engagements
        .get_engagement(bearer(
            &finance,
            ag::GetEngagementRequest {
                engagement_id: 987_654,
            },
        ))
        .await
        .expect_err("no such engagement");
    assert_eq!(engagement.code(), Code::NotFound, "{engagement:?}");
    assert_eq!(domain(&engagement), "pbm.agency");
    let draw = draws
        .get_draw(bearer(&finance, ag::GetDrawRequest { draw_id: 987_654 }))
        .await
        .expect_err("no such draw");
    assert_eq!(draw.code(), Code::NotFound, "{draw:?}");
    assert_eq!(domain(&draw), "pbm.agency");
    let goal = goals
        .get_goal(bearer(
            &finance,
            pb::GetGoalRequest {
                goal_id: 987_654,
                version: 0,
            },
        ))
        .await
        .expect_err("no such goal");
    assert_eq!(goal.code(), Code::NotFound, "{goal:?}");
    assert_eq!(domain(&goal), "pbm.goal");

    // A mutation without a client request id, in every service: the same reason everywhere.
    assert_refusal(
        library
            .create_indicator(bearer(&finance, ind::CreateIndicatorRequest::default()))
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_INVALID",
        "pbm.indicator",
    );
    assert_refusal(
        registry
            .register_agency(bearer(&finance, ag::RegisterAgencyRequest::default()))
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_INVALID",
        "pbm.agency",
    );
    assert_refusal(
        engagements
            .cancel_engagement(bearer(&finance, ag::CancelEngagementRequest::default()))
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_INVALID",
        "pbm.agency",
    );
    assert_refusal(
        draws
            .respond_to_draw(bearer(&finance, ag::RespondToDrawRequest::default()))
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_INVALID",
        "pbm.agency",
    );
    assert_refusal(
        goals
            .declare_project(bearer(&finance, pb::DeclareProjectRequest::default()))
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_INVALID",
        "pbm.goal",
    );

    // A caller the service refuses: a budget unit may not write the library.
    let unit = d.token(&Who::unit(REGION, "D01", "D01001"));
    let refused = library
        .create_indicator(bearer(
            &unit,
            ind::CreateIndicatorRequest {
                request_id: "conv-1".into(),
                code: "CONV1".into(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("a unit does not write the library");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(domain(&refused), "pbm.indicator");
}

pbm_db::backend_tests! {
    every_service_answers_in_its_own_domain => every_service_answers_in_its_own_domain;
}
