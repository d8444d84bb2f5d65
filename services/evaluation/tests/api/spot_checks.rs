//! SpotCheckService over real gRPC, on both backends: risk ranking with its factors, selection
//! (random, risk, stratified) recorded and replayed, commissioning through the pool, reviews
//! re-scored by the engine, findings and statistics, and who sees what.
//!
//! The campaign's submitted sheets are written through the service's own store (the campaign
//! and sheet workflows have their own tests); everything after is the API's.

use chrono::NaiveDate;
use pbm_db::Money;
use pbm_evaluation::store::{self, CampaignRow, NewSheet, SheetIndicatorRow};
use pbm_proto::agency::v1 as ag;
use pbm_proto::evaluation::v1 as ev;
use rust_decimal::Decimal;
use tonic::Status;

use crate::common::*;

/// One submitted sheet: key, unit, department, budget, executed, self-score, grade, red
/// warnings.
struct Seed {
    key: &'static str,
    unit: &'static str,
    dept: &'static str,
    budget: i64,
    executed: i64,
    total: i64,
    grade: &'static str,
    red: i32,
}

const SEEDS: [Seed; 6] = [
    Seed {
        key: "P001",
        unit: UNIT,
        dept: DEPT,
        budget: 1_000_000,
        executed: 500_000,
        total: 95,
        grade: "excellent",
        red: 3,
    },
    Seed {
        key: "P002",
        unit: UNIT,
        dept: DEPT,
        budget: 200_000,
        executed: 190_000,
        total: 92,
        grade: "excellent",
        red: 0,
    },
    Seed {
        key: "P003",
        unit: UNIT2,
        dept: DEPT2,
        budget: 800_000,
        executed: 780_000,
        total: 85,
        grade: "good",
        red: 0,
    },
    Seed {
        key: "P004",
        unit: UNIT2,
        dept: DEPT2,
        budget: 300_000,
        executed: 120_000,
        total: 90,
        grade: "excellent",
        red: 1,
    },
    Seed {
        key: "P005",
        unit: UNIT,
        dept: DEPT,
        budget: 100_000,
        executed: 100_000,
        total: 70,
        grade: "fair",
        red: 0,
    },
    Seed {
        key: "P006",
        unit: UNIT2,
        dept: DEPT2,
        budget: 500_000,
        executed: 450_000,
        total: 88,
        grade: "good",
        red: 0,
    },
];

fn m(v: i64) -> Money {
    Money(Decimal::from(v))
}

/// A campaign of [`FY`] with the [`SEEDS`] submitted (two indicators each: 产出 ≥ 10, 效益 ≥
/// 100, achieved 10 and 100), and one sheet still a draft; returns the campaign id.
async fn seed(app: &App) -> i64 {
    app.db()
        .write(|conn| -> Result<i64, pbm_db::StoreError> {
            let now = pbm_db::now();
            let id = store::insert_campaign(
                conn,
                &CampaignRow {
                    id: 0,
                    fiscal_year: FY,
                    name: "2026年度项目支出绩效自评".into(),
                    deadline: NaiveDate::from_ymd_opt(FY + 1, 3, 31).unwrap(),
                    lead_days: 5,
                    status: "open".into(),
                    rules_version: 0,
                    rules_label: "全国默认评分规则".into(),
                    revision: 1,
                    sheets: SEEDS.len() as i64 + 1,
                    execution_month: 12,
                    opened_by: "finance".into(),
                    opened_at: now,
                    changed_by: "finance".into(),
                    changed_at: now,
                },
            )?;
            let sheet = |key: &str, unit: &str, dept: &str, status: &str| NewSheet {
                campaign_id: id,
                subject_key: key.into(),
                pro_code: key.into(),
                department_code: dept.into(),
                agency_code: unit.into(),
                name: format!("项目{key}"),
                fund_source: "general".into(),
                special_field: "none".into(),
                goal_id: 1,
                goal_version: 1,
                year_goal: "年度目标".into(),
                budget: m(0),
                executed: m(0),
                execution_month: 12,
                red_warnings: 0,
                yellow_warnings: 0,
                deviated: false,
                execution_reason: String::new(),
                summary: "总结".into(),
                status: status.into(),
                revision: 2,
                total: m(0),
                grade: "poor".into(),
                execution_rate: m(0),
                score: String::new(),
                return_reason: String::new(),
                late: false,
                changed_by: "unit".into(),
                changed_at: now,
            };
            let mut rows: Vec<NewSheet> = SEEDS
                .iter()
                .map(|s| NewSheet {
                    budget: m(s.budget),
                    executed: m(s.executed),
                    red_warnings: s.red,
                    total: m(s.total),
                    grade: s.grade.into(),
                    execution_rate: Money(
                        Decimal::from(s.executed * 100) / Decimal::from(s.budget),
                    ),
                    ..sheet(s.key, s.unit, s.dept, "submitted")
                })
                .collect();
            rows.push(sheet("P099", UNIT, DEPT, "draft"));
            store::insert_sheets(conn, &rows)?;
            let ids = store::sheet_ids(conn, id)?;
            let indicator =
                |sheet_id: i64, seq: i32, level1: &str, target: &str| SheetIndicatorRow {
                    sheet_id,
                    seq,
                    level1_name: level1.into(),
                    level2_name: String::new(),
                    name: format!("指标{seq}"),
                    direction: "ge".into(),
                    unit: "处".into(),
                    target_value: target.into(),
                    goal_weight: None,
                    achieved_value: target.into(),
                    tier: String::new(),
                    qualitative_score: None,
                    not_applicable: false,
                    not_applicable_reason: String::new(),
                    deviation_causes: String::new(),
                    improvement_measures: String::new(),
                    weight: m(0),
                    points: m(0),
                    applicable: true,
                    deviates: false,
                };
            let indicators: Vec<SheetIndicatorRow> = ids
                .values()
                .flat_map(|&s| {
                    [
                        indicator(s, 1, "产出指标", "10"),
                        indicator(s, 2, "效益指标", "100"),
                    ]
                })
                .collect();
            store::insert_sheet_indicators(conn, &indicators)?;
            Ok(id)
        })
        .await
        .unwrap()
}

