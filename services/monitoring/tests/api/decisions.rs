//! Finance's decisions on deviated subjects and the payment holds the budget system asks about,
//! over real gRPC: only deviated subjects are decided on, a new decision supersedes the current
//! one, a later 继续执行 lifts a hold; 2,000 codes are answered in one call.

use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;
use crate::deviations::{GREEN, RED, RED2, deviated_round};

impl App {
    pub async fn decide(
        &self,
        who: &Who,
        round_id: i64,
        key: &str,
        kind: mon::DecisionKind,
        amount: &str,
        reason: &str,
    ) -> Result<mon::Decision, Status> {
        Ok(self
            .deviations
            .clone()
            .record_decision(self.req(
                who,
                mon::RecordDecisionRequest {
                    request_id: self.rid(),
                    round_id,
                    subject_key: key.into(),
                    kind: kind as i32,
                    amount: (!amount.is_empty()).then(|| dec(amount).unwrap()),
                    reason: reason.into(),
                },
            ))
            .await?
            .into_inner()
            .decision
            .unwrap())
    }

    pub async fn holds(
        &self,
        who: &Who,
        codes: Vec<String>,
    ) -> Result<Vec<mon::PaymentHold>, Status> {
        Ok(self
            .deviations
            .clone()
            .check_payment_holds(self.req(
                who,
                mon::CheckPaymentHoldsRequest {
                    fiscal_year: FY,
                    pro_codes: codes,
                },
            ))
            .await?
            .into_inner()
            .holds)
    }
}

