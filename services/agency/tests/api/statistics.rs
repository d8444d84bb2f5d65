//! Pool statistics for the province: agencies by type, status and grade, experts by field,
//! engagements by year and kind, under the rules in force.

use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn statistics_for_the_province(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec(batch.id)).await.unwrap();
    app.register_expert(expert_spec(&id_number("19750505", "020")))
        .await
        .unwrap();
    let e = app
        .commission(pb::EngagementKind::Evaluation, "FIN", "D01", CODE_A)
        .await
        .unwrap();
    app.rate(e.id, 1, "20", "40").await.unwrap();
    app.settled().await;
    let stats = |who: Who| {
        let mut c = app.registry.clone();
        let r = app.req(&who, pb::GetPoolStatisticsRequest {});
        async move { c.get_pool_statistics(r).await }
    };
    let s = stats(province()).await.unwrap().into_inner();
    let pairs = |v: &[pb::CountByKey]| {
        v.iter()
            .map(|c| (c.key.clone(), c.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pairs(&s.agencies_by_type),
        [("accounting_firm".to_string(), 1)]
    );
    assert_eq!(pairs(&s.agencies_by_status), [("suspended".to_string(), 1)]);
    assert_eq!(pairs(&s.agency_grades), [("D".to_string(), 1)]);
    assert_eq!(pairs(&s.experts_by_field), [("LAW".to_string(), 1)]);
    assert_eq!(
        pairs(&s.engagements_by_year_and_kind),
        [("2026/evaluation".to_string(), 1)]
    );
    assert_eq!(s.rules, "2026年度全国默认规则");
    let denied = stats(as_agency(CODE_A)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

pbm_testkit::backend_tests! {
    statistics => statistics_for_the_province;
}