fn select_request(
    app: &App,
    campaign_id: i64,
    method: ev::SampleMethod,
    size: i32,
) -> ev::SelectSpotCheckRequest {
    ev::SelectSpotCheckRequest {
        request_id: app.rid(),
        campaign_id,
        name: "2026年度自评抽查".into(),
        method: method as i32,
        size,
        seed: 0,
        weights: None,
        stratum: 0,
        risk_percent: 0,
        reviewer: ev::Reviewer::Finance as i32,
    }
}

async fn select(
    app: &App,
    who: &Who,
    r: ev::SelectSpotCheckRequest,
) -> Result<ev::SpotCheck, Status> {
    Ok(app
        .spots
        .clone()
        .select_spot_check(app.req(who, r))
        .await?
        .into_inner()
        .spot_check
        .unwrap())
}

async fn rank(
    app: &App,
    who: &Who,
    campaign_id: i64,
    limit: i32,
) -> Result<ev::RankRiskResponse, Status> {
    Ok(app
        .spots
        .clone()
        .rank_risk(app.req(
            who,
            ev::RankRiskRequest {
                campaign_id,
                limit,
                weights: None,
            },
        ))
        .await?
        .into_inner())
}

async fn replay(app: &App, who: &Who, id: i64) -> Result<ev::ReplaySpotCheckResponse, Status> {
    Ok(app
        .spots
        .clone()
        .replay_spot_check(app.req(who, ev::ReplaySpotCheckRequest { spot_check_id: id }))
        .await?
        .into_inner())
}

async fn get(app: &App, who: &Who, id: i64) -> Result<ev::SpotCheck, Status> {
    Ok(app
        .spots
        .clone()
        .get_spot_check(app.req(who, ev::GetSpotCheckRequest { spot_check_id: id }))
        .await?
        .into_inner()
        .spot_check
        .unwrap())
}

async fn save(app: &App, who: &Who, r: ev::SaveReviewRequest) -> Result<ev::Review, Status> {
    Ok(app
        .spots
        .clone()
        .save_review(app.req(who, r))
        .await?
        .into_inner()
        .review
        .unwrap())
}

async fn finish(
    app: &App,
    who: &Who,
    check: i64,
    sheet: i64,
    revision: i64,
) -> Result<ev::Review, Status> {
    Ok(app
        .spots
        .clone()
        .finish_review(app.req(
            who,
            ev::FinishReviewRequest {
                request_id: app.rid(),
                spot_check_id: check,
                self_evaluation_id: sheet,
                expected_revision: revision,
            },
        ))
        .await?
        .into_inner()
        .review
        .unwrap())
}

