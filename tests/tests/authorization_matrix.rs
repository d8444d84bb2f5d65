//! The authorization matrix (docs/SECURITY.md "Reliability suite"): every RPC of every service
//! `pbm serve` serves — taken from pbm-proto's descriptor set, so a new RPC or service fails
//! this test until the table below says who may call it — called over real gRPC, with an empty
//! request (and a fresh `request_id` where the message has one), by every role of the region,
//! of another county, of the enclosing city, by another unit and another department, and with no
//! token, an expired token and a token signed by a key the server does not trust.
//!
//! The table is written from the documents (docs/DOMAIN.md "Regions and roles",
//! docs/SECURITY.md "Roles", docs/INDICATOR.md "Who may do what", docs/AGENCY.md "Roles",
//! docs/GOAL.md "Roles", docs/MONITORING.md "Roles", docs/EVALUATION.md "Roles"), not from the
//! services' code. Expectations:
//! * a role the table forbids is refused `PERMISSION_DENIED` — before its request is examined,
//!   so an empty request tells it nothing about the contract (authorise first, then validate);
//! * a role the table allows is never refused for its role or region (`ROLE_NOT_ALLOWED`,
//!   `REGION_*`, `UNAUTHENTICATED`); its empty request may be invalid or name nothing it may see;
//! * a caller of an enclosing region (a city over its counties, the province) reads as its role
//!   reads and never writes; a caller of another county is refused everything; the public is of
//!   no region (it reads what is published wherever it is);
//! * no token, an expired token and a foreign key's token are `UNAUTHENTICATED`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Instant;

use pbm_auth::{Claims, Role};
use pbm_e2e::{Deployment, REGION};
use pbm_testkit::{TestDatabase, Who, reason};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor, Value};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

// -- the table ------------------------------------------------------------------------------------

/// Whether an RPC only reads: callers of an enclosing region may read, never write
/// (docs/DOMAIN.md "Regions and roles": "A user of an enclosing region may read a deployment's
/// data. Writes happen only in one's own region").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}
use Kind::{Read as R, Write as W};

/// Every role.
const ALL: &str = "finance_admin department budget_unit agency expert auditor province public";
/// Every authenticated role but the public (the indicator library).
const NOT_PUBLIC: &str = "finance_admin department budget_unit agency expert auditor province";
/// The readers of a whole region: finance, auditors, the province.
const REGION_READERS: &str = "finance_admin auditor province";
/// The readers of a monitoring subject or an evaluation sheet: finance, units and departments
/// (their own), auditors, and an agency (the subject or sheet commissioned to it).
const MON_READERS: &str = "finance_admin department budget_unit agency auditor";

