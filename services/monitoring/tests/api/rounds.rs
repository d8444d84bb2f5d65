//! RoundService over real gRPC: opening a round over approved goals, draft goals and projects
//! without a goal (the snapshot from the goal service), idempotent replays, validation, the
//! rules' versions and re-pinning, closing, reopening a unit, deadlines, statistics, and who may
//! do and see what.

use pbm_proto::monitoring::v1 as mon;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

/// Finance of another city: refused everywhere.
fn foreign_finance() -> Who {
    Who::finance("140600")
}

/// P001 approved (unit, DEPT), P002 a draft goal (unit, DEPT), P003 no goal (unit2, DEPT2).
async fn three_projects(app: &App) {
    app.library().await;
    app.approved("P001", "1000000").await;
    app.declared(&unit(), "P002", DEPT, UNIT, "2000000").await;
    app.project(&unit2(), "P003", DEPT2, UNIT2, "3000000").await;
}

fn open_request(app: &App) -> mon::OpenRoundRequest {
    mon::OpenRoundRequest {
        request_id: app.rid(),
        fiscal_year: FY,
        name: "2026年1-6月绩效运行监控".into(),
        months_to: 6,
        starts_on: "2026-07-01".into(),
        deadline: "2026-07-15".into(),
        lead_days: 3,
        scope: Some(mon::RoundScope::default()),
    }
}

async fn subjects_as(
    app: &App,
    who: &Who,
    round: i64,
) -> Result<Vec<mon::RoundSubject>, tonic::Status> {
    let r = mon::ListRoundSubjectsRequest {
        round_id: round,
        ..Default::default()
    };
    Ok(app
        .rounds
        .clone()
        .list_round_subjects(app.req(who, r))
        .await?
        .into_inner()
        .subjects)
}

fn amount(d: &Option<pbm_proto::common::v1::Decimal>) -> pbm_types::Decimal {
    pbm_types::decimal::parse(&d.as_ref().expect("an amount").value).expect("a decimal")
}

fn state_of(subjects: &[mon::RoundSubject], key: &str) -> mon::GoalState {
    subjects
        .iter()
        .find(|s| s.subject_key == key)
        .map(|s| s.goal_state())
        .unwrap_or_else(|| panic!("{key} listed"))
}

