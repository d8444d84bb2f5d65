//! The deviation list (偏离清单), warnings and the execution forecasts over real gRPC: a round
//! whose projects' budget execution is pushed through the ExecutionService; the red ones are
//! listed with their causes, each reader sees only its own subjects.

use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;

/// Deviated: [`UNIT`]'s project with red budget execution (20 %).
pub const RED: &str = "P-RED";
/// Not deviated: [`UNIT`]'s project on track (100 %).
pub const GREEN: &str = "P-GREEN";
/// Deviated: [`UNIT2`]'s project with red budget execution.
pub const RED2: &str = "P-RED2";

/// The round the deviation tests share: three approved projects, months 1–6, and their
/// execution to June pushed (RED and RED2 at 20 %, GREEN at 100 % of a 1,000,000 元 budget).
/// Returns the round's id.
pub async fn deviated_round(app: &App) -> i64 {
    app.library().await;
    app.approved(RED, "1000000").await;
    app.approved(GREEN, "1000000").await;
    app.approved_for(&unit2(), RED2, DEPT2, UNIT2, "1000000")
        .await;
    let round = app.open_round().await.unwrap();
    push_execution(app, &[(RED, "100000"), (GREEN, "500000"), (RED2, "100000")]).await;
    round.id
}

/// Pushes June's cumulative execution (of a 1,000,000 元 budget) for each (code, executed).
pub async fn push_execution(app: &App, rows: &[(&str, &str)]) {
    let rows = rows
        .iter()
        .map(|(code, executed)| mon::ExecutionRow {
            pro_code: (*code).into(),
            month: 6,
            initial_budget: dec("1000000"),
            executed: dec(executed),
            ..Default::default()
        })
        .collect();
    let pushed = app
        .execution
        .clone()
        .push_execution(app.req(
            &finance(),
            mon::PushExecutionRequest {
                request_id: app.rid(),
                fiscal_year: FY,
                rows,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pushed.rejected, 0, "{pushed:?}");
}

impl App {
    pub async fn deviations_of(
        &self,
        who: &Who,
        round_id: i64,
        department: &str,
        page: Option<pbm_proto::common::v1::PageRequest>,
    ) -> Result<mon::ListDeviationsResponse, Status> {
        Ok(self
            .deviations
            .clone()
            .list_deviations(self.req(
                who,
                mon::ListDeviationsRequest {
                    round_id,
                    department_code: department.into(),
                    page,
                },
            ))
            .await?
            .into_inner())
    }

    pub async fn warnings_of(
        &self,
        who: &Who,
        m: mon::ListWarningsRequest,
    ) -> Result<Vec<mon::Warning>, Status> {
        Ok(self
            .deviations
            .clone()
            .list_warnings(self.req(who, m))
            .await?
            .into_inner()
            .warnings)
    }
}

fn keys(list: &mon::ListDeviationsResponse) -> Vec<String> {
    list.deviations
        .iter()
        .map(|d| d.subject.as_ref().unwrap().subject_key.clone())
        .collect()
}

/// A red budget axis puts the subject on the deviation list with its budget warning explaining
/// itself (inputs, formula, the rules version); the list pages by keyset.
async fn red_budget_execution_is_a_deviation(db: TestDatabase) {
    let app = spawn(db).await;
    let round = deviated_round(&app).await;

    let all = app
        .deviations_of(&finance(), round, "", None)
        .await
        .unwrap();
    assert_eq!(keys(&all), [RED, RED2], "department order, then subject");
    assert_eq!(all.page.as_ref().unwrap().total_size, 2);
    let red = &all.deviations[0];
    let subject = red.subject.as_ref().unwrap();
    assert!(subject.deviated);
    assert_eq!(subject.budget_colour, mon::Colour::Red as i32);
    assert_eq!(subject.agency_code, UNIT);
    assert_ne!(
        subject.deadline_status,
        mon::DeadlineStatus::Unspecified as i32,
        "the subject carries its report's deadline status as the round's lists do"
    );
    let budget = red.budget.as_ref().unwrap();
    assert_eq!(budget.colour, mon::Colour::Red as i32);
    assert_eq!(budget.progress.as_ref().unwrap().value, "20");
    assert!(budget.explanation.contains("预算执行进度"), "{budget:?}");
    assert!(budget.explanation.contains("红色"), "{budget:?}");
    assert!(!budget.inputs.is_empty());
    assert!(red.decision.is_none());
    assert_eq!(red.open_actions, 0);

    // Keyset pages of one: the token carries on after the last subject shown.
    let first = app
        .deviations_of(
            &finance(),
            round,
            "",
            Some(pbm_proto::common::v1::PageRequest {
                page_size: 1,
                page_token: String::new(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(keys(&first), [RED]);
    let token = first.page.unwrap().next_page_token;
    assert!(!token.is_empty());
    let second = app
        .deviations_of(
            &finance(),
            round,
            "",
            Some(pbm_proto::common::v1::PageRequest {
                page_size: 1,
                page_token: token,
            }),
        )
        .await
        .unwrap();
    assert_eq!(keys(&second), [RED2]);
    let bad = app
        .deviations_of(
            &finance(),
            round,
            "",
            Some(pbm_proto::common::v1::PageRequest {
                page_size: 1,
                page_token: "o1".into(),
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(reason(&bad), "PAGE_TOKEN_INVALID");
    // Finance filters by department.
    let dept2 = app
        .deviations_of(&finance(), round, DEPT2, None)
        .await
        .unwrap();
    assert_eq!(keys(&dept2), [RED2]);

    // The warnings: red budget ones only, each naming its rules version.
    let red_budget = app
        .warnings_of(
            &finance(),
            mon::ListWarningsRequest {
                round_id: round,
                axis: mon::Axis::Budget as i32,
                colours: vec![mon::Colour::Red as i32],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let subjects: Vec<&str> = red_budget.iter().map(|w| w.subject_key.as_str()).collect();
    assert_eq!(subjects, [RED, RED2]);
    let green = app
        .warnings_of(
            &finance(),
            mon::ListWarningsRequest {
                round_id: round,
                subject_key: GREEN.into(),
                axis: mon::Axis::Budget as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(green.len(), 1);
    assert_eq!(green[0].colour, mon::Colour::Green as i32);
    assert!(green[0].explanation.contains("绿色"), "{:?}", green[0]);

    // The early warning: every subject has its year-end forecast; the red ones alone on ask.
    let forecasts = app
        .deviations
        .clone()
        .list_execution_forecasts(app.req(
            &finance(),
            mon::ListExecutionForecastsRequest {
                round_id: round,
                below_only: false,
                page: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forecasts.forecasts.len(), 3);
    assert!(forecasts.forecasts.iter().all(|f| f.forecast.is_some()));
    let below = app
        .deviations
        .clone()
        .list_execution_forecasts(app.req(
            &finance(),
            mon::ListExecutionForecastsRequest {
                round_id: round,
                below_only: true,
                page: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let below: Vec<String> = below
        .forecasts
        .iter()
        .map(|f| f.subject.as_ref().unwrap().subject_key.clone())
        .collect();
    assert_eq!(below, [RED, RED2]);
}

/// Each reader sees its own: a unit its projects, a department its units', an auditor all;
/// another unit's subject is NOT_FOUND; roles outside the table are refused before anything.
async fn deviations_are_narrowed_to_the_reader(db: TestDatabase) {
    let app = spawn(db).await;
    let round = deviated_round(&app).await;

    let mine = app.deviations_of(&unit(), round, "", None).await.unwrap();
    assert_eq!(keys(&mine), [RED]);
    let theirs = app.deviations_of(&unit2(), round, "", None).await.unwrap();
    assert_eq!(keys(&theirs), [RED2]);
    assert_eq!(theirs.page.unwrap().total_size, 1);
    let dept = app
        .deviations_of(&department(), round, "", None)
        .await
        .unwrap();
    assert_eq!(keys(&dept), [RED]);
    // A department asking for another's department sees nothing of it.
    let other = app
        .deviations_of(&department(), round, DEPT2, None)
        .await
        .unwrap();
    assert!(other.deviations.is_empty());
    let audited = app
        .deviations_of(&auditor(), round, "", None)
        .await
        .unwrap();
    assert_eq!(keys(&audited), [RED, RED2]);

    let warnings = app
        .warnings_of(
            &unit2(),
            mon::ListWarningsRequest {
                round_id: round,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!warnings.is_empty());
    assert!(
        warnings.iter().all(|w| w.subject_key == RED2),
        "{warnings:?}"
    );
    let hidden = app
        .warnings_of(
            &unit2(),
            mon::ListWarningsRequest {
                round_id: round,
                subject_key: RED.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    // An agency with no commission sees no warning.
    let none = app
        .warnings_of(
            &agency("91350100M000100Y4X"),
            mon::ListWarningsRequest {
                round_id: round,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    for who in [agency("91350100M000100Y4X"), province()] {
        let denied = app.deviations_of(&who, round, "", None).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{who:?}");
        assert_eq!(reason(&denied), "ROLE_NOT_ALLOWED");
    }
    let missing = app
        .deviations_of(&finance(), round + 99, "", None)
        .await
        .unwrap_err();
    assert_eq!(
        (missing.code(), reason(&missing).as_str()),
        (Code::NotFound, "ROUND_NOT_FOUND")
    );
    let long = app
        .deviations_of(&finance(), round, &"D".repeat(65), None)
        .await
        .unwrap_err();
    assert_eq!(reason(&long), "TEXT_TOO_LONG");
}

pbm_testkit::backend_tests! {
    red_budget_execution => red_budget_execution_is_a_deviation;
    narrowed_to_the_reader => deviations_are_narrowed_to_the_reader;
}