/// Decisions only on deviated subjects; the latest is current and supersedes the one before;
/// 暂缓拨款 holds payments until a later 继续执行.
async fn decisions_hold_and_release_payments(db: TestDatabase) {
    use mon::DecisionKind as K;
    let app = spawn(db).await;
    let round = deviated_round(&app).await;

    let not_deviated = app
        .decide(&finance(), round, GREEN, K::HoldPayments, "", "执行缓慢")
        .await
        .unwrap_err();
    assert_eq!(
        (not_deviated.code(), reason(&not_deviated).as_str()),
        (Code::FailedPrecondition, "NOT_DEVIATED")
    );
    let no_reason = app
        .decide(&finance(), round, RED, K::HoldPayments, "", "")
        .await
        .unwrap_err();
    assert_eq!(reason(&no_reason), "REASON_REQUIRED");
    let no_amount = app
        .decide(&finance(), round, RED, K::RecoverFunds, "", "收回结余")
        .await
        .unwrap_err();
    assert_eq!(reason(&no_amount), "AMOUNT_REQUIRED");
    let by_department = app
        .decide(&department(), round, RED, K::Continue, "", "")
        .await
        .unwrap_err();
    assert_eq!(by_department.code(), Code::PermissionDenied);
    let missing = app
        .decide(&finance(), round, "P-NONE", K::Continue, "", "")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let hold = app
        .decide(
            &finance(),
            round,
            RED,
            K::HoldPayments,
            "",
            "预算执行进度仅20%，暂缓拨款",
        )
        .await
        .unwrap();
    assert_eq!((hold.pro_code.as_str(), hold.fiscal_year), (RED, FY));
    assert_eq!(hold.superseded_by, 0);
    let recovered = app
        .decide(
            &finance(),
            round,
            RED2,
            K::RecoverFunds,
            "300000.00",
            "收回结余资金",
        )
        .await
        .unwrap();
    assert_eq!(recovered.amount.as_ref().unwrap().value, "300000");

    let codes = vec![RED.to_owned(), GREEN.to_owned(), RED2.to_owned()];
    let holds = app.holds(&finance(), codes.clone()).await.unwrap();
    let on_hold: Vec<(&str, bool)> = holds
        .iter()
        .map(|h| (h.pro_code.as_str(), h.on_hold))
        .collect();
    assert_eq!(on_hold, [(RED, true), (GREEN, false), (RED2, false)]);
    assert_eq!(holds[0].kind, K::HoldPayments as i32);
    assert_eq!(holds[0].round_id, round);
    assert_eq!(holds[0].reason, "预算执行进度仅20%，暂缓拨款");
    assert!(!holds[0].decided_on.is_empty());
    assert_eq!(holds[1].kind, K::Unspecified as i32);
    // None asked: every project on hold.
    let held = app.holds(&auditor(), Vec::new()).await.unwrap();
    assert_eq!(
        held.iter().map(|h| h.pro_code.as_str()).collect::<Vec<_>>(),
        [RED]
    );

    // A later 继续执行 supersedes the hold and lifts it.
    let go_on = app
        .decide(&finance(), round, RED, K::Continue, "", "")
        .await
        .unwrap();
    let holds = app.holds(&finance(), codes).await.unwrap();
    assert!(!holds[0].on_hold);
    assert_eq!(holds[0].kind, K::Continue as i32);
    assert!(app.holds(&finance(), Vec::new()).await.unwrap().is_empty());

    let list = |current_only| mon::ListDecisionsRequest {
        round_id: round,
        subject_key: RED.into(),
        current_only,
        page: None,
    };
    let all = app
        .deviations
        .clone()
        .list_decisions(app.req(&finance(), list(false)))
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].id, all[0].superseded_by), (go_on.id, 0));
    assert_eq!((all[1].id, all[1].superseded_by), (hold.id, go_on.id));
    let current = app
        .deviations
        .clone()
        .list_decisions(app.req(&unit(), list(true)))
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(current.iter().map(|d| d.id).collect::<Vec<_>>(), [go_on.id]);
    // Another unit does not see them.
    let hidden = app
        .deviations
        .clone()
        .list_decisions(app.req(&unit2(), list(false)))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let theirs = app
        .deviations
        .clone()
        .list_decisions(app.req(
            &unit2(),
            mon::ListDecisionsRequest {
                round_id: round,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(
        theirs.iter().map(|d| d.id).collect::<Vec<_>>(),
        [recovered.id]
    );
    // The deviation list shows the current decision.
    let list = app
        .deviations_of(&finance(), round, "", None)
        .await
        .unwrap();
    assert_eq!(list.deviations[0].decision.as_ref().unwrap().id, go_on.id);
}

/// 2,000 codes in one call (as the funding gate); more than 5,000 refused; units and the
/// province are refused.
async fn payment_holds_for_two_thousand_codes(db: TestDatabase) {
    use mon::DecisionKind as K;
    let app = spawn(db).await;
    let round = deviated_round(&app).await;
    app.decide(&finance(), round, RED2, K::StopPayments, "", "项目停止实施")
        .await
        .unwrap();
    let mut codes: Vec<String> = (0..1999).map(|i| format!("P-{i:05}")).collect();
    codes.insert(1000, RED2.to_owned());
    let holds = app.holds(&finance(), codes.clone()).await.unwrap();
    assert_eq!(holds.len(), 2000);
    assert_eq!(
        holds.iter().map(|h| h.pro_code.clone()).collect::<Vec<_>>(),
        codes,
        "one answer per code, in the order asked"
    );
    let held: Vec<&str> = holds
        .iter()
        .filter(|h| h.on_hold)
        .map(|h| h.pro_code.as_str())
        .collect();
    assert_eq!(held, [RED2]);
    assert_eq!(holds[1000].kind, K::StopPayments as i32);

    let too_many = app
        .holds(&finance(), (0..5001).map(|i| format!("P{i}")).collect())
        .await
        .unwrap_err();
    assert_eq!(reason(&too_many), "PRO_CODES_INVALID");
    for who in [unit(), department(), province()] {
        let denied = app.holds(&who, vec![RED.into()]).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{who:?}");
    }
}

pbm_testkit::backend_tests! {
    hold_and_release => decisions_hold_and_release_payments;
    two_thousand_codes => payment_holds_for_two_thousand_codes;
}
