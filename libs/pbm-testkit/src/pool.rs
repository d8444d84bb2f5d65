//! Agencies in the pool (docs/DOMAIN.md "Third-party agencies"), as the goal service's
//! commissioning tests and the monitoring service's key-monitoring tests both need them.

use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;

use crate::{TestServer, Who};

/// Admits the agencies `codes` to the pool for `scope` work: one admission batch (procured for
/// 2025–2027), then one accounting firm registered per code, all by `finance`.
pub async fn admit_agencies(
    server: &TestServer,
    finance: &Who,
    codes: &[String],
    scope: ag::ServiceScope,
) {
    let mut registry = AgencyRegistryServiceClient::new(server.channel.clone());
    let batch = registry
        .create_admission_batch(server.req(
            finance,
            ag::CreateAdmissionBatchRequest {
                request_id: server.rid(),
                name: "2025—2027年度预算绩效管理第三方机构库".into(),
                procurement_ref: "JCZC-2024-031".into(),
                qualified_from: "2025-01-01".into(),
                qualified_to: "2027-12-31".into(),
            },
        ))
        .await
        .expect("admission batch")
        .into_inner()
        .batch
        .expect("the batch");
    for (k, code) in codes.iter().enumerate() {
        let spec = ag::AgencySpec {
            credit_code: code.clone(),
            name: format!("晋城某会计师事务所{k}有限公司"),
            r#type: ag::AgencyType::AccountingFirm as i32,
            legal_representative: "王某".into(),
            lead_evaluators: vec![ag::LeadEvaluator {
                name: "赵某".into(),
                qualifications: vec!["注册会计师".into()],
            }],
            contacts: vec![ag::Person {
                name: "李某".into(),
                role: "项目经理".into(),
                phone: "13812345678".into(),
                email: String::new(),
            }],
            scopes: vec![scope as i32],
            admission_batch_id: batch.id,
            ..Default::default()
        };
        registry
            .register_agency(server.req(
                finance,
                ag::RegisterAgencyRequest {
                    request_id: server.rid(),
                    spec: Some(spec),
                },
            ))
            .await
            .expect("register the agency");
    }
}
