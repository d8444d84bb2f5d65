//! The error convention: every refusal of the three services names the domain `pbm.agency`.

use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;

use crate::common::*;

/// Every refusal of the three gRPC services names the one domain `pbm.agency`.
async fn every_service_answers_in_one_error_domain(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let registry = app
        .registry
        .clone()
        .get_agency(app.fin(pb::GetAgencyRequest {
            credit_code: CODE_A.into(),
        }))
        .await
        .unwrap_err();
    let engagement = app
        .engagements
        .clone()
        .get_engagement(app.fin(pb::GetEngagementRequest { engagement_id: 999 }))
        .await
        .unwrap_err();
    let draw = app
        .draws
        .clone()
        .get_draw(app.fin(pb::GetDrawRequest { draw_id: 999 }))
        .await
        .unwrap_err();
    for (status, expected) in [
        (registry, "AGENCY_NOT_FOUND"),
        (engagement, "ENGAGEMENT_NOT_FOUND"),
        (draw, "DRAW_NOT_FOUND"),
    ] {
        assert_eq!(reason(&status), expected);
        assert_eq!(domain(&status), "pbm.agency", "{status:?}");
    }
}

pbm_testkit::backend_tests! {
    error_domain => every_service_answers_in_one_error_domain;
}
