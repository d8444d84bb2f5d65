//! Ratings (动态评级): an engagement's rating explained, the grade acting on the agency by
//! itself, and a recompute of every rating (idempotent, refused for a future date).

use pbm_auth::Role;
use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn ratings_are_explainable_and_grades_act(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let e = app
        .commission(pb::EngagementKind::Evaluation, "FIN", "D01", CODE_A)
        .await
        .unwrap();
    let incomplete = pb::RateEngagementRequest {
        request_id: app.rid(),
        engagement_id: e.id,
        expected_version: 1,
        scores: vec![pb::CriterionScore {
            criterion: "QUALITY".into(),
            score: dec("90"),
        }],
    };
    let err = app
        .engagements
        .clone()
        .rate_engagement(app.fin(incomplete))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        app.rate(e.id, 2, "30", "30").await.unwrap_err().code(),
        Code::Aborted
    );
    let rated = app.rate(e.id, 1, "20", "40").await.unwrap();
    let engagement = rated.engagement.unwrap();
    // 20×40% + 40×60% = 32
    assert_eq!(engagement.score.unwrap().value, "32");
    assert_eq!(engagement.rules, "2026年度全国默认规则");
    let rating = rated.agency_rating.unwrap();
    assert_eq!(rating.final_score.unwrap().value, "32");
    assert_eq!(
        (rating.grade.as_str(), rating.action.as_str()),
        ("D", "suspend")
    );
    assert_eq!(rating.contributions.len(), 1);
    assert_eq!(
        rating.contributions[0].decay_weight.as_ref().unwrap().value,
        "1"
    );
    assert!(!rating.selectable);
    // The grade acts through the consumer of `pbm.agency.engagement_rated`: not in the response's
    // transaction, once its event is delivered — and once however often it is delivered.
    let agency = || {
        let mut c = app.registry.clone();
        let r = app.fin(pb::GetAgencyRequest {
            credit_code: CODE_A.into(),
        });
        async move { c.get_agency(r).await.unwrap().into_inner().agency.unwrap() }
    };
    assert_eq!(agency().await.status, pb::AgencyStatus::Admitted as i32);
    assert_eq!(app.settle().await, [pbm_events::Applied::Done]);
    assert_eq!(app.settle().await, [pbm_events::Applied::Duplicate]);
    // The grade acted by itself, and the history says why.
    let agency = agency().await;
    assert_eq!(
        (agency.status, agency.suspended_until.as_str()),
        (pb::AgencyStatus::Suspended as i32, "2026-12-01")
    );
    let history = app
        .registry
        .clone()
        .list_status_history(app.fin(pb::ListStatusHistoryRequest {
            credit_code: CODE_A.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert!(
        history.last().unwrap().reason.contains("信用等级D"),
        "{:?}",
        history.last()
    );
    assert_eq!(
        history
            .iter()
            .filter(|c| c.to_status == "suspended")
            .count(),
        1,
        "{history:?}"
    );
    assert_eq!(
        app.rate(e.id, 2, "90", "90").await.unwrap_err().code(),
        Code::FailedPrecondition,
        "rated once"
    );

    // The agency sees its own rating, explained; another agency does not.
    let explain = |who: Who| {
        let mut c = app.engagements.clone();
        let r = app.req(
            &who,
            pb::ExplainRatingRequest {
                agency_credit_code: CODE_A.into(),
                expert_id: 0,
                as_of: String::new(),
            },
        );
        async move { c.explain_rating(r).await }
    };
    let own = explain(as_agency(CODE_A))
        .await
        .unwrap()
        .into_inner()
        .rating
        .unwrap();
    assert_eq!(own.pool_mean.unwrap().value, "32");
    assert_eq!(
        explain(as_agency(OTHER_AGENCY)).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        explain(of_role(Role::Department)).await.unwrap_err().code(),
        Code::PermissionDenied
    );
}

async fn recompute_ranks_every_rating_and_lets_grades_act(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let codes = agency_pool(&app).await;
    // B (70) was warned when rated; a major violation after its rating: recompute sees it.
    let r = pb::RecordViolationRequest {
        request_id: app.rid(),
        credit_code: codes[1].clone(),
        occurred_on: "2026-05-01".into(),
        severity: pb::Severity::Major as i32,
        description: "报告抄袭".into(),
        ..Default::default()
    };
    app.registry
        .clone()
        .record_violation(app.fin(r))
        .await
        .unwrap();
    let denied = app.recompute("rc-0", &auditor()).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let first = app.recompute("rc-1", &finance()).await.unwrap();
    assert_eq!((first.agencies_rated, first.experts_rated), (5, 0));
    assert_eq!(first.as_of, "2026-06-01");
    assert_eq!(first.rules, "2026年度全国默认规则");
    // Best first; those without engagements stand at the pool mean and no grade acts on them.
    assert_eq!(first.agencies[0].agency_credit_code, codes[0]);
    assert_eq!(first.agencies[0].engagements, 1);
    assert_eq!(first.agencies.last().unwrap().agency_credit_code, codes[1]);
    for s in &first.agencies[1..4] {
        assert_eq!((s.engagements, s.action.as_str()), (0, "none"), "{s:?}");
    }
    // B: a 70 and a major violation → a low grade, its action applied and recorded.
    let b = first.agencies.last().unwrap();
    assert_ne!(b.action, "none");
    assert!(!b.selectable);
    assert_eq!(
        (b.status_from.as_str(), b.status_to.as_str()),
        ("warned", "suspended")
    );
    assert_eq!(first.status_changes, 1);
    let explained = app.explain_agency(&codes[1]).await;
    assert_eq!(b.final_score, explained.final_score);
    // A retry returns the first result; a new recompute finds nothing more to change.
    let retry = app.recompute("rc-1", &finance()).await.unwrap();
    assert_eq!(retry, first);
    let again = app.recompute("rc-2", &finance()).await.unwrap();
    assert_eq!(again.status_changes, 0);
    assert_eq!(again.agencies, {
        let mut a = first.agencies.clone();
        for s in &mut a {
            s.status_from.clear();
            s.status_to.clear();
        }
        a
    });
    // A date in the future is refused and changes nothing.
    let r = pb::RecomputeRatingsRequest {
        request_id: app.rid(),
        as_of: "2027-01-01".into(),
    };
    refused(
        app.engagements.clone().recompute_ratings(app.fin(r)).await,
        Code::InvalidArgument,
        "AS_OF_IN_FUTURE",
    );
}

pbm_testkit::backend_tests! {
    engagement_ratings => ratings_are_explainable_and_grades_act;
    recompute => recompute_ranks_every_rating_and_lets_grades_act;
}
