//! grpc.health.v1 answers without a token.

use pbm_testkit::TestDatabase;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::*;

async fn health_is_serving(db: TestDatabase) {
    let app = spawn_app(db).await;
    let channel = tonic::transport::Channel::from_shared(app.url())
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel);
    for service in [pbm_indicator::HEALTH_NAME, ""] {
        let resp = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("check")
            .into_inner();
        assert_eq!(resp.status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "pbm.nope.v1.Nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

pbm_testkit::backend_tests! {
    health => health_is_serving;
}
