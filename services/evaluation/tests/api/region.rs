//! RegionStatisticsService (docs/EVALUATION.md "Region statistics"): the region's figures from
//! the goal, monitoring and evaluation services and the pool, merged by group; a source with
//! nothing for the year is NOT_OPENED, not zeros; who may read them.

use pbm_proto::region::v1 as rg;
use pbm_proto::region::v1::region_statistics_service_client::RegionStatisticsServiceClient;
use pbm_testkit::refused;
use tonic::{Code, Status};

use crate::common::*;

async fn stats(
    app: &App,
    who: &Who,
    year: i32,
    by: rg::GroupBy,
) -> Result<rg::GetRegionStatisticsResponse, Status> {
    RegionStatisticsServiceClient::new(app.server.channel.clone())
        .get_region_statistics(app.req(
            who,
            rg::GetRegionStatisticsRequest {
                fiscal_year: year,
                group_by: by as i32,
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

fn states(r: &rg::GetRegionStatisticsResponse) -> Vec<(&str, rg::SourceState)> {
    r.sources
        .iter()
        .map(|s| (s.name.as_str(), s.state()))
        .collect()
}

fn money(d: &Option<pbm_proto::common::v1::Decimal>) -> &str {
    d.as_ref().map_or("", |d| d.value.as_str())
}

async fn figures_of_goals_monitoring_and_evaluation(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.approved("P001", "1000000").await;
    app.approved_for(&unit2(), "P002", DEPT2, UNIT2, "500000")
        .await;
    let fin = &finance();

    // Goals only: monitoring and evaluation not opened, their figures not made up.
    let before = stats(&app, fin, FY, rg::GroupBy::Department).await.unwrap();
    assert_eq!(
        states(&before),
        [
            ("goals", rg::SourceState::Read),
            ("monitoring", rg::SourceState::NotOpened),
            ("evaluation", rg::SourceState::NotOpened),
            ("agency_pool", rg::SourceState::Read),
        ]
    );
    let totals = before.totals.clone().unwrap();
    assert_eq!(
        (
            totals.projects,
            totals.goals_approved,
            totals.self_evaluations
        ),
        (2, 2, 0)
    );
    assert_eq!(money(&totals.approved_amount), "1500000");
    // No ex-ante threshold set for the year and no special-bond project: nothing required.
    assert_eq!((totals.ex_ante_required, totals.ex_ante_reported), (0, 0));
    assert_eq!(money(&totals.ex_ante_required_amount), "0");
    let keys: Vec<&str> = before.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, [DEPT, DEPT2]);
    assert_eq!(before.mof_div_code, REGION);

    // Then a round and the self-evaluation: every source read, rows merged by department.
    app.open_round().await;
    app.open_campaign().await.unwrap();
    let after = stats(&app, fin, FY, rg::GroupBy::Department).await.unwrap();
    assert!(
        states(&after)
            .iter()
            .all(|(_, s)| *s == rg::SourceState::Read),
        "{:?}",
        after.sources
    );
    let dept = after.rows.iter().find(|r| r.key == DEPT).unwrap();
    let f = dept.figures.clone().unwrap();
    assert_eq!((f.projects, f.goals_approved, f.monitored), (1, 1, 1));
    // The department's 部门整体 sheet and its project's.
    assert!(f.self_evaluations >= 1, "{f:?}");
    let t = after.totals.clone().unwrap();
    assert_eq!((t.projects, t.monitored), (2, 2));
    let row_sum: i64 = after
        .rows
        .iter()
        .map(|r| r.figures.as_ref().unwrap().self_evaluations)
        .sum();
    assert_eq!(row_sum, t.self_evaluations);

    // By fund source: the contract's enum names as keys; totals only: no rows.
    let by_fund = stats(&app, fin, FY, rg::GroupBy::FundSource).await.unwrap();
    assert!(
        by_fund
            .rows
            .iter()
            .all(|r| r.key.starts_with("FUND_SOURCE_")),
        "{:?}",
        by_fund.rows
    );
    let plain = stats(&app, fin, FY, rg::GroupBy::Unspecified)
        .await
        .unwrap();
    assert!(plain.rows.is_empty());
    assert_eq!(plain.totals, after.totals);

    // Another year: nothing there, and said so.
    let next = stats(&app, fin, FY + 1, rg::GroupBy::Department)
        .await
        .unwrap();
    assert_eq!(next.totals.unwrap().projects, 0);
    refused(
        stats(&app, fin, 1800, rg::GroupBy::Department).await,
        Code::InvalidArgument,
        "FISCAL_YEAR_INVALID",
    );
}

async fn who_reads_the_region(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    let by = rg::GroupBy::Department;
    for who in [finance(), auditor(), province(), Who::finance("140000")] {
        let r = stats(&app, &who, FY, by).await;
        assert!(r.is_ok(), "{who:?}: {r:?}");
    }
    for who in [unit(), department(), agency("91140500MA0K000001")] {
        refused(
            stats(&app, &who, FY, by).await,
            Code::PermissionDenied,
            "ROLE_NOT_ALLOWED",
        );
    }
    // A department of the enclosing region stands as the public here.
    refused(
        stats(&app, &Who::department("140000", "140000100"), FY, by).await,
        Code::PermissionDenied,
        "ROLE_NOT_ALLOWED",
    );
    // Another city's finance bureau.
    refused(
        stats(&app, &Who::finance("140600"), FY, by).await,
        Code::PermissionDenied,
        "REGION_NOT_ALLOWED",
    );
}

pbm_testkit::backend_tests! {
    figures => figures_of_goals_monitoring_and_evaluation;
    access => who_reads_the_region;
}
