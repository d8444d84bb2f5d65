//! Who may call what: readers and managers of the registry by role and region, and every RPC
//! of the three services refusing the callers it does not serve.

use pbm_auth::Role;
use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn roles_and_regions(db: TestDatabase) {
    let app = spawn(db, "2020-06-01").await;
    let batch = app.batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let get = |who: Who, code: &str| {
        let mut c = app.registry.clone();
        let r = app.req(
            &who,
            pb::GetAgencyRequest {
                credit_code: code.into(),
            },
        );
        async move { c.get_agency(r).await }
    };
    // Readers: finance, auditor, province (of an enclosing region); the agency itself.
    for who in [finance(), auditor(), province()] {
        assert!(get(who, CODE_A).await.is_ok());
    }
    let own = get(as_agency(CODE_A), CODE_A)
        .await
        .unwrap()
        .into_inner()
        .agency
        .unwrap();
    assert_eq!(own.spec.unwrap().credit_code, CODE_A);
    // Another agency does not learn the record exists.
    let other = get(as_agency(OTHER_AGENCY), CODE_A).await.unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let listed = app
        .registry
        .clone()
        .list_agencies(app.req(&as_agency(OTHER_AGENCY), pb::ListAgenciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.agencies.is_empty(), "an agency lists only itself");
    // Everyone else is denied.
    for role in [
        Role::Department,
        Role::BudgetUnit,
        Role::Expert,
        Role::Public,
    ] {
        let err = get(of_role(role), CODE_A).await.unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::PermissionDenied, "ROLE_NOT_ALLOWED"),
            "{role}"
        );
    }
    let mut c = app.registry.clone();
    let anonymous = c
        .get_agency(tonic::Request::new(pb::GetAgencyRequest {
            credit_code: CODE_A.into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let other_city = get(Who::finance("140600"), CODE_A).await.unwrap_err();
    assert_eq!(reason(&other_city), "REGION_MISMATCH");
    // Only local finance manages: the auditor, the agency itself and the province cannot.
    for who in [auditor(), as_agency(CODE_A), province()] {
        let r = pb::ChangeAgencyStatusRequest {
            request_id: app.rid(),
            credit_code: CODE_A.into(),
            expected_version: 1,
            action: pb::AgencyAction::Warn as i32,
            reason: "x".into(),
            until: String::new(),
        };
        let err = app
            .registry
            .clone()
            .change_agency_status(app.req(&who, r))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let batch_by_auditor = app
        .registry
        .clone()
        .create_admission_batch(app.req(
            &auditor(),
            pb::CreateAdmissionBatchRequest {
                request_id: app.rid(),
                name: "x".into(),
                procurement_ref: String::new(),
                qualified_from: "2020-01-01".into(),
                qualified_to: "2020-12-31".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(batch_by_auditor.code(), Code::PermissionDenied);
}

type Call<'a> = Box<
    dyn Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Code> + Send + 'a>> + 'a,
>;

/// Every RPC of the three services, called by every role with an empty request: authorisation
/// is decided before the request is examined, so the refusals below hold whatever the input.
async fn every_rpc_authorises_its_caller(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    // Mutations carry a request id (its absence is refused before anything else, as a
    // malformed envelope); everything else is empty.
    macro_rules! rpc {
        ($client:ident, $method:ident, $req:ty) => {
            rpc!($client, $method, $req, |_: &App| <$req>::default())
        };
        ($client:ident, $method:ident, $req:ty, id) => {
            rpc!($client, $method, $req, |app: &App| {
                let mut m = <$req>::default();
                m.request_id = app.rid();
                m
            })
        };
        ($client:ident, $method:ident, $req:ty, $make:expr) => {{
            let app = &app;
            let call: Call<'_> = Box::new(move |token: String| {
                let mut c = app.$client.clone();
                let r = bearer(&token, ($make)(app));
                Box::pin(async move {
                    match c.$method(r).await {
                        Ok(_) => Code::Ok,
                        Err(e) => e.code(),
                    }
                })
            });
            (stringify!($method), call)
        }};
    }
    let mutations: Vec<(&str, Call<'_>)> = vec![
        rpc!(
            registry,
            create_admission_batch,
            pb::CreateAdmissionBatchRequest,
            id
        ),
        rpc!(registry, register_agency, pb::RegisterAgencyRequest, id),
        rpc!(registry, update_agency, pb::UpdateAgencyRequest, id),
        rpc!(
            registry,
            change_agency_status,
            pb::ChangeAgencyStatusRequest,
            id
        ),
        rpc!(registry, register_expert, pb::RegisterExpertRequest, id),
        rpc!(registry, update_expert, pb::UpdateExpertRequest, id),
        rpc!(
            registry,
            change_expert_status,
            pb::ChangeExpertStatusRequest,
            id
        ),
        rpc!(
            registry,
            reveal_expert_contact,
            pb::RevealExpertContactRequest
        ),
        rpc!(registry, set_pool_rules, pb::SetPoolRulesRequest, id),
        rpc!(registry, record_violation, pb::RecordViolationRequest, id),
        rpc!(
            engagements,
            create_engagement,
            pb::CreateEngagementRequest,
            id
        ),
        rpc!(engagements, rate_engagement, pb::RateEngagementRequest, id),
        rpc!(
            engagements,
            cancel_engagement,
            pb::CancelEngagementRequest,
            id
        ),
        rpc!(
            engagements,
            recompute_ratings,
            pb::RecomputeRatingsRequest,
            id
        ),
        rpc!(draws, draw_experts, pb::DrawExpertsRequest, id),
        rpc!(draws, draw_agencies, pb::DrawAgenciesRequest, id),
        rpc!(draws, respond_to_draw, pb::RespondToDrawRequest, id),
    ];
    let reads: Vec<(&str, Call<'_>)> = vec![
        rpc!(
            registry,
            list_admission_batches,
            pb::ListAdmissionBatchesRequest
        ),
        rpc!(registry, get_agency, pb::GetAgencyRequest),
        rpc!(registry, list_agencies, pb::ListAgenciesRequest),
        rpc!(registry, list_status_history, pb::ListStatusHistoryRequest),
        rpc!(registry, list_violations, pb::ListViolationsRequest),
        rpc!(registry, get_expert, pb::GetExpertRequest),
        rpc!(registry, list_experts, pb::ListExpertsRequest),
        rpc!(
            registry,
            list_expert_status_history,
            pb::ListExpertStatusHistoryRequest
        ),
        rpc!(registry, get_field_taxonomy, pb::GetFieldTaxonomyRequest),
        rpc!(registry, get_pool_rules, pb::GetPoolRulesRequest),
        rpc!(registry, get_pool_statistics, pb::GetPoolStatisticsRequest),
        rpc!(engagements, get_engagement, pb::GetEngagementRequest),
        rpc!(engagements, list_engagements, pb::ListEngagementsRequest),
        rpc!(engagements, explain_rating, pb::ExplainRatingRequest),
        rpc!(draws, get_draw, pb::GetDrawRequest),
        rpc!(draws, replay_draw, pb::ReplayDrawRequest),
    ];
    assert_eq!(
        mutations.len() + reads.len(),
        33,
        "every RPC of the three services"
    );
    let outsiders = [
        ("department", app.token(&of_role(Role::Department))),
        ("budget unit", app.token(&of_role(Role::BudgetUnit))),
        ("public", app.token(&of_role(Role::Public))),
        (
            "finance of another city",
            app.token(&Who::finance("140100")),
        ),
    ];
    let readers = [
        ("auditor", app.token(&auditor())),
        ("province", app.token(&province())),
        ("agency", app.token(&as_agency(CODE_A))),
        ("expert", app.token(&as_expert(1))),
    ];
    for (name, call) in mutations.iter().chain(reads.iter()) {
        for (who, token) in &outsiders {
            assert_eq!(
                call(token.clone()).await,
                Code::PermissionDenied,
                "{name} by {who}"
            );
        }
        assert_eq!(
            call("not-a-token".into()).await,
            Code::Unauthenticated,
            "{name} with a bad token"
        );
        // Finance is never refused for its role (the empty request may be invalid).
        assert_ne!(
            call(app.token(&finance())).await,
            Code::PermissionDenied,
            "{name} by finance"
        );
    }
    for (name, call) in &mutations {
        for (who, token) in &readers {
            assert_eq!(
                call(token.clone()).await,
                Code::PermissionDenied,
                "{name} by {who}"
            );
        }
    }
    for (name, call) in &reads {
        for (who, token) in &readers[..2] {
            assert_ne!(
                call(token.clone()).await,
                Code::PermissionDenied,
                "{name} by {who}"
            );
        }
    }
}

pbm_testkit::backend_tests! {
    roles => roles_and_regions;
    rpc_roles => every_rpc_authorises_its_caller;
}
