//! List leakage (docs/SECURITY.md "Reliability suite"; docs/DOMAIN.md "Regions and roles": a
//! caller who may not see a record gets "not found", and every count is computed after the
//! caller's scope is applied): a little data is seeded by the roles that create it — a unit's
//! project and draft goal, a department's 个性 indicator proposal, an agency and an expert of the
//! pool — and every list, search and get that could show it is called by every other caller,
//! over real gRPC against the deployment `pbm serve` assembles. Another unit's, another
//! department's or another party's data never appears, neither as rows nor in totals.

use pbm_auth::Role;
use pbm_e2e::{Deployment, FY, REGION};
use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::common::v1::Decimal;
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::indicator::v1 as ind;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_testkit::{TestDatabase, Who, bearer};
use tonic::Code;
use tonic::transport::Channel;

const AGENCY: &str = "91350100M000100Y43";
const OTHER_AGENCY: &str = "91110000100000000A";

struct Clients {
    library: IndicatorServiceClient<Channel>,
    registry: AgencyRegistryServiceClient<Channel>,
    goals: GoalServiceClient<Channel>,
}

/// The seeded records' owners: unit D01001 of department D01, the agency [`AGENCY`], and the
/// expert the pool registers.
async fn seed(d: &Deployment, c: &Clients) -> (i64, i64, i64) {
    let finance = d.token(&Who::finance(REGION));
    let unit = d.token(&Who::unit(REGION, "D01", "D01001"));
    let department = d.token(&Who::department(REGION, "D01"));
    pbm_e2e::seed_library(&d.channel, &finance, "LK").await;
    c.goals
        .clone()
        .declare_project(bearer(
            &unit,
            pb::DeclareProjectRequest {
                request_id: "lk-project".into(),
                spec: Some(pb::ProjectSpec {
                    pro_code: "P-LK-1".into(),
                    name: "农村饮水安全巩固提升工程".into(),
                    agency_code: "D01001".into(),
                    department_code: "D01".into(),
                    fiscal_year: FY,
                    fund_source: pb::FundSource::GeneralPublic as i32,
                    special_field: pb::SpecialField::None as i32,
                    continuity: pb::Continuity::Continuing as i32,
                    nature: pb::Nature::Project as i32,
                    requested_amount: Some(Decimal {
                        value: "800000".into(),
                    }),
                    ..Default::default()
                }),
                expected_version: 0,
            },
        ))
        .await
        .expect("project");
    let lib = |code: &str, target: &str| pb::GoalIndicator {
        library_code: code.into(),
        target_value: target.into(),
        ..Default::default()
    };
    let goal = c
        .goals
        .clone()
        .save_goal(bearer(
            &unit,
            pb::SaveGoalRequest {
                request_id: "lk-goal".into(),
                declaration: Some(pb::GoalDeclaration {
                    pro_code: "P-LK-1".into(),
                    fiscal_year: FY,
                    year_goal: "完成12处农村饮水工程".into(),
                    serves_people: true,
                    indicators: vec![lib("LK-O", "12"), lib("LK-B", "32000"), lib("LK-S", "90")],
                    ..Default::default()
                }),
                expected_revision: 0,
            },
        ))
        .await
        .expect("goal")
        .into_inner()
        .goal
        .expect("goal")
        .id;
    let proposal = c
        .library
        .clone()
        .propose_indicator(bearer(
            &department,
            ind::ProposeIndicatorRequest {
                request_id: "lk-proposal".into(),
                code: "LK-P1".into(),
                spec: Some(ind::IndicatorSpec {
                    fiscal_year: FY,
                    frame_node_code: "101".into(),
                    name: "水质达标率".into(),
                    kind: ind::IndicatorKind::Common as i32,
                    direction: ind::Direction::Ge as i32,
                    unit: "%".into(),
                    explanation: "水质达标率的说明".into(),
                    ..Default::default()
                }),
                reason: "本部门饮水工程需要".into(),
            },
        ))
        .await
        .expect("proposal")
        .into_inner()
        .proposal
        .expect("proposal")
        .id;
    let batch = c
        .registry
        .clone()
        .create_admission_batch(bearer(
            &finance,
            ag::CreateAdmissionBatchRequest {
                request_id: "lk-batch".into(),
                name: "第三方机构库".into(),
                procurement_ref: "LK-2025".into(),
                qualified_from: "2025-01-01".into(),
                qualified_to: "2030-12-31".into(),
            },
        ))
        .await
        .expect("batch")
        .into_inner()
        .batch
        .expect("batch");
    c.registry
        .clone()
        .register_agency(bearer(
            &finance,
            ag::RegisterAgencyRequest {
                request_id: "lk-agency".into(),
                spec: Some(ag::AgencySpec {
                    credit_code: AGENCY.into(),
                    name: "某工程咨询有限公司".into(),
                    r#type: ag::AgencyType::Consulting as i32,
                    legal_representative: "王某".into(),
                    lead_evaluators: vec![ag::LeadEvaluator {
                        name: "赵某".into(),
                        qualifications: vec!["咨询工程师".into()],
                    }],
                    scopes: vec![ag::ServiceScope::ExAnteAndGoalReview as i32],
                    admission_batch_id: batch.id,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("agency");
    let expert = pbm_e2e::register_expert(&d.channel, &finance, "lk-expert").await;
    (goal, proposal, expert)
}

/// (rows, total) of a list answer, or the refusal's code.
type Seen = Result<(usize, i64), Code>;

fn seen<T>(
    r: Result<tonic::Response<T>, tonic::Status>,
    count: impl Fn(&T) -> (usize, i64),
) -> Seen {
    r.map(|r| count(r.get_ref())).map_err(|s| s.code())
}

async fn nothing_leaks(db: TestDatabase) {
    let d = Deployment::start(db, None).await;
    let c = Clients {
        library: IndicatorServiceClient::new(d.channel.clone()),
        registry: AgencyRegistryServiceClient::new(d.channel.clone()),
        goals: GoalServiceClient::new(d.channel.clone()),
    };
    let (goal, proposal, expert) = seed(&d, &c).await;

    let agency = |code: &str| Who::new(Role::Agency, REGION).with_agency(code);
    let as_expert = |id: i64| Who::new(Role::Expert, REGION).with_expert(&id.to_string());
    // Who sees the unit's goal and project (docs/GOAL.md "Roles"): the unit, its department,
    // the region's readers (also of the enclosing city); nobody else, not even in a total.
    let goal_readers = [
        (Who::unit(REGION, "D01", "D01001"), 1),
        (Who::department(REGION, "D01"), 1),
        (Who::finance(REGION), 1),
        (Who::new(Role::Auditor, REGION), 1),
        (Who::new(Role::Province, "140000"), 1),
        (Who::finance("140500"), 1),
        (Who::unit(REGION, "D01", "D01002"), 0),
        (Who::department(REGION, "D02"), 0),
        // The city's unit and department of the same codes are other organisations.
        (Who::unit("140500", "D01", "D01001"), 0),
        (Who::department("140500", "D01"), 0),
        (agency(AGENCY), 0),
        (as_expert(expert), 0),
        (Who::new(Role::Public, REGION), 0),
        (Who::new(Role::Public, "140526"), 0),
    ];
    let mut checked = 0;
    for (who, n) in &goal_readers {
        let token = d.token(who);
        let list = seen(
            c.goals
                .clone()
                .list_goals(bearer(
                    &token,
                    pb::ListGoalsRequest {
                        fiscal_year: FY,
                        ..Default::default()
                    },
                ))
                .await,
            |r| (r.goals.len(), r.page.as_ref().map_or(-1, |p| p.total_size)),
        );
        assert_eq!(list, Ok((*n, *n as i64)), "ListGoals by {}", who.sub);
        let get = c
            .goals
            .clone()
            .get_goal(bearer(
                &token,
                pb::GetGoalRequest {
                    goal_id: goal,
                    version: 0,
                },
            ))
            .await
            .map(|_| ())
            .map_err(|s| s.code());
        let history = c
            .goals
            .clone()
            .get_goal_history(bearer(&token, pb::GetGoalHistoryRequest { goal_id: goal }))
            .await
            .map(|_| ())
            .map_err(|s| s.code());
        let project = c
            .goals
            .clone()
            .get_project(bearer(
                &token,
                pb::GetProjectRequest {
                    pro_code: "P-LK-1".into(),
                    fiscal_year: FY,
                },
            ))
            .await
            .map(|_| ())
            .map_err(|s| s.code());
        let expected = if *n == 1 { Ok(()) } else { Err(Code::NotFound) };
        assert_eq!(get, expected, "GetGoal by {}", who.sub);
        assert_eq!(history, expected, "GetGoalHistory by {}", who.sub);
        assert_eq!(project, expected, "GetProject by {}", who.sub);
        checked += 4;
    }

    // The department's proposal: the region's readers and the department itself.
    for (who, n) in [
        (Who::department(REGION, "D01"), 1),
        (Who::finance(REGION), 1),
        (Who::new(Role::Auditor, REGION), 1),
        (Who::new(Role::Province, "140000"), 1),
        (Who::department(REGION, "D02"), 0),
    ] {
        let token = d.token(&who);
        let list = seen(
            c.library
                .clone()
                .list_proposals(bearer(&token, ind::ListProposalsRequest::default()))
                .await,
            |r| {
                (
                    r.proposals.len(),
                    r.page.as_ref().map_or(-1, |p| p.total_size),
                )
            },
        );
        assert_eq!(list, Ok((n, n as i64)), "ListProposals by {}", who.sub);
        let get = c
            .library
            .clone()
            .get_proposal(bearer(
                &token,
                ind::GetProposalRequest {
                    proposal_id: proposal,
                },
            ))
            .await
            .map(|_| ())
            .map_err(|s| s.code());
        assert_eq!(
            get,
            if n == 1 { Ok(()) } else { Err(Code::NotFound) },
            "GetProposal by {}",
            who.sub
        );
        checked += 2;
    }

    // The pool: an agency sees its own record only, an expert theirs.
    for (who, agencies, experts) in [
        (Who::finance(REGION), Ok((1, 1)), Ok((1, 1))),
        (Who::new(Role::Auditor, REGION), Ok((1, 1)), Ok((1, 1))),
        (agency(AGENCY), Ok((1, 1)), Err(Code::PermissionDenied)),
        (
            agency(OTHER_AGENCY),
            Ok((0, 0)),
            Err(Code::PermissionDenied),
        ),
        (as_expert(expert), Err(Code::PermissionDenied), Ok((1, 1))),
        (
            as_expert(expert + 1),
            Err(Code::PermissionDenied),
            Ok((0, 0)),
        ),
    ] {
        let token = d.token(&who);
        let listed_agencies = seen(
            c.registry
                .clone()
                .list_agencies(bearer(&token, ag::ListAgenciesRequest::default()))
                .await,
            |r| {
                (
                    r.agencies.len(),
                    r.page.as_ref().map_or(-1, |p| p.total_size),
                )
            },
        );
        let listed_experts = seen(
            c.registry
                .clone()
                .list_experts(bearer(&token, ag::ListExpertsRequest::default()))
                .await,
            |r| {
                (
                    r.experts.len(),
                    r.page.as_ref().map_or(-1, |p| p.total_size),
                )
            },
        );
        assert_eq!(listed_agencies, agencies, "ListAgencies by {}", who.sub);
        assert_eq!(listed_experts, experts, "ListExperts by {}", who.sub);
        let get = c
            .registry
            .clone()
            .get_agency(bearer(
                &token,
                ag::GetAgencyRequest {
                    credit_code: AGENCY.into(),
                },
            ))
            .await
            .map(|_| ())
            .map_err(|s| s.code());
        let expected = match agencies {
            Ok((1, _)) => Ok(()),
            Ok(_) => Err(Code::NotFound),
            Err(code) => Err(code),
        };
        assert_eq!(get, expected, "GetAgency by {}", who.sub);
        checked += 3;
    }
    println!(
        "list leakage: {checked} list/get calls by {} callers over goals, projects, proposals, \
         agencies and experts; no record or total outside a caller's scope",
        goal_readers.len() + 11
    );
}

pbm_testkit::backend_tests! {
    list_leakage => nothing_leaks;
}