/// Who may call each RPC (full method name), from the documents named in the module comment.
/// A role not listed is refused; `role:here` only of this very region (not of an enclosing
/// one). "Allowed" is about the role: the record asked for may still be outside the caller's
/// scope (NOT_FOUND, or a list narrowed to it).
#[rustfmt::skip]
const TABLE: &[(&str, Kind, &str)] = &[
    // An expert id numbers a person of the pool of the expert's own region (expert:here): at a
    // county's deployment a city expert's id names someone else.
    // docs/INDICATOR.md "Who may do what": every authenticated caller but the public reads;
    // finance of the region writes; a department proposes; proposals are read by finance,
    // auditors, the province and (its own) a department.
    ("pbm.indicator.v1.IndicatorService/CreateFrame", W, "finance_admin"),
    ("pbm.indicator.v1.IndicatorService/GetFrame", R, NOT_PUBLIC),
    ("pbm.indicator.v1.IndicatorService/ListFrames", R, NOT_PUBLIC),
    ("pbm.indicator.v1.IndicatorService/CreateIndicator", W, "finance_admin"),
    ("pbm.indicator.v1.IndicatorService/UpdateIndicator", W, "finance_admin"),
    ("pbm.indicator.v1.IndicatorService/SetIndicatorStatus", W, "finance_admin"),
    ("pbm.indicator.v1.IndicatorService/GetIndicator", R, NOT_PUBLIC),
    ("pbm.indicator.v1.IndicatorService/ListIndicators", R, NOT_PUBLIC),
    ("pbm.indicator.v1.IndicatorService/ListIndicatorVersions", R, NOT_PUBLIC),
    ("pbm.indicator.v1.IndicatorService/SearchIndicators", R, NOT_PUBLIC),
    ("pbm.indicator.v1.IndicatorService/ResolveIndicators", R, NOT_PUBLIC),
    ("pbm.indicator.v1.IndicatorService/ProposeIndicator", W, "department"),
    ("pbm.indicator.v1.IndicatorService/DecideProposal", W, "finance_admin"),
    ("pbm.indicator.v1.IndicatorService/GetProposal", R, "finance_admin auditor province department"),
    ("pbm.indicator.v1.IndicatorService/ListProposals", R, "finance_admin auditor province department"),
    ("pbm.indicator.v1.IndicatorService/ImportIndicators", W, "finance_admin"),
    ("pbm.indicator.v1.IndicatorService/ExportIndicators", R, NOT_PUBLIC),
    // docs/INDICATOR.md "Following an upstream library": a library is followed by the finance
    // of its own region or of a region inside it (and the province role of those), never by an
    // enclosing region — so of this table's callers only this region's finance; the follower's
    // status is read by the region's readers.
    ("pbm.indicator.v1.LibraryMirrorService/WatchLibrary", W, "finance_admin"),
    ("pbm.indicator.v1.LibraryMirrorService/GetMirrorStatus", R, REGION_READERS),
    // docs/AGENCY.md and docs/DOMAIN.md "Access rules for the agency and expert pool": finance
    // of the region manages; auditors and the province read (and replay draws); an agency reads
    // its own record, engagements, draws and violations, an expert likewise; departments, units
    // and the public see neither the registry nor any expert.
    ("pbm.agency.v1.AgencyRegistryService/CreateAdmissionBatch", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/ListAdmissionBatches", R, "finance_admin auditor province agency"),
    ("pbm.agency.v1.AgencyRegistryService/RegisterAgency", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/UpdateAgency", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/GetAgency", R, "finance_admin auditor province agency"),
    ("pbm.agency.v1.AgencyRegistryService/ListAgencies", R, "finance_admin auditor province agency"),
    ("pbm.agency.v1.AgencyRegistryService/ChangeAgencyStatus", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/RegisterExpert", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/UpdateExpert", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/GetExpert", R, "finance_admin auditor province expert:here"),
    ("pbm.agency.v1.AgencyRegistryService/ListExperts", R, "finance_admin auditor province expert:here"),
    ("pbm.agency.v1.AgencyRegistryService/ChangeExpertStatus", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/ListExpertStatusHistory", R, "finance_admin auditor province expert:here"),
    // Personal data in full: finance of this region only, every attempt audited.
    ("pbm.agency.v1.AgencyRegistryService/RevealExpertContact", W, "finance_admin"),
    // The taxonomy of the expert registry: its readers (the documents do not single it out).
    ("pbm.agency.v1.AgencyRegistryService/GetFieldTaxonomy", R, "finance_admin auditor province expert:here"),
    // The documents do not say who reads the pool's rules; they are not secret, and an agency or
    // expert is graded by them: every reader of the pool.
    ("pbm.agency.v1.AgencyRegistryService/GetPoolRules", R, "finance_admin auditor province agency expert:here"),
    ("pbm.agency.v1.AgencyRegistryService/SetPoolRules", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/GetPoolStatistics", R, REGION_READERS),
    ("pbm.agency.v1.AgencyRegistryService/RecordViolation", W, "finance_admin"),
    ("pbm.agency.v1.AgencyRegistryService/ListViolations", R, "finance_admin auditor province agency expert:here"),
    ("pbm.agency.v1.AgencyRegistryService/ListStatusHistory", R, "finance_admin auditor province agency"),
    ("pbm.agency.v1.DrawService/DrawExperts", W, "finance_admin"),
    ("pbm.agency.v1.DrawService/DrawAgencies", W, "finance_admin"),
    ("pbm.agency.v1.DrawService/RespondToDraw", W, "finance_admin"),
    ("pbm.agency.v1.DrawService/GetDraw", R, "finance_admin auditor province agency expert:here"),
    ("pbm.agency.v1.DrawService/ReplayDraw", R, "finance_admin auditor province agency expert:here"),
    ("pbm.agency.v1.EngagementService/CreateEngagement", W, "finance_admin"),
    ("pbm.agency.v1.EngagementService/RateEngagement", W, "finance_admin"),
    ("pbm.agency.v1.EngagementService/CancelEngagement", W, "finance_admin"),
    ("pbm.agency.v1.EngagementService/GetEngagement", R, "finance_admin auditor province agency expert:here"),
    ("pbm.agency.v1.EngagementService/ListEngagements", R, "finance_admin auditor province agency expert:here"),
    ("pbm.agency.v1.EngagementService/ExplainRating", R, "finance_admin auditor province agency expert:here"),
    ("pbm.agency.v1.EngagementService/RecomputeRatings", W, "finance_admin"),
    // docs/GOAL.md "Roles" and docs/DOMAIN.md "Access rules for goals": units and departments
    // declare (units, departments and finance register projects); only finance assigns
    // reviewers, amends, approves and commissions ex-ante assessments; assigned experts and
    // agencies review; every role reads a goal or project it may see (others answer NOT_FOUND,
    // the public sees published goals); statistics and the funding gate are for finance,
    // auditors and the province; the approved goals' table for them and departments and units.
    ("pbm.goal.v1.GoalService/DeclareProject", W, "finance_admin department budget_unit"),
    ("pbm.goal.v1.GoalService/GetProject", R, ALL),
    ("pbm.goal.v1.GoalService/SaveGoal", W, "department budget_unit"),
    ("pbm.goal.v1.GoalService/DeclareGoals", W, "department budget_unit"),
    ("pbm.goal.v1.GoalService/SubmitGoal", W, "department budget_unit"),
    ("pbm.goal.v1.GoalService/AssignReviewers", W, "finance_admin"),
    ("pbm.goal.v1.GoalService/ReviewGoal", W, "finance_admin expert agency"),
    ("pbm.goal.v1.GoalService/AmendGoal", W, "finance_admin"),
    ("pbm.goal.v1.GoalService/ApproveGoal", W, "finance_admin"),
    // docs/GOAL.md "Roles" names finance alone; the goal workflow (services/goal
    // domain/workflow.rs, "Publication") also lets the department publish with its budget
    // (部门预算公开). The table follows the workflow; the documents disagree (reported).
    ("pbm.goal.v1.GoalService/PublishGoal", W, "finance_admin department"),
    ("pbm.goal.v1.GoalService/RequestAdjustment", W, "department budget_unit"),
    ("pbm.goal.v1.GoalService/CancelAdjustment", W, "finance_admin department budget_unit"),
    // A unit's or department's code names an organisation of its own region: elsewhere it reads
    // as the public, which exports nothing.
    ("pbm.goal.v1.GoalService/ExportApprovedGoals", R, "finance_admin auditor province department:here budget_unit:here"),
    // The approved goals other services snapshot (monitoring at a round's opening): the
    // region's readers, as the funding gate.
    ("pbm.goal.v1.GoalService/StreamApprovedGoals", R, REGION_READERS),
    ("pbm.goal.v1.GoalService/GetGoal", R, ALL),
    ("pbm.goal.v1.GoalService/ListGoals", R, ALL),
    ("pbm.goal.v1.GoalService/GetGoalHistory", R, ALL),
    ("pbm.goal.v1.GoalService/SubmitExAnteReport", W, "finance_admin department budget_unit agency"),
    ("pbm.goal.v1.GoalService/ReviewExAnteReport", W, "finance_admin"),
    ("pbm.goal.v1.GoalService/GetExAnteReport", R, ALL),
    ("pbm.goal.v1.GoalService/CommissionExAnteAssessment", W, "finance_admin"),
    ("pbm.goal.v1.GoalService/CheckFundingEligibility", R, REGION_READERS),
    ("pbm.goal.v1.GoalService/GetGoalStatistics", R, REGION_READERS),
    // The documents name finance for the rules' versions; the rules themselves (the weight
    // total a declaration must meet, the ex-ante threshold) are what declarers work to: read by all.
    ("pbm.goal.v1.GoalService/GetGoalRules", R, ALL),
    ("pbm.goal.v1.GoalService/SetGoalRules", W, "finance_admin"),
    // docs/MONITORING.md "Roles": finance of the region runs rounds, pushes execution figures
    // (the budget system calls as a finance system account), accepts reports, verifies actions
    // and decides; a unit reports its own projects, a department its units' (and checks them);
    // auditors read; the province reads statistics (and the rounds they belong to) only; an
    // agency only the key monitoring commissioned to it (and the subject it monitors).
    ("pbm.monitoring.v1.RoundService/GetMonitoringRules", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.RoundService/SetMonitoringRules", W, "finance_admin"),
    ("pbm.monitoring.v1.RoundService/OpenRound", W, "finance_admin"),
    ("pbm.monitoring.v1.RoundService/SetRoundRules", W, "finance_admin"),
    ("pbm.monitoring.v1.RoundService/CloseRound", W, "finance_admin"),
    ("pbm.monitoring.v1.RoundService/ReopenUnit", W, "finance_admin"),
    ("pbm.monitoring.v1.RoundService/GetRound", R, "finance_admin department budget_unit auditor province"),
    ("pbm.monitoring.v1.RoundService/ListRounds", R, "finance_admin department budget_unit auditor province"),
    ("pbm.monitoring.v1.RoundService/ListRoundSubjects", R, MON_READERS),
    ("pbm.monitoring.v1.RoundService/GetRoundSubject", R, MON_READERS),
    ("pbm.monitoring.v1.RoundService/ListUnitDeadlines", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.RoundService/GetRoundStatistics", R, REGION_READERS),
    ("pbm.monitoring.v1.ExecutionService/PushExecution", W, "finance_admin"),
    ("pbm.monitoring.v1.ExecutionService/ImportExecution", W, "finance_admin"),
    ("pbm.monitoring.v1.ExecutionService/GetExecutionHistory", R, "finance_admin department budget_unit auditor"),
    // Every project's figures and warnings, which the evaluation service reads when a year's
    // self-evaluation opens: the region's readers, as StreamApprovedGoals.
    ("pbm.monitoring.v1.ExecutionService/StreamExecutionSummary", R, REGION_READERS),
    ("pbm.monitoring.v1.ReportService/SaveReport", W, "department budget_unit"),
    ("pbm.monitoring.v1.ReportService/SubmitReport", W, "department budget_unit"),
    ("pbm.monitoring.v1.ReportService/CheckReport", W, "department"),
    ("pbm.monitoring.v1.ReportService/AcceptReport", W, "finance_admin"),
    ("pbm.monitoring.v1.ReportService/ReturnReport", W, "finance_admin"),
    ("pbm.monitoring.v1.ReportService/GetReport", R, MON_READERS),
    ("pbm.monitoring.v1.ReportService/ListReports", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.ReportService/GetReportHistory", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.ReportService/ImportReports", W, "department budget_unit"),
    ("pbm.monitoring.v1.ReportService/ExportMonitoringTable", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.DeviationService/ListWarnings", R, MON_READERS),
    ("pbm.monitoring.v1.DeviationService/ListDeviations", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.DeviationService/ListExecutionForecasts", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.DeviationService/CreateCorrectiveAction", W, "finance_admin department"),
    ("pbm.monitoring.v1.DeviationService/UpdateCorrectiveAction", W, "department budget_unit"),
    ("pbm.monitoring.v1.DeviationService/VerifyCorrectiveAction", W, "finance_admin"),
    ("pbm.monitoring.v1.DeviationService/ListCorrectiveActions", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.DeviationService/RecordDecision", W, "finance_admin"),
    ("pbm.monitoring.v1.DeviationService/ListDecisions", R, "finance_admin department budget_unit auditor"),
    ("pbm.monitoring.v1.DeviationService/CheckPaymentHolds", R, "finance_admin auditor"),
    ("pbm.monitoring.v1.KeyMonitoringService/MarkKeyMonitoring", W, "finance_admin"),
    ("pbm.monitoring.v1.KeyMonitoringService/CommissionKeyMonitoring", W, "finance_admin"),
    ("pbm.monitoring.v1.KeyMonitoringService/FileKeyMonitoringReport", W, "agency"),
    ("pbm.monitoring.v1.KeyMonitoringService/DecideKeyMonitoringReport", W, "finance_admin"),
    ("pbm.monitoring.v1.KeyMonitoringService/GetKeyMonitoring", R, "finance_admin agency auditor"),
    ("pbm.monitoring.v1.KeyMonitoringService/ListKeyMonitoring", R, "finance_admin agency auditor"),
    // docs/EVALUATION.md "Roles" and docs/SECURITY.md "Roles": finance of the region sets the
    // rules, opens, refreshes and closes a year's self-evaluation, reopens a unit and receives
    // the sheets; a unit fills its own sheets and a department its units' review (and its own
    // 部门整体 sheet); auditors read everything; the province reads campaigns and statistics
    // only; an agency reads only the sheets of a spot check commissioned to it; experts and the
    // public see nothing of evaluation (nothing is published in part 1) but the rules.
    ("pbm.evaluation.v1.CampaignService/GetEvaluationRules", R, NOT_PUBLIC),
    ("pbm.evaluation.v1.CampaignService/SetEvaluationRules", W, "finance_admin"),
    ("pbm.evaluation.v1.CampaignService/OpenCampaign", W, "finance_admin"),
    ("pbm.evaluation.v1.CampaignService/RefreshExecution", W, "finance_admin"),
    ("pbm.evaluation.v1.CampaignService/CloseCampaign", W, "finance_admin"),
    ("pbm.evaluation.v1.CampaignService/ReopenUnit", W, "finance_admin"),
    ("pbm.evaluation.v1.CampaignService/GetCampaign", R, "finance_admin department budget_unit auditor province"),
    ("pbm.evaluation.v1.CampaignService/ListCampaigns", R, "finance_admin department budget_unit auditor province"),
    ("pbm.evaluation.v1.CampaignService/GetSelfEvaluationStatistics", R, REGION_READERS),
    ("pbm.evaluation.v1.SelfEvaluationService/GetSelfEvaluation", R, MON_READERS),
    ("pbm.evaluation.v1.SelfEvaluationService/ListSelfEvaluations", R, MON_READERS),
    ("pbm.evaluation.v1.SelfEvaluationService/GetSelfEvaluationHistory", R, MON_READERS),
    ("pbm.evaluation.v1.SelfEvaluationService/ExportSelfEvaluations", R, MON_READERS),
    ("pbm.evaluation.v1.SelfEvaluationService/SaveSelfEvaluation", W, "department budget_unit"),
    ("pbm.evaluation.v1.SelfEvaluationService/SubmitSelfEvaluation", W, "department budget_unit"),
    ("pbm.evaluation.v1.SelfEvaluationService/ImportSelfEvaluations", W, "department budget_unit"),
    ("pbm.evaluation.v1.SelfEvaluationService/ReviewSelfEvaluation", W, "department"),
    ("pbm.evaluation.v1.SelfEvaluationService/ReceiveSelfEvaluation", W, "finance_admin"),
    // Spot checks (抽查复核): finance selects and commissions; the audit bureau ranks, replays a
    // draw and reviews the checks it does jointly with finance; an agency reads and reviews
    // only what was commissioned to it; units and departments see the findings on their sheets.
    ("pbm.evaluation.v1.SpotCheckService/RankRisk", R, "finance_admin auditor"),
    ("pbm.evaluation.v1.SpotCheckService/SelectSpotCheck", W, "finance_admin"),
    ("pbm.evaluation.v1.SpotCheckService/CommissionReview", W, "finance_admin"),
    ("pbm.evaluation.v1.SpotCheckService/ReplaySpotCheck", R, "finance_admin auditor"),
    ("pbm.evaluation.v1.SpotCheckService/GetSpotCheck", R, "finance_admin auditor agency"),
    ("pbm.evaluation.v1.SpotCheckService/ListSpotChecks", R, "finance_admin auditor agency"),
    ("pbm.evaluation.v1.SpotCheckService/GetReview", R, "finance_admin auditor agency"),
    ("pbm.evaluation.v1.SpotCheckService/SaveReview", W, "finance_admin auditor agency"),
    ("pbm.evaluation.v1.SpotCheckService/FinishReview", W, "finance_admin auditor agency"),
    ("pbm.evaluation.v1.SpotCheckService/ListFindings", R, MON_READERS),
    ("pbm.evaluation.v1.SpotCheckService/GetSpotCheckStatistics", R, REGION_READERS),
    // proto/pbm/region/v1/region_statistics_service.proto (docs/EVALUATION.md "Region
    // statistics"): the region's figures for those who oversee it.
    ("pbm.region.v1.RegionStatisticsService/GetRegionStatistics", R, REGION_READERS),
    // proto/pbm/audit/v1/audit_service.proto (docs/SECURITY.md "Audit log"): the auditor of this
    // region or of one above it, and finance of this very region.
    ("pbm.audit.v1.AuditService/VerifyAuditChain", R, "auditor finance_admin:here"),
    ("pbm.audit.v1.AuditService/ExportAudit", R, "auditor finance_admin:here"),
];

/// Refusal reasons that are about the caller's role or region (never due to an allowed caller).
const ROLE_REASONS: &[&str] = &[
    "UNAUTHENTICATED",
    "ROLE_NOT_ALLOWED",
    "REGION_MISMATCH",
    "REGION_NOT_ALLOWED",
];

/// The services `pbm serve` serves: every service of pbm-proto's descriptor set but the
/// benchmarks' echo service.
fn served_methods() -> Vec<MethodDescriptor> {
    let pool = DescriptorPool::decode(pbm_proto::FILE_DESCRIPTOR_SET).expect("descriptor set");
    pool.services()
        .filter(|s| {
            s.package_name().starts_with("pbm.") && !s.package_name().starts_with("pbm.bench.")
        })
        .flat_map(|s| s.methods().collect::<Vec<_>>())
        .collect()
}

fn full_name(m: &MethodDescriptor) -> String {
    format!("{}/{}", m.parent_service().full_name(), m.name())
}

/// The roles a table row allows, each with whether only callers of this very region may (a
/// name ending in `:here`).
type Allowed = Vec<(Role, bool)>;

/// The roles of a table row.
fn roles_of(list: &str) -> Allowed {
    list.split_whitespace()
        .map(|name| {
            let (name, here) = name
                .strip_suffix(":here")
                .map_or((name, false), |n| (n, true));
            let role = *Role::ALL
                .iter()
                .find(|r| r.as_str() == name)
                .unwrap_or_else(|| panic!("no role {name}"));
            (role, here)
        })
        .collect()
}

// -- the callers ----------------------------------------------------------------------------------

/// Where a caller stands relative to the deployment's region and the seeded organisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Standing {
    /// Of the region (the province: of its province).
    Own,
    /// Of the region, another department or another unit than the seeded ones.
    OtherOrg,
    /// Of another county (the province: another province).
    Foreign,
    /// Of the enclosing city.
    Enclosing,
}

enum Credential {
    Token(Who, Standing),
    None,
    Expired,
    ForeignKey,
}

impl Credential {
    fn label(&self) -> String {
        match self {
            Credential::Token(who, standing) => {
                format!("{} {standing:?} ({})", who.role, who.sub)
            }
            Credential::None => "no token".into(),
            Credential::Expired => "expired token".into(),
            Credential::ForeignKey => "foreign key".into(),
        }
    }
}

/// The caller of `role` at `region` with the organisation codes its role carries.
fn caller(role: Role, region: &str, department: &str, unit: &str) -> Who {
    let who = Who::new(role, region);
    match role {
        Role::Department => who.with_department(department),
        Role::BudgetUnit => who.with_department(department).with_unit(unit),
        Role::Agency => who.with_agency("91350100M000100Y43"),
        Role::Expert => who.with_expert("7"),
        _ => who,
    }
}

fn credentials() -> Vec<Credential> {
    let mut out = Vec::new();
    for role in Role::ALL {
        let (own, foreign) = if role == Role::Province {
            ("140000", "130000")
        } else {
            (REGION, "140526")
        };
        out.push(Credential::Token(
            caller(role, own, "D01", "D01001"),
            Standing::Own,
        ));
        out.push(Credential::Token(
            caller(role, foreign, "D01", "D01001"),
            Standing::Foreign,
        ));
        if !matches!(role, Role::Province | Role::Public) {
            out.push(Credential::Token(
                caller(role, "140500", "D01", "D01001"),
                Standing::Enclosing,
            ));
        }
    }
    out.push(Credential::Token(
        caller(Role::Department, REGION, "D02", "D02001"),
        Standing::OtherOrg,
    ));
    out.push(Credential::Token(
        caller(Role::BudgetUnit, REGION, "D01", "D01002"),
        Standing::OtherOrg,
    ));
    out.extend([
        Credential::None,
        Credential::Expired,
        Credential::ForeignKey,
    ]);
    out
}

/// What the table expects of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Unauthenticated,
    Refused,
    Allowed,
}

fn expect(kind: Kind, allowed: &[(Role, bool)], credential: &Credential) -> Expect {
    let (who, standing) = match credential {
        Credential::Token(who, standing) => (who, *standing),
        _ => return Expect::Unauthenticated,
    };
    let Some(&(_, here_only)) = allowed.iter().find(|(role, _)| *role == who.role) else {
        return Expect::Refused;
    };
    let region_allowed = match standing {
        // (The province's own region encloses the deployment's; the table lets it only read.)
        Standing::Own | Standing::OtherOrg => true,
        // The public is of no region.
        Standing::Foreign => who.role == Role::Public,
        Standing::Enclosing => kind == Kind::Read && !here_only,
    };
    if region_allowed {
        Expect::Allowed
    } else {
        Expect::Refused
    }
}

// -- calling any RPC by its descriptor ------------------------------------------------------------

/// A codec for dynamic messages: encodes what it is given, decodes `output` messages.
#[derive(Clone)]
struct DynamicCodec(MessageDescriptor);

struct DynamicEncoder;
struct DynamicDecoder(MessageDescriptor);

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> DynamicEncoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> DynamicDecoder {
        DynamicDecoder(self.0.clone())
    }
}

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

/// The empty request of `method`, with `request_id` set where the message has one.
fn empty_request(method: &MethodDescriptor, request_id: &str) -> DynamicMessage {
    let mut message = DynamicMessage::new(method.input());
    if method.input().get_field_by_name("request_id").is_some() {
        message.set_field_by_name("request_id", Value::String(request_id.into()));
    }
    message
}

fn with_token<T>(message: T, token: Option<&str>) -> Request<T> {
    match token {
        Some(token) => pbm_testkit::bearer(token, message),
        None => Request::new(message),
    }
}

/// The answer to one call: its code and reason. A stream's answer is its first message's (a
/// bulk stream's first result carries its item's code in the message).
async fn call(
    channel: &Channel,
    method: &MethodDescriptor,
    token: Option<&str>,
    request_id: &str,
) -> (Code, String) {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("channel ready");
    let path = PathAndQuery::from_str(&format!("/{}", full_name(method))).expect("path");
    let codec = DynamicCodec(method.output());
    let message = empty_request(method, request_id);
    let answer: Result<Option<DynamicMessage>, Status> =
        match (method.is_client_streaming(), method.is_server_streaming()) {
            (false, false) => grpc
                .unary(with_token(message, token), path, codec)
                .await
                .map(|r| Some(r.into_inner())),
            (false, true) => match grpc
                .server_streaming(with_token(message, token), path, codec)
                .await
            {
                Ok(r) => r.into_inner().message().await,
                Err(status) => Err(status),
            },
            (true, false) => grpc
                .client_streaming(
                    with_token(tokio_stream::iter([message]), token),
                    path,
                    codec,
                )
                .await
                .map(|r| Some(r.into_inner())),
            (true, true) => match grpc
                .streaming(
                    with_token(tokio_stream::iter([message]), token),
                    path,
                    codec,
                )
                .await
            {
                Ok(r) => r.into_inner().message().await,
                Err(status) => Err(status),
            },
        };
    match answer {
        Err(status) => (status.code(), reason(&status)),
        Ok(Some(m))
            if m.get_field_by_name("ok")
                .is_some_and(|ok| !ok.as_bool().unwrap_or(true)) =>
        {
            let text = |f: &str| {
                m.get_field_by_name(f)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            let code = text("code");
            let code = (0..=16)
                .map(Code::from_i32)
                .find(|c| format!("{c:?}") == code)
                .unwrap_or(Code::Unknown);
            (code, text("reason"))
        }
        Ok(_) => (Code::Ok, String::new()),
    }
}

// -- the matrix -----------------------------------------------------------------------------------

async fn every_rpc_by_every_caller(db: TestDatabase) {
    let started = Instant::now();
    let d = Deployment::start(db, None).await;
    let dev_key = pbm_auth::dev::load_or_create(d.data_dir.path()).expect("development key");
    let expired = {
        let mut claims: Claims = Who::finance(REGION).claims(600);
        claims.iat -= 7200;
        claims.exp -= 3600;
        dev_key.sign(&claims)
    };
    let foreign_key = pbm_testkit::Tokens::default().token(&Who::finance(REGION));

    let methods = served_methods();
    let table: BTreeMap<&str, (Kind, Allowed)> = TABLE
        .iter()
        .map(|(rpc, kind, roles)| (*rpc, (*kind, roles_of(roles))))
        .collect();
    assert_eq!(table.len(), TABLE.len(), "an RPC is listed twice");
    let served: Vec<String> = methods.iter().map(full_name).collect();
    let missing: Vec<&String> = served
        .iter()
        .filter(|m| !table.contains_key(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "RPCs served but not in the authorization table (say who may call them): {missing:#?}"
    );
    let stale: Vec<&&str> = table
        .keys()
        .filter(|k| !served.iter().any(|m| m == *k))
        .collect();
    // Rows of RPCs not (or not yet) in the contracts are harmless; they are named.
    for rpc in &stale {
        println!("  note: table row for an RPC not served: {rpc}");
    }

    let credentials = credentials();
    let tokens: Vec<Option<String>> = credentials
        .iter()
        .map(|credential| match credential {
            Credential::Token(who, _) => Some(dev_key.sign(&who.claims(600))),
            Credential::None => None,
            Credential::Expired => Some(expired.clone()),
            Credential::ForeignKey => Some(foreign_key.clone()),
        })
        .collect();
    // Each RPC's callers in turn, eight RPCs side by side (well below the server's in-flight
    // limit, so that no call is shed).
    let answers = {
        let lanes = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, method) in methods.iter().enumerate() {
            let (channel, method, tokens) = (d.channel.clone(), method.clone(), tokens.clone());
            let lanes = lanes.clone();
            tasks.spawn(async move {
                let _lane = lanes.acquire_owned().await.expect("lane");
                let mut codes = Vec::new();
                for (j, token) in tokens.iter().enumerate() {
                    let rid = format!("matrix-{i}-{j}");
                    codes.push(call(&channel, &method, token.as_deref(), &rid).await);
                }
                (i, codes)
            });
        }
        let mut answers = vec![Vec::new(); methods.len()];
        while let Some(done) = tasks.join_next().await {
            let (i, codes) = done.expect("matrix task");
            answers[i] = codes;
        }
        answers
    };

    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut validated_first = Vec::new();
    for (method, codes) in methods.iter().zip(&answers) {
        let name = full_name(method);
        let (kind, allowed) = &table[name.as_str()];
        for (credential, (code, why)) in credentials.iter().zip(codes) {
            let (code, why) = (*code, why.as_str());
            let expected = expect(*kind, allowed, credential);
            let line = format!("{name} by {}: {code:?} {why}", credential.label());
            match expected {
                Expect::Unauthenticated if code != Code::Unauthenticated => wrong.push(line),
                Expect::Refused if code == Code::Ok => wrong.push(line),
                Expect::Refused if code != Code::PermissionDenied => validated_first.push(line),
                Expect::Allowed
                    if code == Code::Unauthenticated
                        || (code == Code::PermissionDenied && ROLE_REASONS.contains(&why)) =>
                {
                    wrong.push(line)
                }
                _ if matches!(code, Code::Unimplemented | Code::Internal | Code::Unknown) => {
                    wrong.push(line)
                }
                _ => {}
            }
            *tally.entry(format!("{expected:?} → {code:?}")).or_default() += 1;
        }
    }

    println!(
        "authorization matrix: {} RPCs of {} services × {} callers ({} roles × own/foreign/enclosing \
         region, another department, another unit, no/expired/foreign-key token) = {} calls in {:.1?}",
        methods.len(),
        {
            let mut s: Vec<_> = methods
                .iter()
                .map(|m| m.parent_service().full_name().to_owned())
                .collect();
            s.dedup();
            s.len()
        },
        credentials.len(),
        Role::ALL.len(),
        methods.len() * credentials.len(),
        started.elapsed()
    );
    for (outcome, n) in &tally {
        println!("  {outcome:<32} {n:>5}");
    }
    for line in &validated_first {
        println!("  validated before authorised: {line}");
    }
    assert!(
        wrong.is_empty(),
        "calls answered against the table:\n{}",
        wrong.join("\n")
    );
    assert!(
        validated_first.is_empty(),
        "forbidden callers told something other than PERMISSION_DENIED:\n{}",
        validated_first.join("\n")
    );
}

pbm_testkit::backend_tests! {
    authorization_matrix => every_rpc_by_every_caller;
}