async fn findings(app: &App, who: &Who, sheet: i64) -> Result<Vec<ev::Review>, Status> {
    Ok(app
        .spots
        .clone()
        .list_findings(app.req(
            who,
            ev::ListFindingsRequest {
                self_evaluation_id: sheet,
            },
        ))
        .await?
        .into_inner()
        .reviews)
}

fn keys(items: &[ev::SampledSheet]) -> Vec<&str> {
    items.iter().map(|i| i.subject_key.as_str()).collect()
}

async fn risk_is_ranked_and_samples_replay(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    let campaign = seed(&app).await;

    let ranked = rank(&app, &auditor(), campaign, 3).await.unwrap();
    assert_eq!(ranked.candidates, 6, "the draft is no candidate");
    let top = &ranked.entries[0];
    // P001: self 95 over execution 50 (45 of 50 points: 36), 3 red (15), the largest budget
    // (15), no past problems.
    assert_eq!((top.subject_key.as_str(), top.rank), ("P001", 1));
    assert_eq!(top.risk, dec("66"));
    let factors: Vec<(&str, &str)> = top
        .factors
        .iter()
        .map(|f| (f.factor.as_str(), f.input.as_str()))
        .collect();
    assert_eq!(
        factors[0],
        ("score_over_execution", "自评 95.00，执行率 50.00%")
    );
    assert_eq!(top.factors[1].contribution, dec("15"));
    assert_eq!(ranked.entries[1].subject_key, "P004");

    // By risk: the top of the ranking, recorded.
    let by_risk = select(
        &app,
        &finance(),
        select_request(&app, campaign, ev::SampleMethod::Risk, 2),
    )
    .await
    .unwrap();
    assert_eq!(keys(&by_risk.items), ["P001", "P004"]);
    assert_eq!(by_risk.items[0].picked_by, "风险排名第1");
    assert_eq!(by_risk.candidates, 6);
    assert_eq!(by_risk.candidates_fingerprint.len(), 64);

    // Random with a seed of the service's choosing: recorded, and replayed by an auditor.
    let random = select(
        &app,
        &finance(),
        select_request(&app, campaign, ev::SampleMethod::Random, 3),
    )
    .await
    .unwrap();
    assert_ne!(random.seed, 0);
    assert_eq!(random.items.len(), 3);
    let again = replay(&app, &auditor(), random.id).await.unwrap();
    assert!(again.matches);
    assert_eq!(again.candidates_fingerprint, random.candidates_fingerprint);
    let ids: Vec<i64> = random.items.iter().map(|i| i.self_evaluation_id).collect();
    assert_eq!(again.self_evaluation_ids, ids);
    // The same seed over the same candidates: the same sample.
    let same = select(
        &app,
        &finance(),
        ev::SelectSpotCheckRequest {
            seed: random.seed,
            ..select_request(&app, campaign, ev::SampleMethod::Random, 3)
        },
    )
    .await
    .unwrap();
    assert_eq!(keys(&same.items), keys(&random.items));

    // Stratified by department: 2 of 3 per department, one by risk, one at random.
    let stratified = select(
        &app,
        &finance(),
        ev::SelectSpotCheckRequest {
            stratum: ev::Stratum::Department as i32,
            risk_percent: 50,
            seed: 7,
            ..select_request(&app, campaign, ev::SampleMethod::Stratified, 4)
        },
    )
    .await
    .unwrap();
    let in_dept = |d: &str| {
        stratified
            .items
            .iter()
            .filter(|i| i.department_code == d)
            .count()
    };
    assert_eq!((in_dept(DEPT), in_dept(DEPT2)), (2, 2));
    assert_eq!(
        stratified.items[0].picked_by,
        format!("分层：部门 {DEPT} 风险排名第1")
    );
    assert!(
        replay(&app, &finance(), stratified.id)
            .await
            .unwrap()
            .matches
    );

    // A retry replays the recorded answer (and its seed).
    let r = select_request(&app, campaign, ev::SampleMethod::Random, 2);
    let first = select(&app, &finance(), r.clone()).await.unwrap();
    assert_eq!(select(&app, &finance(), r).await.unwrap(), first);

    // Refusals.
    let e = select(
        &app,
        &finance(),
        select_request(&app, campaign, ev::SampleMethod::Random, 7),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&e), "TOO_FEW_CANDIDATES");
    let e = select(
        &app,
        &finance(),
        ev::SelectSpotCheckRequest {
            name: " ".into(),
            ..select_request(&app, campaign, ev::SampleMethod::Unspecified, 0)
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    let fields: Vec<String> = violations(&e).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["name", "method", "size"]);
    let e = select(
        &app,
        &auditor(),
        select_request(&app, campaign, ev::SampleMethod::Risk, 1),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&e), "ROLE_NOT_ALLOWED");
    assert_eq!(
        reason(&rank(&app, &unit(), campaign, 5).await.unwrap_err()),
        "ROLE_NOT_ALLOWED"
    );
    assert_eq!(
        reason(&rank(&app, &finance(), campaign + 99, 5).await.unwrap_err()),
        "CAMPAIGN_NOT_FOUND"
    );
    assert_eq!(
        reason(&rank(&app, &finance(), campaign, 1001).await.unwrap_err()),
        "LIMIT_INVALID"
    );
}

