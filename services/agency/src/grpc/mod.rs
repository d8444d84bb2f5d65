//! Transport only: parse the request, call the use case, map the error.

pub mod convert;
pub mod draws;
pub mod engagements;

use pbm_proto::agency::v1 as proto;
use pbm_proto::agency::v1::agency_registry_service_server::AgencyRegistryService;
use pbm_server::paging::Page;
use pbm_server::{ApiError, MutationContext};
use tonic::{Request, Response, Status};

use crate::ops::{self, SERVICE};
use crate::state::AppState;
use crate::store::AgencyFilter;

pub struct AgencyRegistryGrpc {
    state: AppState,
}

impl AgencyRegistryGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn status(e: ApiError) -> Status {
    e.into_status(SERVICE)
}

fn mutation<M: prost::Message>(
    request: &Request<M>,
    _method: &'static str,
    request_id: &str,
) -> Result<MutationContext, Status> {
    let rpc = pbm_server::rpc::rpc_of(request);
    let caller = pbm_server::rpc::caller_of(request, &rpc)?;
    MutationContext::new(rpc.clone(), caller, request_id, request.get_ref())
        .map_err(|e| e.into_status(rpc.domain()))
}

fn code(text: &str) -> String {
    text.trim().to_uppercase()
}

#[tonic::async_trait]
impl AgencyRegistryService for AgencyRegistryGrpc {
    async fn create_admission_batch(
        &self,
        request: Request<proto::CreateAdmissionBatchRequest>,
    ) -> Result<Response<proto::CreateAdmissionBatchResponse>, Status> {
        let ctx = mutation(
            &request,
            "CreateAdmissionBatch",
            &request.get_ref().request_id,
        )?;
        let batch = convert::batch_from_request(request.get_ref());
        let batch = ops::create_batch(&self.state, ctx, batch)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::CreateAdmissionBatchResponse {
            batch: Some(batch),
        }))
    }

    async fn list_admission_batches(
        &self,
        request: Request<proto::ListAdmissionBatchesRequest>,
    ) -> Result<Response<proto::ListAdmissionBatchesResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let batches = ops::list_batches(&self.state, &caller)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ListAdmissionBatchesResponse {
            batches,
        }))
    }

    async fn register_agency(
        &self,
        request: Request<proto::RegisterAgencyRequest>,
    ) -> Result<Response<proto::RegisterAgencyResponse>, Status> {
        let ctx = mutation(&request, "RegisterAgency", &request.get_ref().request_id)?;
        let spec = convert::spec_from_proto(request.into_inner().spec);
        let agency = ops::register(&self.state, ctx, spec)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RegisterAgencyResponse {
            agency: Some(agency),
        }))
    }

    async fn update_agency(
        &self,
        request: Request<proto::UpdateAgencyRequest>,
    ) -> Result<Response<proto::UpdateAgencyResponse>, Status> {
        let ctx = mutation(&request, "UpdateAgency", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let agency = ops::update(
            &self.state,
            ctx,
            r.expected_version,
            convert::spec_from_proto(r.spec),
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::UpdateAgencyResponse {
            agency: Some(agency),
        }))
    }

    async fn get_agency(
        &self,
        request: Request<proto::GetAgencyRequest>,
    ) -> Result<Response<proto::GetAgencyResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let agency = ops::get(&self.state, &caller, code(&request.get_ref().credit_code))
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetAgencyResponse {
            agency: Some(agency),
        }))
    }

    async fn list_agencies(
        &self,
        request: Request<proto::ListAgenciesRequest>,
    ) -> Result<Response<proto::ListAgenciesResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let filter = AgencyFilter {
            agency_type: convert::agency_type_filter_from(r.r#type).map_err(status)?,
            status: convert::status_filter_from(r.status).map_err(status)?,
            scope: convert::scope_filter_from(r.scope).map_err(status)?,
            batch: (r.admission_batch_id > 0).then_some(r.admission_batch_id),
            only: None,
        };
        let p = r.page.unwrap_or_default();
        let page = Page::parse(p.page_size, &p.page_token).map_err(status)?;
        ops::list(&self.state, &caller, filter, page)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn change_agency_status(
        &self,
        request: Request<proto::ChangeAgencyStatusRequest>,
    ) -> Result<Response<proto::ChangeAgencyStatusResponse>, Status> {
        let ctx = mutation(
            &request,
            "ChangeAgencyStatus",
            &request.get_ref().request_id,
        )?;
        let r = request.into_inner();
        let action = convert::action_from(&r);
        let agency = ops::change_status(
            &self.state,
            ctx,
            code(&r.credit_code),
            r.expected_version,
            action,
            r.reason,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::ChangeAgencyStatusResponse {
            agency: Some(agency),
        }))
    }

    async fn record_violation(
        &self,
        request: Request<proto::RecordViolationRequest>,
    ) -> Result<Response<proto::RecordViolationResponse>, Status> {
        let ctx = mutation(&request, "RecordViolation", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let on = convert::date(&r.occurred_on, "occurred_on");
        let severity = convert::severity_from(r.severity);
        let who = ops::violator(&r.credit_code, r.expert_id);
        let violation = ops::record_violation(&self.state, ctx, who, on, severity, r.description)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RecordViolationResponse {
            violation: Some(violation),
        }))
    }

    async fn list_violations(
        &self,
        request: Request<proto::ListViolationsRequest>,
    ) -> Result<Response<proto::ListViolationsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.get_ref();
        let who = ops::violator(&r.credit_code, r.expert_id);
        let violations = ops::violations(&self.state, &caller, who)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ListViolationsResponse { violations }))
    }

    async fn list_status_history(
        &self,
        request: Request<proto::ListStatusHistoryRequest>,
    ) -> Result<Response<proto::ListStatusHistoryResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let changes = ops::history(&self.state, &caller, code(&request.get_ref().credit_code))
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ListStatusHistoryResponse { changes }))
    }

    async fn register_expert(
        &self,
        request: Request<proto::RegisterExpertRequest>,
    ) -> Result<Response<proto::RegisterExpertResponse>, Status> {
        let ctx = mutation(&request, "RegisterExpert", &request.get_ref().request_id)?;
        let spec = convert::expert_spec_from_proto(request.into_inner().spec, false);
        let expert = ops::register_expert(&self.state, ctx, spec)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RegisterExpertResponse {
            expert: Some(expert),
        }))
    }

    async fn update_expert(
        &self,
        request: Request<proto::UpdateExpertRequest>,
    ) -> Result<Response<proto::UpdateExpertResponse>, Status> {
        let ctx = mutation(&request, "UpdateExpert", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let spec = convert::expert_spec_from_proto(r.spec, true);
        let expert = ops::update_expert(&self.state, ctx, r.expert_id, r.expected_version, spec)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::UpdateExpertResponse {
            expert: Some(expert),
        }))
    }

    async fn get_expert(
        &self,
        request: Request<proto::GetExpertRequest>,
    ) -> Result<Response<proto::GetExpertResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let expert = ops::get_expert(&self.state, &caller, request.get_ref().expert_id)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetExpertResponse {
            expert: Some(expert),
        }))
    }

    async fn list_experts(
        &self,
        request: Request<proto::ListExpertsRequest>,
    ) -> Result<Response<proto::ListExpertsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let field = Some(r.field.trim().to_uppercase()).filter(|f| !f.is_empty());
        let expert_status = match r.status {
            0 => None,
            s => Some(convert::expert_status_from(s).ok_or_else(|| {
                status(ApiError::invalid_field(
                    "STATUS_INVALID",
                    "status",
                    "专家状态无效",
                ))
            })?),
        };
        let min_title = match r.min_title {
            0 => None,
            t => Some(convert::title_from(t).ok_or_else(|| {
                status(ApiError::invalid_field(
                    "TITLE_INVALID",
                    "min_title",
                    "职称级别无效",
                ))
            })?),
        };
        let filter = crate::store::experts::ExpertFilter {
            field,
            status: expert_status,
            min_title,
            only: None,
        };
        let p = r.page.unwrap_or_default();
        let page = Page::parse(p.page_size, &p.page_token).map_err(status)?;
        ops::list_experts(&self.state, &caller, filter, page)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn change_expert_status(
        &self,
        request: Request<proto::ChangeExpertStatusRequest>,
    ) -> Result<Response<proto::ChangeExpertStatusResponse>, Status> {
        let ctx = mutation(
            &request,
            "ChangeExpertStatus",
            &request.get_ref().request_id,
        )?;
        let r = request.into_inner();
        let to = convert::expert_status_from(r.status).ok_or_else(|| {
            ApiError::invalid_field("STATUS_INVALID", "status", "请选择：入库、考评或退出")
        });
        let expert = ops::change_expert_status(
            &self.state,
            ctx,
            r.expert_id,
            r.expected_version,
            to,
            r.reason,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::ChangeExpertStatusResponse {
            expert: Some(expert),
        }))
    }

    async fn list_expert_status_history(
        &self,
        request: Request<proto::ListExpertStatusHistoryRequest>,
    ) -> Result<Response<proto::ListStatusHistoryResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let changes = ops::expert_history(&self.state, &caller, request.get_ref().expert_id)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ListStatusHistoryResponse { changes }))
    }

    async fn reveal_expert_contact(
        &self,
        request: Request<proto::RevealExpertContactRequest>,
    ) -> Result<Response<proto::RevealExpertContactResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        ops::reveal_contact(&self.state, &caller, r.expert_id, r.reason)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_field_taxonomy(
        &self,
        request: Request<proto::GetFieldTaxonomyRequest>,
    ) -> Result<Response<proto::GetFieldTaxonomyResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        crate::access::expert_scope(&caller, &self.state.region).map_err(status)?;
        let fields = self
            .state
            .taxonomy
            .fields
            .iter()
            .map(|f| proto::Field {
                code: f.code.clone(),
                name: f.name.clone(),
            })
            .collect();
        Ok(Response::new(proto::GetFieldTaxonomyResponse { fields }))
    }

    async fn get_pool_rules(
        &self,
        request: Request<proto::GetPoolRulesRequest>,
    ) -> Result<Response<proto::GetPoolRulesResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let rules = ops::get_rules(&self.state, &caller, request.get_ref().fiscal_year)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetPoolRulesResponse {
            rules: Some(rules),
        }))
    }

    async fn set_pool_rules(
        &self,
        request: Request<proto::SetPoolRulesRequest>,
    ) -> Result<Response<proto::SetPoolRulesResponse>, Status> {
        let ctx = mutation(&request, "SetPoolRules", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let rules = ops::set_rules(
            &self.state,
            ctx,
            r.fiscal_year,
            r.expected_version,
            r.rules_json,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::SetPoolRulesResponse {
            rules: Some(rules),
        }))
    }

    async fn get_pool_statistics(
        &self,
        request: Request<proto::GetPoolStatisticsRequest>,
    ) -> Result<Response<proto::GetPoolStatisticsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        crate::engagements::statistics(&self.state, &caller)
            .await
            .map(Response::new)
            .map_err(status)
    }
}
