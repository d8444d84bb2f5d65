//! 重点监控 over real gRPC: finance marks key subjects and commissions one to an agency drawn
//! from the agency service's pool (as evaluation work); the commissioned agency reads its
//! subject and files its report, another agency finds nothing; finance returns and accepts.

use pbm_proto::agency::v1 as ag;
use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;
use crate::deviations::{GREEN, RED, RED2, deviated_round};

/// 统一社会信用代码 of the two agencies admitted to the pool for evaluation.
fn pool_agencies() -> [String; 2] {
    ["91140500M000100Y4", "91140500M000200Y4"].map(|first17| {
        let check = pbm_agency::domain::ids::CreditCode::check_char(first17).unwrap();
        format!("{first17}{check}")
    })
}

impl App {
    /// Admits `codes` to the pool for evaluation work (procured for 2025–2027).
    async fn admit_evaluators(&self, codes: &[String]) {
        let scope = ag::ServiceScope::Evaluation;
        pbm_testkit::admit_agencies(&self.server, &finance(), codes, scope).await;
    }

    async fn mark(
        &self,
        who: &Who,
        round_id: i64,
        key: &str,
        flag: bool,
    ) -> Result<mon::MarkKeyMonitoringResponse, Status> {
        Ok(self
            .key
            .clone()
            .mark_key_monitoring(self.req(
                who,
                mon::MarkKeyMonitoringRequest {
                    request_id: self.rid(),
                    round_id,
                    subject_key: key.into(),
                    key: flag,
                },
            ))
            .await?
            .into_inner())
    }

    async fn commission_key(
        &self,
        request_id: &str,
        round_id: i64,
        key: &str,
    ) -> Result<mon::KeyMonitoring, Status> {
        Ok(self
            .key
            .clone()
            .commission_key_monitoring(self.req(
                &finance(),
                mon::CommissionKeyMonitoringRequest {
                    request_id: request_id.into(),
                    round_id,
                    subject_key: key.into(),
                    weighted: false,
                },
            ))
            .await?
            .into_inner()
            .key_monitoring
            .unwrap())
    }

    async fn file_key(
        &self,
        who: &Who,
        k: &mon::KeyMonitoring,
        report: &str,
    ) -> Result<mon::KeyMonitoring, Status> {
        Ok(self
            .key
            .clone()
            .file_key_monitoring_report(self.req(
                who,
                mon::FileKeyMonitoringReportRequest {
                    request_id: self.rid(),
                    round_id: k.round_id,
                    subject_key: k.subject_key.clone(),
                    expected_revision: k.revision,
                    report: report.into(),
                    conclusion: "预算执行明显滞后，绩效目标存在偏离风险".into(),
                    findings: vec!["工程招标延迟两个月".into(), "资金拨付滞后".into()],
                },
            ))
            .await?
            .into_inner()
            .key_monitoring
            .unwrap())
    }

    async fn decide_key(
        &self,
        k: &mon::KeyMonitoring,
        accept: bool,
        comments: &str,
    ) -> Result<mon::KeyMonitoring, Status> {
        Ok(self
            .key
            .clone()
            .decide_key_monitoring_report(self.req(
                &finance(),
                mon::DecideKeyMonitoringReportRequest {
                    request_id: self.rid(),
                    round_id: k.round_id,
                    subject_key: k.subject_key.clone(),
                    expected_revision: k.revision,
                    accept,
                    comments: comments.into(),
                },
            ))
            .await?
            .into_inner()
            .key_monitoring
            .unwrap())
    }

    async fn get_key(
        &self,
        who: &Who,
        round_id: i64,
        key: &str,
    ) -> Result<mon::KeyMonitoring, Status> {
        Ok(self
            .key
            .clone()
            .get_key_monitoring(self.req(
                who,
                mon::GetKeyMonitoringRequest {
                    round_id,
                    subject_key: key.into(),
                },
            ))
            .await?
            .into_inner()
            .key_monitoring
            .unwrap())
    }

