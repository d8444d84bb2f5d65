//! Engagements (委托): the independence rules of a commission, and withdrawal (撤销委托).

use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn engagements_follow_the_independence_rules(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    let mut tied = spec(batch.id);
    tied.relations = vec![pb::Relation {
        party_code: "D07".into(),
        kind: pb::RelationKind::WorkedFor as i32,
        from: "2025-01-01".into(),
        to: String::new(),
        note: "为该单位提供过审计服务".into(),
    }];
    app.register(tied).await.unwrap();
    refused(
        app.commission(pb::EngagementKind::GoalSetting, "D01", "U0101", CODE_A)
            .await,
        Code::FailedPrecondition,
        "KIND_NOT_COMMISSIONABLE",
    );
    assert_eq!(
        reason(
            &app.commission(pb::EngagementKind::Evaluation, "D01", "D01", CODE_A)
                .await
                .unwrap_err()
        ),
        "SELF_EVALUATION_COMMISSION"
    );
    assert_eq!(
        reason(
            &app.commission(pb::EngagementKind::Evaluation, "D01", "D07", CODE_A)
                .await
                .unwrap_err()
        ),
        "NOT_INDEPENDENT"
    );
    let ok = app
        .commission(pb::EngagementKind::Evaluation, "FIN", "D01", CODE_A)
        .await
        .unwrap();
    assert!(!ok.rated);
    let listed = app
        .engagements
        .clone()
        .list_engagements(app.fin(pb::ListEngagementsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.page.unwrap().total_size,
        1,
        "refused commissions wrote nothing"
    );
}

/// CancelEngagement (撤销委托): finance withdraws an unrated engagement with a reason; it stays
/// readable, is never rated, frees its experts' workload and leaves the statistics; bad
/// requests change nothing.
async fn engagements_can_be_withdrawn(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let expert = app
        .register_expert(expert_spec(&id_number("19700315", "123")))
        .await
        .unwrap();
    let create = pb::CreateEngagementRequest {
        request_id: app.rid(),
        commissioner: "FIN".into(),
        evaluated_party: "D01".into(),
        kind: pb::EngagementKind::Evaluation as i32,
        agency_credit_code: CODE_A.into(),
        expert_ids: vec![expert.id],
        started_on: "2026-01-10".into(),
        ended_on: "2026-03-31".into(),
    };
    let e = app
        .engagements
        .clone()
        .create_engagement(app.fin(create))
        .await
        .unwrap()
        .into_inner()
        .engagement
        .unwrap();
    let workload = || {
        app.state
            .db
            .read(|c| pbm_agency::store::draws::workload(c, 2026))
    };
    assert_eq!(workload().await.unwrap(), [expert.id]);
    let cancel = |version: i64, reason: &str, who: Who| {
        let r = pb::CancelEngagementRequest {
            request_id: app.rid(),
            engagement_id: e.id,
            expected_version: version,
            reason: reason.into(),
        };
        let mut c = app.engagements.clone();
        let r = app.req(&who, r);
        async move { c.cancel_engagement(r).await.map(|r| r.into_inner()) }
    };
    refused(
        cancel(e.version, "  ", finance()).await,
        Code::InvalidArgument,
        "CANCEL_REASON_INVALID",
    );
    assert_eq!(
        cancel(e.version + 1, "机构谢绝", finance())
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    assert_eq!(
        cancel(e.version, "机构谢绝", as_agency(CODE_A))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let done = cancel(e.version, "机构谢绝委托，已由替补机构承接", finance())
        .await
        .unwrap()
        .engagement
        .unwrap();
    assert!(done.cancelled && !done.rated);
    assert_eq!(
        (done.cancel_reason.as_str(), done.version),
        ("机构谢绝委托，已由替补机构承接", e.version + 1)
    );
    assert!(done.cancelled_by.is_some());
    let shown = app
        .engagements
        .clone()
        .get_engagement(app.fin(pb::GetEngagementRequest {
            engagement_id: e.id,
        }))
        .await
        .unwrap()
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!(shown, done);
    assert!(
        workload().await.unwrap().is_empty(),
        "the expert is free again"
    );
    refused(
        app.rate(e.id, done.version, "90", "90").await,
        Code::FailedPrecondition,
        "ENGAGEMENT_CANCELLED",
    );
    refused(
        cancel(done.version, "再次撤销", finance()).await,
        Code::FailedPrecondition,
        "ENGAGEMENT_CANCELLED",
    );
    let stats = app
        .registry
        .clone()
        .get_pool_statistics(app.fin(pb::GetPoolStatisticsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stats
            .engagements_by_year_and_kind
            .iter()
            .map(|c| c.count)
            .sum::<i64>(),
        0,
        "a withdrawn engagement is not counted: {stats:?}"
    );
}

pbm_testkit::backend_tests! {
    engagement_independence => engagements_follow_the_independence_rules;
    withdrawn => engagements_can_be_withdrawn;
}
