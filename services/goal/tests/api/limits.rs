//! Every text of a request within its stated maximum (`TEXT_TOO_LONG`, field by field, before
//! anything is kept), and dates within the years PBM serves (`DATE_OUT_OF_RANGE`).

use pbm_proto::goal::v1 as pb;
use pbm_testkit::{TestDatabase, has_field, refused, violation_reasons};
use tonic::Code;

use crate::common::*;

/// One mebibyte of text.
fn mebibyte() -> String {
    "目".repeat((1 << 20) / 3)
}

async fn a_mebibyte_of_year_goal_is_refused_and_nothing_kept(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-1", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let mut d = full("P-1");
    d.year_goal = mebibyte();
    let s = refused(
        app.save(&unit(), d, 0).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    assert_eq!(
        violation_reasons(&s),
        [("declaration.year_goal".into(), "TEXT_TOO_LONG".into())]
    );
    assert!(
        violations(&s)[0]
            .1
            .starts_with("「年度目标」不能超过 4000 个字符"),
        "{s:?}"
    );
    // Every text over its maximum at once.
    let mut d = full("P-1");
    d.year_goal = "目".repeat(4001);
    d.mid_term_goal = mebibyte();
    d.indicators[2].target_value = "9".repeat(501);
    let s = refused(
        app.save(&unit(), d, 0).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    assert_eq!(
        violation_reasons(&s),
        [
            ("declaration.year_goal".into(), "TEXT_TOO_LONG".into()),
            ("declaration.mid_term_goal".into(), "TEXT_TOO_LONG".into()),
            (
                "declaration.indicators[2].target_value".into(),
                "TEXT_TOO_LONG".into()
            ),
        ]
    );
    // No draft was kept.
    let listed = app
        .goals
        .clone()
        .list_goals(app.req(&finance(), pb::ListGoalsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.goals.is_empty());
    // At its maximum a year goal is a draft (the 2,000 of SubmitGoal's checks come later).
    let mut d = full("P-1");
    d.year_goal = "目".repeat(4000);
    app.save(&unit(), d, 0).await.unwrap();
}

async fn every_request_text_has_its_maximum(db: TestDatabase) {
    let app = spawn(db).await;
    app.project("P-1", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let long_code = "P".repeat(65);
    // A project's name.
    let r = pb::DeclareProjectRequest {
        request_id: app.rid(),
        spec: Some(pb::ProjectSpec {
            pro_code: "P-2".into(),
            name: "名".repeat(201),
            agency_code: UNIT.into(),
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
    let s = refused(
        app.goals.clone().declare_project(app.req(&unit(), r)).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "spec.name");
    // Codes in reads, lists and the funding gate.
    let s = refused(
        app.goals
            .clone()
            .get_project(app.req(
                &unit(),
                pb::GetProjectRequest {
                    pro_code: long_code.clone(),
                    fiscal_year: FY,
                },
            ))
            .await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "pro_code");
    let s = refused(
        app.goals
            .clone()
            .list_goals(app.req(
                &finance(),
                pb::ListGoalsRequest {
                    agency_code: mebibyte(),
                    ..Default::default()
                },
            ))
            .await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "agency_code");
    let s = refused(
        app.goals
            .clone()
            .check_funding_eligibility(app.req(
                &finance(),
                pb::CheckFundingEligibilityRequest {
                    fiscal_year: FY,
                    pro_codes: vec!["P-1".into(), long_code.clone()],
                },
            ))
            .await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "pro_codes[1]");
    // A 专项债 item's text on a project that is not one is bounded too.
    let mut r = report("P-1", "support", "");
    r.special_bond_items = vec![pb::SpecialBondItemText {
        item: "other".into(),
        text: mebibyte(),
    }];
    let s = refused(
        app.ex_ante(&unit(), r, 0).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "report.special_bond_items[0].text");
}

async fn dates_lie_in_the_years_pbm_serves(db: TestDatabase) {
    let app = spawn(db).await;
    app.project("P-1", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    for day in ["0000-01-01", "1999-12-31", "2101-01-01"] {
        let mut r = report("P-1", "support", "");
        r.completed_on = day.into();
        let s = refused(
            app.ex_ante(&unit(), r, 0).await,
            Code::InvalidArgument,
            "DATE_OUT_OF_RANGE",
        );
        has_field(&s, "report.completed_on");
    }
    // A deadline in the year 9999 is refused before the pool is asked.
    let r = pb::CommissionExAnteAssessmentRequest {
        request_id: app.rid(),
        pro_code: "P-1".into(),
        fiscal_year: FY,
        weighted_by_rating: false,
        due_on: "9999-12-31".into(),
    };
    let s = refused(
        app.goals
            .clone()
            .commission_ex_ante_assessment(app.req(&finance(), r))
            .await,
        Code::InvalidArgument,
        "DATE_OUT_OF_RANGE",
    );
    has_field(&s, "due_on");
    // A report completed on a day of the years served is filed.
    app.ex_ante(&unit(), report("P-1", "support", ""), 0)
        .await
        .unwrap();
}

pbm_testkit::backend_tests! {
    mebibyte_year_goal_refused => a_mebibyte_of_year_goal_is_refused_and_nothing_kept;
    every_request_text_has_its_maximum => every_request_text_has_its_maximum;
    dates_in_the_years_served => dates_lie_in_the_years_pbm_serves;
}