    async fn list_key(&self, who: &Who, round_id: i64) -> Result<Vec<mon::KeyMonitoring>, Status> {
        Ok(self
            .key
            .clone()
            .list_key_monitoring(self.req(
                who,
                mon::ListKeyMonitoringRequest {
                    round_id,
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .items)
    }
}

/// Marked, commissioned through the pool, filed by the commissioned agency (another agency finds
/// nothing), returned, filed again and accepted.
async fn key_monitoring_is_commissioned_filed_and_accepted(db: TestDatabase) {
    let app = spawn(db).await;
    let round = deviated_round(&app).await;
    let pool = pool_agencies();
    app.admit_evaluators(&pool).await;

    // Marking counts the round's key subjects; unmarking while only marked is allowed.
    assert_eq!(
        app.mark(&finance(), round, RED, true)
            .await
            .unwrap()
            .key_subjects,
        1
    );
    let marked = app.mark(&finance(), round, RED2, true).await.unwrap();
    assert_eq!(marked.key_subjects, 2);
    assert_eq!(
        marked.key_monitoring.unwrap().status,
        mon::KeyMonitoringStatus::Marked as i32
    );
    assert_eq!(
        app.mark(&finance(), round, RED2, false)
            .await
            .unwrap()
            .key_subjects,
        1
    );
    let denied = app.mark(&department(), round, RED, true).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Only a key subject is commissioned.
    let not_key = app
        .commission_key("km-green", round, GREEN)
        .await
        .unwrap_err();
    assert_eq!(
        (not_key.code(), reason(&not_key).as_str()),
        (Code::FailedPrecondition, "NOT_KEY")
    );
    let k = app.commission_key("km-1", round, RED).await.unwrap();
    assert_eq!(k.status, mon::KeyMonitoringStatus::Commissioned as i32);
    assert!(pool.contains(&k.agency_id), "{k:?}");
    assert!(k.draw_id > 0 && k.engagement_id > 0);
    // A retry replays the same draw; another request finds it commissioned.
    assert_eq!(app.commission_key("km-1", round, RED).await.unwrap(), k);
    let twice = app.commission_key("km-2", round, RED).await.unwrap_err();
    assert_eq!(reason(&twice), "KEY_ALREADY_COMMISSIONED");
    let unmark = app.mark(&finance(), round, RED, false).await.unwrap_err();
    assert_eq!(reason(&unmark), "KEY_COMMISSIONED");
    // Recorded in the agency service as evaluation work.
    let engagement =
        ag::engagement_service_client::EngagementServiceClient::new(app.server.channel.clone())
            .get_engagement(app.req(
                &finance(),
                ag::GetEngagementRequest {
                    engagement_id: k.engagement_id,
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .engagement
            .unwrap();
    assert_eq!(engagement.kind, ag::EngagementKind::Evaluation as i32);
    assert_eq!(engagement.agency_credit_code, k.agency_id);

    let drawn = agency(&k.agency_id);
    let other_code = pool.iter().find(|c| **c != k.agency_id).unwrap().clone();
    let other = agency(&other_code);

    // The commissioned agency reads its subject's warnings and its commission; the other
    // agency finds nothing.
    let seen = app
        .warnings_of(
            &drawn,
            mon::ListWarningsRequest {
                round_id: round,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!seen.is_empty() && seen.iter().all(|w| w.subject_key == RED));
    assert_eq!(app.get_key(&drawn, round, RED).await.unwrap(), k);
    let hidden = app.get_key(&other, round, RED).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    assert!(app.list_key(&other, round).await.unwrap().is_empty());
    assert_eq!(
        app.list_key(&drawn, round).await.unwrap(),
        std::slice::from_ref(&k)
    );
    assert_eq!(app.list_key(&auditor(), round).await.unwrap().len(), 1);
    for who in [unit(), department()] {
        let denied = app.list_key(&who, round).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{who:?}");
    }

    // Only the commissioned agency files; texts are checked.
    let refused = app.file_key(&other, &k, "报告").await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    let empty = app.file_key(&drawn, &k, " ").await.unwrap_err();
    assert_eq!(reason(&empty), "REPORT_REQUIRED");
    let by_finance = app.file_key(&finance(), &k, "报告").await.unwrap_err();
    assert_eq!(by_finance.code(), Code::PermissionDenied);
    let filed = app
        .file_key(&drawn, &k, "截至6月底预算执行进度20%，工程招标延迟。")
        .await
        .unwrap();
    assert_eq!(filed.status, mon::KeyMonitoringStatus::Filed as i32);
    assert_eq!(filed.findings.len(), 2);
    let stale = app.file_key(&drawn, &k, "再报").await.unwrap_err();
    assert_eq!(reason(&stale), "STALE_REVISION");

    // Finance returns it (comments required), the agency files again, finance accepts.
    let no_comments = app.decide_key(&filed, false, "").await.unwrap_err();
    assert_eq!(reason(&no_comments), "COMMENTS_REQUIRED");
    let returned = app
        .decide_key(&filed, false, "请补充资金拨付明细")
        .await
        .unwrap();
    assert_eq!(returned.status, mon::KeyMonitoringStatus::Returned as i32);
    let accept_returned = app.decide_key(&returned, true, "").await.unwrap_err();
    assert_eq!(reason(&accept_returned), "ILLEGAL_TRANSITION");
    let refiled = app
        .file_key(
            &drawn,
            &returned,
            "截至6月底预算执行进度20%；拨付明细附后。",
        )
        .await
        .unwrap();
    let accepted = app
        .decide_key(&refiled, true, "报告符合要求")
        .await
        .unwrap();
    assert_eq!(accepted.status, mon::KeyMonitoringStatus::Accepted as i32);
    assert_eq!(app.get_key(&auditor(), round, RED).await.unwrap(), accepted);
    let again = app.file_key(&drawn, &accepted, "再报").await.unwrap_err();
    assert_eq!(reason(&again), "ILLEGAL_TRANSITION");
}

pbm_testkit::backend_tests! {
    commissioned_filed_accepted => key_monitoring_is_commissioned_filed_and_accepted;
}
