//! 个性 indicators proposed by departments and decided by finance.

use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn propose(
    app: &TestApp,
    who: &Who,
    code: &str,
    s: proto::IndicatorSpec,
    reason: &str,
) -> Result<proto::Proposal, tonic::Status> {
    let r = proto::ProposeIndicatorRequest {
        request_id: app.rid(),
        code: code.into(),
        spec: Some(s),
        reason: reason.into(),
    };
    Ok(app
        .client()
        .propose_indicator(app.req(who, r))
        .await?
        .into_inner()
        .proposal
        .expect("proposal"))
}

async fn decide(
    app: &TestApp,
    who: &Who,
    id: i64,
    expected_version: i64,
    approve: bool,
    comment: &str,
) -> Result<proto::DecideProposalResponse, tonic::Status> {
    let r = proto::DecideProposalRequest {
        request_id: app.rid(),
        proposal_id: id,
        expected_version,
        approve,
        comment: comment.into(),
    };
    Ok(app
        .client()
        .decide_proposal(app.req(who, r))
        .await?
        .into_inner())
}

async fn get(app: &TestApp, who: &Who, id: i64) -> Result<proto::Proposal, tonic::Status> {
    Ok(app
        .client()
        .get_proposal(app.req(who, proto::GetProposalRequest { proposal_id: id }))
        .await?
        .into_inner()
        .proposal
        .expect("proposal"))
}

async fn list(app: &TestApp, who: &Who, status: proto::ProposalStatus) -> Vec<(i64, String)> {
    let r = proto::ListProposalsRequest {
        status: status as i32,
        page: None,
    };
    let resp = app
        .client()
        .list_proposals(app.req(who, r))
        .await
        .expect("list proposals")
        .into_inner();
    assert_eq!(resp.page.unwrap().total_size as usize, resp.proposals.len());
    resp.proposals.into_iter().map(|p| (p.id, p.code)).collect()
}

async fn proposals_flow(db: TestDatabase) {
    let app = spawn_app(db).await;
    let d01 = department("D01");
    let d02 = department("D02");
    let fin = finance();

    // Whatever kind and owner the department sends, a proposal is 个性 and its own.
    let sent = proto::IndicatorSpec {
        kind: IndicatorKind::Common as i32,
        owner_department: "D99".into(),
        ..spec("学校覆盖率")
    };
    let p = propose(&app, &d01, "P-EDU-1", sent, "本部门特有业务")
        .await
        .expect("propose");
    assert_eq!(p.status, proto::ProposalStatus::Pending as i32);
    assert_eq!(p.department, "D01");
    assert_eq!(p.version, 1);
    let ps = p.spec.as_ref().unwrap();
    assert_eq!(ps.kind, IndicatorKind::Specific as i32);
    assert_eq!(ps.owner_department, "D01");
    assert_eq!(p.proposed.as_ref().unwrap().actor, "dept-D01");
    assert!(p.decided.is_none());
    // Proposing writes no indicator.
    refused(
        app.get("P-EDU-1").await,
        Code::NotFound,
        "INDICATOR_NOT_FOUND",
    );

    let q = propose(
        &app,
        &d02,
        "P-HEALTH-1",
        spec("卫生院覆盖率"),
        "本部门特有业务",
    )
    .await
    .expect("D02 proposes");

    // Departments see their own proposals only.
    assert_eq!(
        list(&app, &d01, proto::ProposalStatus::Unspecified).await,
        [(p.id, "P-EDU-1".to_string())]
    );
    assert_eq!(
        list(&app, &d02, proto::ProposalStatus::Unspecified).await,
        [(q.id, "P-HEALTH-1".to_string())]
    );
    assert!(
        list(&app, &department("D03"), proto::ProposalStatus::Unspecified)
            .await
            .is_empty()
    );
    assert_eq!(get(&app, &d01, p.id).await.unwrap(), p);
    refused(
        get(&app, &d02, p.id).await,
        Code::NotFound,
        "PROPOSAL_NOT_FOUND",
    );
    refused(
        get(&app, &d01, 999_999).await,
        Code::NotFound,
        "PROPOSAL_NOT_FOUND",
    );
    // Finance, auditors and the province see all.
    for who in [
        fin.clone(),
        of_role(pbm_auth::Role::Auditor),
        of_role(pbm_auth::Role::Province),
    ] {
        assert_eq!(
            list(&app, &who, proto::ProposalStatus::Pending).await.len(),
            2,
            "{who:?}"
        );
        assert_eq!(get(&app, &who, p.id).await.unwrap().code, "P-EDU-1");
    }

    // A stale version is refused; approval creates the 个性 indicator.
    refused(
        decide(&app, &fin, p.id, 2, true, "").await,
        Code::Aborted,
        "VERSION_MISMATCH",
    );
    let decided = decide(&app, &fin, p.id, 1, true, "同意")
        .await
        .expect("approve");
    let dp = decided.proposal.unwrap();
    assert_eq!(dp.status, proto::ProposalStatus::Approved as i32);
    assert_eq!(dp.version, 2);
    assert_eq!(dp.decision_comment, "同意");
    assert_eq!(dp.decided.as_ref().unwrap().actor, "fin-1");
    assert_eq!(dp.indicator_version, 1);
    let created = decided.indicator.expect("indicator created");
    assert_eq!((created.code.as_str(), created.version), ("P-EDU-1", 1));
    let got = app.get("P-EDU-1").await.expect("indicator exists");
    let gs = got.spec.unwrap();
    assert_eq!(gs.kind, IndicatorKind::Specific as i32);
    assert_eq!(gs.owner_department, "D01");
    assert_eq!(gs.name, "学校覆盖率");
    assert_eq!(
        app.codes(proto::IndicatorFilter {
            owner_department: "D01".into(),
            ..Default::default()
        })
        .await,
        ["P-EDU-1"]
    );

    // Deciding twice.
    refused(
        decide(&app, &fin, p.id, 2, true, "").await,
        Code::FailedPrecondition,
        "PROPOSAL_DECIDED",
    );
    refused(
        decide(&app, &fin, p.id, 2, false, "再议").await,
        Code::FailedPrecondition,
        "PROPOSAL_DECIDED",
    );
    assert_eq!(app.versions("P-EDU-1").await, [1]);
    assert_eq!(
        list(&app, &d01, proto::ProposalStatus::Approved)
            .await
            .len(),
        1
    );
    assert!(
        list(&app, &d01, proto::ProposalStatus::Pending)
            .await
            .is_empty()
    );

    // Rejection needs a comment, and creates nothing.
    let s = refused(
        decide(&app, &fin, q.id, 1, false, "  ").await,
        Code::InvalidArgument,
        "COMMENT_REQUIRED",
    );
    has_field(&s, "comment");
    assert_eq!(
        get(&app, &fin, q.id).await.unwrap().status,
        proto::ProposalStatus::Pending as i32
    );
    let rejected = decide(&app, &fin, q.id, 1, false, "与共性指标重复")
        .await
        .expect("reject");
    assert!(rejected.indicator.is_none());
    let rp = rejected.proposal.unwrap();
    assert_eq!(
        (
            rp.status,
            rp.decision_comment.as_str(),
            rp.indicator_version
        ),
        (proto::ProposalStatus::Rejected as i32, "与共性指标重复", 0)
    );
    refused(
        app.get("P-HEALTH-1").await,
        Code::NotFound,
        "INDICATOR_NOT_FOUND",
    );
    refused(
        decide(&app, &fin, 999_999, 1, true, "").await,
        Code::NotFound,
        "PROPOSAL_NOT_FOUND",
    );
}