async fn reviews_rescore_flag_and_show_findings(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    let campaign = seed(&app).await;
    let check = select(
        &app,
        &finance(),
        ev::SelectSpotCheckRequest {
            reviewer: ev::Reviewer::Joint as i32,
            ..select_request(&app, campaign, ev::SampleMethod::Risk, 2)
        },
    )
    .await
    .unwrap();
    let sheet = check.items[0].self_evaluation_id; // P001 of UNIT
    // P001's unit entries score 10 × 50 % execution = 5 + 45 + 45 (no 满意度: its 10 points
    // move to 产出/效益) — whatever the engine says; the reviewer halves 效益.
    let review = save(
        &app,
        &auditor(),
        ev::SaveReviewRequest {
            request_id: app.rid(),
            spot_check_id: check.id,
            self_evaluation_id: sheet,
            expected_revision: 1,
            entries: vec![ev::IndicatorEntry {
                seq: 2,
                achieved_value: "50".into(),
                ..Default::default()
            }],
            problems: vec![ev::Problem {
                category: ev::ProblemCategory::ScoreInflated as i32,
                indicator_seq: 2,
                description: "受益人数与台账不符".into(),
                evidence: "台账第3页".into(),
            }],
            opinion: "自评偏高".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(review.status, ev::ReviewStatus::Draft as i32);
    assert_eq!(review.entries.len(), 2);
    assert_eq!(review.entries[1].achieved_value, "50");
    let corrected = review.corrected.clone().unwrap();
    assert!(
        review.flagged,
        "a halved 效益 moves the score by far more than 5 points"
    );
    let difference: Decimal = review.difference.clone().unwrap().value.parse().unwrap();
    let total: Decimal = corrected.total.clone().unwrap().value.parse().unwrap();
    assert_eq!(difference, total - Decimal::from(95));

    // The unit sees nothing before the review is finished; finance sees the draft.
    assert!(findings(&app, &unit(), sheet).await.unwrap().is_empty());
    assert_eq!(findings(&app, &finance(), sheet).await.unwrap().len(), 1);
    // Another unit never sees the sheet.
    assert_eq!(
        reason(&findings(&app, &unit2(), sheet).await.unwrap_err()),
        "SHEET_NOT_FOUND"
    );

    // A stale revision, then finishing.
    let e = finish(&app, &finance(), check.id, sheet, 1)
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "STALE_REVISION");
    let done = finish(&app, &finance(), check.id, sheet, review.revision)
        .await
        .unwrap();
    assert_eq!(done.status, ev::ReviewStatus::Finished as i32);
    assert_eq!(done.corrected, review.corrected);
    let e = finish(&app, &finance(), check.id, sheet, done.revision)
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "REVIEW_FINISHED");

    let seen = findings(&app, &unit(), sheet).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].problems[0].description, "受益人数与台账不符");
    assert_eq!(findings(&app, &department(), sheet).await.unwrap().len(), 1);
    assert_eq!(get(&app, &finance(), check.id).await.unwrap().finished, 1);

    let stats = app
        .spots
        .clone()
        .get_spot_check_statistics(app.req(
            &province(),
            ev::GetSpotCheckStatisticsRequest {
                campaign_id: campaign,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            stats.spot_checks,
            stats.sampled,
            stats.finished,
            stats.problems
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(
        stats.by_category[0].category,
        ev::ProblemCategory::ScoreInflated as i32
    );
    assert_eq!((stats.corrected, stats.flagged), (1, 1));
    assert_eq!(
        stats
            .total_correction
            .unwrap()
            .value
            .parse::<Decimal>()
            .unwrap(),
        difference
    );
    if done.corrected.as_ref().unwrap().grade != ev::Grade::Excellent as i32 {
        assert_eq!(stats.units_grade_fell, [UNIT]);
    }

    // Only finance reviews a FINANCE spot check; an auditor a JOINT one, not a FINANCE one.
    let finance_only = select(
        &app,
        &finance(),
        select_request(&app, campaign, ev::SampleMethod::Risk, 1),
    )
    .await
    .unwrap();
    let e = finish(
        &app,
        &auditor(),
        finance_only.id,
        finance_only.items[0].self_evaluation_id,
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&e), "REVIEWER_NOT_ALLOWED");
}

async fn reviews_are_commissioned_through_the_pool(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    let campaign = seed(&app).await;
    let codes: Vec<String> = ["91140500M000300Y4", "91140500M000400Y4"]
        .iter()
        .map(|first17| {
            let check = pbm_agency::domain::ids::CreditCode::check_char(first17).unwrap();
            format!("{first17}{check}")
        })
        .collect();
    pbm_testkit::admit_agencies(
        &app.server,
        &finance(),
        &codes,
        ag::ServiceScope::Evaluation,
    )
    .await;
    let check = select(
        &app,
        &finance(),
        ev::SelectSpotCheckRequest {
            reviewer: ev::Reviewer::Agency as i32,
            ..select_request(&app, campaign, ev::SampleMethod::Risk, 2)
        },
    )
    .await
    .unwrap();
    let sheet = check.items[0].self_evaluation_id;
    // Before commissioning no agency sees it, and finance cannot review it itself.
    for code in &codes {
        assert_eq!(
            reason(&get(&app, &agency(code), check.id).await.unwrap_err()),
            "SPOT_CHECK_NOT_FOUND"
        );
    }
    let e = finish(&app, &finance(), check.id, sheet, 1)
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "REVIEWER_NOT_ALLOWED");

    let request = ev::CommissionReviewRequest {
        request_id: app.rid(),
        spot_check_id: check.id,
        expected_revision: 1,
        weighted_by_rating: false,
    };
    let commissioned = app
        .spots
        .clone()
        .commission_review(app.req(&finance(), request.clone()))
        .await
        .unwrap()
        .into_inner()
        .spot_check
        .unwrap();
    assert!(codes.contains(&commissioned.agency_credit_code));
    assert!(commissioned.draw_id > 0 && commissioned.engagement_id > 0);
    assert_eq!(commissioned.revision, 2);
    // A retry replays the same draw and engagement.
    let retried = app
        .spots
        .clone()
        .commission_review(app.req(&finance(), request))
        .await
        .unwrap()
        .into_inner()
        .spot_check
        .unwrap();
    assert_eq!(retried, commissioned);

    let drawn = agency(&commissioned.agency_credit_code);
    let other = codes
        .iter()
        .find(|c| **c != commissioned.agency_credit_code)
        .unwrap();
    assert_eq!(get(&app, &drawn, check.id).await.unwrap().id, check.id);
    assert_eq!(
        reason(&get(&app, &agency(other), check.id).await.unwrap_err()),
        "SPOT_CHECK_NOT_FOUND"
    );
    let listed = |who: Who| {
        let app = &app;
        async move {
            app.spots
                .clone()
                .list_spot_checks(app.req(
                    &who,
                    ev::ListSpotChecksRequest {
                        campaign_id: campaign,
                        page: None,
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .spot_checks
                .len()
        }
    };
    assert_eq!(listed(drawn.clone()).await, 1);
    assert_eq!(listed(agency(other)).await, 0);
    assert_eq!(
        reason(&findings(&app, &agency(other), sheet).await.unwrap_err()),
        "SHEET_NOT_FOUND"
    );

    let done = finish(&app, &drawn, check.id, sheet, 1).await.unwrap();
    assert_eq!(done.status, ev::ReviewStatus::Finished as i32);
    // Nothing saved: the unit's own entries re-scored by the engine.
    assert!(done.corrected.is_some() && done.entries[1].achieved_value == "100");
    assert_eq!(findings(&app, &drawn, sheet).await.unwrap().len(), 1);
}

pbm_testkit::backend_tests! {
    risk_and_replay => risk_is_ranked_and_samples_replay;
    reviews => reviews_rescore_flag_and_show_findings;
    commissioning => reviews_are_commissioned_through_the_pool;
}