async fn opens_over_every_project_idempotently(db: TestDatabase) {
    let app = spawn(db).await;
    three_projects(&app).await;
    let request = open_request(&app);
    let mut rounds = app.rounds.clone();
    let round = rounds
        .open_round(app.req(&finance(), request.clone()))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(round.status(), mon::RoundStatus::Open);
    assert_eq!(
        (round.subjects, round.with_approved_goal, round.without_goal),
        (3, 1, 2)
    );
    assert_eq!(round.rules_version, 0);
    assert_eq!(round.revision, 1);

    let subjects = subjects_as(&app, &finance(), round.id).await.unwrap();
    assert_eq!(subjects.len(), 3);
    assert_eq!(state_of(&subjects, "P001"), mon::GoalState::Approved);
    assert_eq!(state_of(&subjects, "P002"), mon::GoalState::NotApproved);
    assert_eq!(state_of(&subjects, "P003"), mon::GoalState::NoGoal);
    let p1 = subjects.iter().find(|s| s.subject_key == "P001").unwrap();
    assert!(p1.goal_id > 0 && p1.goal_version >= 1, "{p1:?}");
    assert_eq!(p1.agency_code, UNIT);
    assert_eq!(amount(&p1.amount), amount(&dec("1000000")));
    // Nothing reported and no execution yet: no colours, not deviated; the deadline ahead.
    assert_eq!(p1.budget_colour(), mon::Colour::Unspecified);
    assert!(!p1.deviated);
    assert_eq!(p1.deadline_status(), mon::DeadlineStatus::Normal);

    // The approved version's indicators, snapshotted.
    let got = rounds
        .get_round_subject(app.req(
            &unit(),
            mon::GetRoundSubjectRequest {
                round_id: round.id,
                subject_key: "P001".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.indicators.len(), 4);
    assert_eq!(got.indicators[0].seq, 1);
    assert_eq!(got.indicators[0].target_value, "12");
    assert_eq!(got.indicators[0].library_code, "OUT-001");
    assert!(got.indicators.iter().all(|i| i.direction != 0));
    let draft = rounds
        .get_round_subject(app.req(
            &finance(),
            mon::GetRoundSubjectRequest {
                round_id: round.id,
                subject_key: "P002".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(draft.indicators.is_empty());

    // Replayed: the same round, no second one.
    let again = rounds
        .open_round(app.req(&finance(), request.clone()))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(again.id, round.id);
    let mut other = request;
    other.name = "另一个轮次".into();
    let reused = rounds
        .open_round(app.req(&finance(), other))
        .await
        .unwrap_err();
    assert_eq!(reason(&reused), "REQUEST_ID_REUSED");
    let list = rounds
        .list_rounds(app.req(&finance(), mon::ListRoundsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.rounds.len(), 1);
}

async fn refuses_bad_rounds_with_every_field(db: TestDatabase) {
    let app = spawn(db).await;
    let mut bad = open_request(&app);
    bad.name = "  ".into();
    bad.months_to = 13;
    bad.starts_on = "2026-07-20".into();
    bad.deadline = "2026-07-15".into();
    bad.lead_days = 61;
    bad.fiscal_year = 1999;
    let e = app
        .rounds
        .clone()
        .open_round(app.req(&finance(), bad))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let v = pbm_testkit::violation_reasons(&e);
    for (field, code) in [
        ("fiscal_year", "FISCAL_YEAR_INVALID"),
        ("name", "NAME_REQUIRED"),
        ("months_to", "MONTH_INVALID"),
        ("deadline", "DEADLINE_BEFORE_START"),
        ("lead_days", "LEAD_DAYS_INVALID"),
    ] {
        assert!(
            v.iter().any(|(f, r)| f == field && r == code),
            "{field} {code} in {v:?}"
        );
    }
    let mut dates = open_request(&app);
    dates.starts_on = "2026-02-30".into();
    dates.name = "名".repeat(101);
    let e = app
        .rounds
        .clone()
        .open_round(app.req(&finance(), dates))
        .await
        .unwrap_err();
    let v = pbm_testkit::violation_reasons(&e);
    assert!(
        v.iter()
            .any(|(f, r)| f == "starts_on" && r == "DATE_INVALID"),
        "{v:?}"
    );
    assert!(
        v.iter().any(|(f, r)| f == "name" && r == "NAME_TOO_LONG"),
        "{v:?}"
    );
    // Nothing was opened.
    let list = app
        .rounds
        .clone()
        .list_rounds(app.req(&finance(), mon::ListRoundsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(list.rounds.is_empty());
}

fn rules(version: i64, red: &str, yellow: &str) -> mon::MonitoringRules {
    mon::MonitoringRules {
        fiscal_year: FY,
        budget_red_below: dec(red),
        budget_yellow_below: dec(yellow),
        version,
        ..Default::default()
    }
}

async fn rules_are_versioned_and_rounds_re_pinned(db: TestDatabase) {
    let app = spawn(db).await;
    three_projects(&app).await;
    let mut rounds = app.rounds.clone();
    let get = mon::GetMonitoringRulesRequest { fiscal_year: FY };
    let defaults = rounds
        .get_monitoring_rules(app.req(&unit(), get))
        .await
        .unwrap()
        .into_inner()
        .rules
        .unwrap();
    assert_eq!(defaults.version, 0);
    assert_eq!(defaults.budget_red_below, dec("60"));
    assert_eq!(defaults.forecast_method, "recent_pace_3");
    let round = app.open_round().await.unwrap();

    let set = |r: mon::MonitoringRules| mon::SetMonitoringRulesRequest {
        request_id: app.rid(),
        rules: Some(r),
    };
    let v1 = rounds
        .set_monitoring_rules(app.req(&finance(), set(rules(0, "50", "70"))))
        .await
        .unwrap()
        .into_inner()
        .rules
        .unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.label, "2026年度监控规则第1版");
    assert_eq!(v1.budget_red_below, dec("50"));
    assert_eq!(v1.indicator_red_below, dec("60"));
    let stale = rounds
        .set_monitoring_rules(app.req(&finance(), set(rules(0, "40", "70"))))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "VERSION_MISMATCH");
    let unordered = rounds
        .set_monitoring_rules(app.req(&finance(), set(rules(1, "80", "70"))))
        .await
        .unwrap_err();
    assert_eq!(unordered.code(), Code::InvalidArgument);
    assert!(
        pbm_testkit::violation_reasons(&unordered)
            .iter()
            .any(|(f, r)| f == "rules.budget_yellow_below" && r == "BANDS_NOT_ORDERED"),
        "{:?}",
        pbm_testkit::violation_reasons(&unordered)
    );
    let denied = rounds
        .set_monitoring_rules(app.req(&department(), set(rules(1, "40", "70"))))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // The open round keeps version 0 until re-pinned.
    let kept = rounds
        .get_round(app.req(&finance(), mon::GetRoundRequest { round_id: round.id }))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(kept.rules_version, 0);
    let pin = |expected| mon::SetRoundRulesRequest {
        request_id: app.rid(),
        round_id: round.id,
        expected_revision: expected,
    };
    let stale = rounds
        .set_round_rules(app.req(&finance(), pin(7)))
        .await
        .unwrap_err();
    assert_eq!(reason(&stale), "STALE_REVISION");
    let pinned = rounds
        .set_round_rules(app.req(&finance(), pin(round.revision)))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(pinned.rules_version, 1);
    assert_eq!(pinned.rules_label, "2026年度监控规则第1版");
    assert_eq!(pinned.revision, round.revision + 1);
}

async fn closes_reopens_and_counts(db: TestDatabase) {
    let app = spawn(db).await;
    three_projects(&app).await;
    let round = app.open_round().await.unwrap();
    let mut rounds = app.rounds.clone();
    let reopen = |agency: &str, day: &str, reason: &str| mon::ReopenUnitRequest {
        request_id: app.rid(),
        round_id: round.id,
        agency_code: agency.into(),
        new_deadline: day.into(),
        reason: reason.into(),
    };
    // After the deadline: every unit overdue.
    app.set_today(july(20));
    let deadlines = rounds
        .list_unit_deadlines(app.req(
            &finance(),
            mon::ListUnitDeadlinesRequest {
                round_id: round.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .units;
    assert_eq!(deadlines.len(), 2);
    assert!(
        deadlines
            .iter()
            .all(|u| u.status() == mon::DeadlineStatus::Overdue)
    );

    let e = rounds
        .reopen_unit(app.req(&finance(), reopen(UNIT, "2026-07-10", "")))
        .await
        .unwrap_err();
    let v = pbm_testkit::violation_reasons(&e);
    assert!(
        v.iter()
            .any(|(f, r)| f == "new_deadline" && r == "DEADLINE_IN_PAST"),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|(f, r)| f == "reason" && r == "REASON_REQUIRED"),
        "{v:?}"
    );
    let e = rounds
        .reopen_unit(app.req(&finance(), reopen("999999", "2026-07-31", "补报")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = rounds
        .reopen_unit(app.req(&unit(), reopen(UNIT, "2026-07-31", "补报")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let unit_now = rounds
        .reopen_unit(app.req(&finance(), reopen(UNIT, "2026-07-31", "系统故障，延期补报")))
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert_eq!(unit_now.reopened, 1);
    assert_eq!(unit_now.deadline, "2026-07-31");
    assert_eq!(unit_now.status(), mon::DeadlineStatus::Normal);
    assert_eq!(unit_now.reports, 2);

    // Statistics: three subjects, one matched.
    let stats = rounds
        .get_round_statistics(app.req(
            &province(),
            mon::GetRoundStatisticsRequest { round_id: round.id },
        ))
        .await
        .unwrap()
        .into_inner();
    let totals = stats.totals.unwrap();
    assert_eq!(
        (totals.subjects, totals.matched, totals.without_goal),
        (3, 1, 2)
    );
    assert_eq!(totals.overdue, 1, "UNIT2 is still overdue, UNIT reopened");
    assert_eq!(amount(&totals.amount), amount(&dec("6000000")));
    let dept = stats
        .rows
        .iter()
        .find(|r| r.department_code == DEPT)
        .unwrap();
    assert_eq!(dept.subjects, 2);
    assert_eq!(totals.budget.unwrap().none, 3);

    // Closed: frozen.
    let closed = rounds
        .close_round(app.req(
            &finance(),
            mon::CloseRoundRequest {
                request_id: app.rid(),
                round_id: round.id,
                expected_revision: round.revision,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(closed.status(), mon::RoundStatus::Closed);
    let again = rounds
        .close_round(app.req(
            &finance(),
            mon::CloseRoundRequest {
                request_id: app.rid(),
                round_id: round.id,
                expected_revision: closed.revision,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "ROUND_CLOSED");
    let e = rounds
        .reopen_unit(app.req(&finance(), reopen(UNIT2, "2026-07-31", "补报")))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "ROUND_CLOSED");
}

async fn narrows_every_list_to_the_caller(db: TestDatabase) {
    let app = spawn(db).await;
    three_projects(&app).await;
    let mut rounds = app.rounds.clone();
    // Only finance of this region opens.
    for who in [unit(), department(), auditor(), foreign_finance()] {
        let e = rounds
            .open_round(app.req(&who, open_request(&app)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
    }
    let round = app.open_round().await.unwrap();

    let keys = |list: Vec<mon::RoundSubject>| {
        let mut k: Vec<String> = list.into_iter().map(|s| s.subject_key).collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(subjects_as(&app, &unit(), round.id).await.unwrap()),
        ["P001", "P002"]
    );
    assert_eq!(
        keys(subjects_as(&app, &department2(), round.id).await.unwrap()),
        ["P003"]
    );
    assert_eq!(
        keys(subjects_as(&app, &auditor(), round.id).await.unwrap()).len(),
        3
    );
    assert!(
        subjects_as(&app, &agency("91140500MA0000000X"), round.id)
            .await
            .unwrap()
            .is_empty()
    );
    let e = subjects_as(&app, &province(), round.id).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = subjects_as(&app, &foreign_finance(), round.id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Another unit's subject is not found, never denied.
    let e = rounds
        .get_round_subject(app.req(
            &unit(),
            mon::GetRoundSubjectRequest {
                round_id: round.id,
                subject_key: "P003".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // A unit sees the round with its own counts, and only its own deadline.
    let seen = rounds
        .get_round(app.req(&unit(), mon::GetRoundRequest { round_id: round.id }))
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    assert_eq!(seen.subjects, 2);
    let units = rounds
        .list_unit_deadlines(app.req(
            &unit2(),
            mon::ListUnitDeadlinesRequest {
                round_id: round.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .units;
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].agency_code, UNIT2);
    // Statistics are for finance, auditors and the province.
    let e = rounds
        .get_round_statistics(app.req(
            &department(),
            mon::GetRoundStatisticsRequest { round_id: round.id },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}

async fn execution_pushed_before_opening_colours_the_snapshot(db: TestDatabase) {
    let app = spawn(db).await;
    three_projects(&app).await;
    let row = |code: &str, executed: &str| mon::ExecutionRow {
        pro_code: code.into(),
        month: 6,
        initial_budget: dec("10000000"),
        executed: dec(executed),
        ..Default::default()
    };
    // A code the goal service does not know, with its unit from the budget system.
    let unknown = mon::ExecutionRow {
        agency_code: UNIT2.into(),
        department_code: DEPT2.into(),
        name: "P900 预算系统项目".into(),
        ..row("P900", "9000000")
    };
    app.execution
        .clone()
        .push_execution(app.req(
            &finance(),
            mon::PushExecutionRequest {
                request_id: app.rid(),
                fiscal_year: FY,
                rows: vec![row("P001", "3000000"), unknown],
            },
        ))
        .await
        .unwrap();
    let round = app.open_round().await.unwrap();
    assert_eq!(round.subjects, 4);
    assert_eq!(round.deviated, 1);
    let subjects = subjects_as(&app, &finance(), round.id).await.unwrap();
    let p1 = subjects.iter().find(|s| s.subject_key == "P001").unwrap();
    // 3,000,000 ÷ 10,000,000 ÷ (6 ÷ 12) × 100 = 60 → yellow.
    assert_eq!(p1.budget_colour(), mon::Colour::Yellow);
    assert!(p1.deviated);
    let p900 = subjects.iter().find(|s| s.subject_key == "P900").unwrap();
    assert_eq!(p900.origin, "execution");
    assert_eq!(p900.goal_state(), mon::GoalState::NoGoal);
    assert_eq!(p900.budget_colour(), mon::Colour::Green);
}

async fn an_adjusted_goal_keeps_its_snapshot(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    let goal = app.approved("P001", "1000000").await;
    let round = app.open_round().await.unwrap();
    let mut goals = app.goals.clone();
    let adjusting = goals
        .request_adjustment(app.req(
            &unit(),
            pbm_proto::goal::v1::RequestAdjustmentRequest {
                request_id: app.rid(),
                goal_id: goal.id,
                expected_revision: goal.revision,
                budget_adjustment_ref: "调剂2026-001".into(),
                reason: "年中预算调剂，调整建设数量".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let mut declaration = adjusting.declaration.clone().unwrap();
    declaration.indicators[0].target_value = "20".into();
    goals
        .save_goal(app.req(
            &unit(),
            pbm_proto::goal::v1::SaveGoalRequest {
                request_id: app.rid(),
                declaration: Some(declaration),
                expected_revision: adjusting.revision,
            },
        ))
        .await
        .unwrap();
    let adjusted = app.approve_declared(&unit(), "P001").await;
    assert!(adjusted.approved_version > goal.approved_version);
    let got = app
        .rounds
        .clone()
        .get_round_subject(app.req(
            &finance(),
            mon::GetRoundSubjectRequest {
                round_id: round.id,
                subject_key: "P001".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let subject = got.subject.unwrap();
    assert_eq!(subject.goal_version, i64::from(goal.approved_version));
    assert_eq!(got.indicators[0].target_value, "12");
}

pbm_testkit::backend_tests! {
    opens_over_every_project => opens_over_every_project_idempotently;
    refuses_bad_rounds => refuses_bad_rounds_with_every_field;
    rules_versions => rules_are_versioned_and_rounds_re_pinned;
    close_reopen_statistics => closes_reopens_and_counts;
    list_leakage => narrows_every_list_to_the_caller;
    execution_before_opening => execution_pushed_before_opening_colours_the_snapshot;
    adjusted_goal_keeps_snapshot => an_adjusted_goal_keeps_its_snapshot;
}