async fn bad_proposals_write_nothing(db: TestDatabase) {
    let app = spawn_app(db).await;
    let d01 = department("D01");
    app.create("EXISTS", spec("已有指标")).await.unwrap();

    let s = refused(
        propose(&app, &d01, "P1", spec("x"), " ").await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["reason"]);
    let s = refused(
        propose(
            &app,
            &d01,
            "P1",
            proto::IndicatorSpec {
                unit: String::new(),
                ..spec("x")
            },
            "理由",
        )
        .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
    assert_eq!(fields(&s), ["spec.unit"]);
    refused(
        propose(
            &app,
            &d01,
            "P1",
            proto::IndicatorSpec {
                fiscal_year: 2030,
                ..spec("x")
            },
            "理由",
        )
        .await,
        Code::FailedPrecondition,
        "FRAME_NOT_FOUND",
    );
    refused(
        propose(&app, &d01, "EXISTS", spec("x"), "理由").await,
        Code::AlreadyExists,
        "INDICATOR_CODE_EXISTS",
    );
    // A department token without a department code.
    let nameless = Who {
        department: None,
        ..d01.clone()
    };
    refused(
        propose(&app, &nameless, "P1", spec("x"), "理由").await,
        Code::PermissionDenied,
        "DEPARTMENT_MISSING",
    );
    assert!(
        list(&app, &finance(), proto::ProposalStatus::Unspecified)
            .await
            .is_empty()
    );
}

/// Proposals sent at the same time each get their own id back.
async fn concurrent_proposals_answer_their_own(db: TestDatabase) {
    let app = spawn_app(db).await;
    let d01 = department("D01");
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let code = format!("PC{i}");
            let r = proto::ProposeIndicatorRequest {
                request_id: app.rid(),
                code: code.clone(),
                spec: Some(spec(&format!("并发申请{i}"))),
                reason: "理由".into(),
            };
            let req = app.req(&d01, r);
            let mut c = app.client();
            tokio::spawn(async move {
                (
                    code,
                    c.propose_indicator(req)
                        .await
                        .map(|r| r.into_inner().proposal.unwrap()),
                )
            })
        })
        .collect();
    let mut ids = Vec::new();
    for call in calls {
        let (code, result) = call.await.unwrap();
        let p = result.expect("propose");
        assert_eq!(p.code, code, "the response is the proposal just made");
        ids.push(p.id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8);
}

pbm_testkit::backend_tests! {
    proposals_concurrent => concurrent_proposals_answer_their_own;
    proposals => proposals_flow;
    proposals_bad_input => bad_proposals_write_nothing;
}
