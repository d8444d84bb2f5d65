//! CampaignService over real gRPC, on both backends: the rules of a year (national default,
//! versions, validation, replays, stale versions), opening a year's self-evaluation over every
//! approved project and 部门整体 goal (pinned rules, scores, replays, one per year, checked
//! requests), RefreshExecution from monitoring's new figures, CloseCampaign, the reads, ReopenUnit
//! after the deadline (reason required, audited, in the sheets' history), the statistics by
//! department, fund source and grade, and who may call what (roles, regions, list leakage).

use pbm_proto::evaluation::v1 as ev;
use pbm_proto::goal::v1 as pb;
use pbm_testkit::{fields, refused};
use tonic::{Code, Status};

use crate::common::*;
use crate::sheets::{complete_entries, entry, listed, save};

/// The key of [`DEPT`]'s 部门整体 sheet.
const OVERALL: &str = "DEPT:140500100";

// -- calls ---------------------------------------------------------------------------------------

/// CampaignService's `$rpc` with `$request` as `$who`: the response message or the status.
macro_rules! call {
    ($app:expr, $who:expr, $rpc:ident, $request:expr) => {
        $app.campaigns
            .clone()
            .$rpc($app.req($who, $request))
            .await
            .map(tonic::Response::into_inner)
    };
}

/// Asserts a refusal: its code, reason and the fields of its violations.
#[track_caller]
pub(super) fn no<T: std::fmt::Debug>(
    r: Result<T, Status>,
    code: Code,
    why: &str,
    on: &[&str],
) -> Status {
    let e = refused(r, code, why);
    assert_eq!(fields(&e), on, "{e:?}");
    e
}

pub(super) async fn get_rules(app: &App, who: &Who) -> Result<ev::EvaluationRules, Status> {
    let r = ev::GetEvaluationRulesRequest { fiscal_year: FY };
    Ok(call!(app, who, get_evaluation_rules, r)?.rules.unwrap())
}

pub(super) async fn set_rules(
    app: &App,
    who: &Who,
    rid: &str,
    rules: ev::EvaluationRules,
) -> Result<ev::EvaluationRules, Status> {
    let (request_id, rules) = (rid.into(), Some(rules));
    let r = ev::SetEvaluationRulesRequest { request_id, rules };
    Ok(call!(app, who, set_evaluation_rules, r)?.rules.unwrap())
}

/// The national rules of [`FY`] with the grade bands 优 / 良 / 中 at `bounds`, replacing
/// `version`.
pub(super) async fn bands(app: &App, version: i64, bounds: [&str; 3]) -> ev::EvaluationRules {
    let mut rules = get_rules(app, &finance()).await.unwrap();
    rules.version = version;
    let grades = [ev::Grade::Excellent, ev::Grade::Good, ev::Grade::Fair];
    rules.grades = (grades.into_iter().zip(bounds))
        .map(|(g, lower)| ev::GradeBand {
            grade: g as i32,
            lower: dec(lower),
        })
        .collect();
    rules
}

fn lowers(rules: &ev::EvaluationRules) -> Vec<&str> {
    rules.grades.iter().map(|g| value(&g.lower)).collect()
}

pub(super) fn open_request(rid: &str, deadline: &str) -> ev::OpenCampaignRequest {
    ev::OpenCampaignRequest {
        request_id: rid.into(),
        fiscal_year: FY,
        name: "2026年度项目支出绩效自评".into(),
        deadline: deadline.into(),
        lead_days: 5,
    }
}

pub(super) async fn open(
    app: &App,
    who: &Who,
    r: ev::OpenCampaignRequest,
) -> Result<ev::Campaign, Status> {
    Ok(call!(app, who, open_campaign, r)?.campaign.unwrap())
}

pub(super) async fn get(app: &App, who: &Who, id: i64) -> Result<ev::Campaign, Status> {
    let r = ev::GetCampaignRequest { campaign_id: id };
    Ok(call!(app, who, get_campaign, r)?.campaign.unwrap())
}

/// The campaigns `who` lists (of `year`, 0: all) and the total.
pub(super) async fn list(
    app: &App,
    who: &Who,
    year: i32,
) -> Result<(Vec<ev::Campaign>, i64), Status> {
    let r = ev::ListCampaignsRequest {
        fiscal_year: year,
        page: None,
    };
    let out = call!(app, who, list_campaigns, r)?;
    Ok((out.campaigns, out.page.map_or(0, |p| p.total_size)))
}

pub(super) async fn refresh(
    app: &App,
    who: &Who,
    rid: &str,
    id: i64,
) -> Result<ev::RefreshExecutionResponse, Status> {
    let r = ev::RefreshExecutionRequest {
        request_id: rid.into(),
        campaign_id: id,
    };
    call!(app, who, refresh_execution, r)
}

pub(super) async fn close(
    app: &App,
    who: &Who,
    id: i64,
    revision: i64,
) -> Result<ev::Campaign, Status> {
    let (request_id, campaign_id, expected_revision) = (app.rid(), id, revision);
    let r = ev::CloseCampaignRequest {
        request_id,
        campaign_id,
        expected_revision,
    };
    Ok(call!(app, who, close_campaign, r)?.campaign.unwrap())
}

/// ReopenUnit of `unit` in campaign `id` until `deadline`, for `reason`, as `who`.
pub(super) async fn reopen(
    app: &App,
    who: &Who,
    (id, unit, deadline, reason): (i64, &str, &str, &str),
) -> Result<ev::ReopenUnitResponse, Status> {
    let r = ev::ReopenUnitRequest {
        request_id: app.rid(),
        campaign_id: id,
        agency_code: unit.into(),
        new_deadline: deadline.into(),
        reason: reason.into(),
    };
    call!(app, who, reopen_unit, r)
}

/// The statistics of campaign `id`, grouped by (department, fund source, grade).
pub(super) async fn statistics(
    app: &App,
    who: &Who,
    id: i64,
    (by_department, by_fund_source, by_grade): (bool, bool, bool),
) -> Result<ev::GetSelfEvaluationStatisticsResponse, Status> {
    let r = ev::GetSelfEvaluationStatisticsRequest {
        campaign_id: id,
        by_department,
        by_fund_source,
        by_grade,
    };
    call!(app, who, get_self_evaluation_statistics, r)
}

async fn submit(app: &App, who: &Who, sheet: &ev::SelfEvaluation) -> ev::SelfEvaluation {
    let (request_id, self_evaluation_id) = (app.rid(), sheet.id);
    let expected_revision = sheet.revision;
    let r = ev::SubmitSelfEvaluationRequest {
        request_id,
        self_evaluation_id,
        expected_revision,
    };
    let out = app
        .selfs
        .clone()
        .submit_self_evaluation(app.req(who, r))
        .await;
    out.unwrap().into_inner().self_evaluation.unwrap()
}

async fn history(app: &App, sheet: i64) -> Vec<ev::SheetEvent> {
    let r = ev::GetSelfEvaluationHistoryRequest {
        self_evaluation_id: sheet,
    };
    let out = app
        .selfs
        .clone()
        .get_self_evaluation_history(app.req(&finance(), r))
        .await;
    out.unwrap().into_inner().events
}

/// The audit lines of one entity in the evaluation service's database: (method, outcome, detail).
pub(super) async fn audit(
    app: &App,
    entity_type: &'static str,
    id: String,
) -> Vec<(String, String, String)> {
    let db = app.db();
    let lines = db.read(move |c| pbm_db::platform::audit_of(c, entity_type, &id));
    let lines = lines.await.unwrap();
    lines
        .into_iter()
        .map(|a| (a.method, a.outcome, a.detail))
        .collect()
}

fn value(d: &Option<pbm_proto::common::v1::Decimal>) -> &str {
    d.as_ref().map_or("", |d| d.value.as_str())
}

/// A sheet's budget, executed and month of the figures.
fn figures(s: &ev::SelfEvaluation) -> (&str, &str, i32) {
    (value(&s.budget), value(&s.executed), s.execution_month)
}

/// A sheet's total and grade.
fn scored(s: &ev::SelfEvaluation) -> (&str, ev::Grade) {
    let score = s.score.as_ref().unwrap();
    (value(&score.total), score.grade())
}

// -- the year's goals ----------------------------------------------------------------------------

/// [`DEPT`]'s approved 部门整体 goal (saved and submitted by the department, approved by finance).
async fn overall_goal(app: &App) {
    let lib = |c: &str, t: &str| pb::GoalIndicator {
        library_code: c.into(),
        target_value: t.into(),
        ..Default::default()
    };
    let declaration = pb::GoalDeclaration {
        department_code: DEPT.into(),
        fiscal_year: FY,
        year_goal: "全面完成部门年度农村饮水安全工作任务".into(),
        serves_people: true,
        indicators: vec![
            lib("OUT-001", "12"),
            lib("COST-001", "50"),
            lib("BEN-001", "32000"),
            lib("SAT-001", "90"),
        ],
        department_budget: dec("5000000"),
        ..Default::default()
    };
    let (request_id, declaration) = (app.rid(), Some(declaration));
    let r = pb::SaveGoalRequest {
        request_id,
        declaration,
        expected_revision: 0,
    };
    app.goals
        .clone()
        .save_goal(app.req(&department(), r))
        .await
        .unwrap();
    app.approve_declared(&department(), "").await;
}

/// P001 of [`UNIT`] (1,000,000 元, 950,000 executed in December), P002 of [`UNIT2`] (500,000
/// 元 of government funds, no figures yet), [`DEPT`]'s 部门整体 goal, and P003 of [`UNIT`] with a
/// draft goal only (not covered).
async fn seeded(db: pbm_testkit::TestDatabase) -> App {
    let app = spawn(db).await;
    app.library().await;
    app.approved("P001", "1000000").await;
    app.approved_for(&unit2(), "P002", DEPT2, UNIT2, "500000")
        .await;
    // P002 re-registered as government funds (政府性基金).
    let r = pb::GetProjectRequest {
        pro_code: "P002".into(),
        fiscal_year: FY,
    };
    let project = app.goals.clone().get_project(app.req(&finance(), r)).await;
    let project = project.unwrap().into_inner().project.unwrap();
    let mut spec = project.spec.unwrap();
    spec.fund_source = pb::FundSource::GovernmentFund as i32;
    let (request_id, spec, expected_version) = (app.rid(), Some(spec), project.version);
    let r = pb::DeclareProjectRequest {
        request_id,
        spec,
        expected_version,
    };
    app.goals
        .clone()
        .declare_project(app.req(&finance(), r))
        .await
        .unwrap();
    overall_goal(&app).await;
    app.declared(&unit(), "P003", DEPT, UNIT, "200000").await;
    app.execution("P001", "1000000", "950000").await;
    app
}

// -- the tests -----------------------------------------------------------------------------------

async fn rules_are_versioned_and_checked(db: pbm_testkit::TestDatabase) {
    let app = spawn(db).await;
    let fin = &finance();
    // None set: the national default, for every role but the public.
    let national = get_rules(&app, &unit()).await.unwrap();
    assert_eq!(
        (national.version, national.label.as_str()),
        (0, "全国默认评分规则")
    );
    assert_eq!(
        (national.mof_div_code.as_str(), national.fiscal_year),
        (REGION, FY)
    );
    assert_eq!(
        (lowers(&national), national.vetoes.len()),
        (vec!["90", "80", "60"], 2)
    );
    assert!(national.changed.is_none());

    // Another province's bands, 80/70/60: version 1, labelled and stamped.
    let (rid, body) = (app.rid(), bands(&app, 0, ["80", "70", "60"]).await);
    let v1 = set_rules(&app, fin, &rid, body.clone()).await.unwrap();
    assert_eq!(
        (v1.version, v1.label.as_str()),
        (1, "2026年度评价规则第1版")
    );
    assert_eq!(lowers(&v1), ["80", "70", "60"]);
    assert_eq!(v1.changed.as_ref().unwrap().actor, fin.sub);
    assert_eq!(get_rules(&app, &auditor()).await.unwrap(), v1);
    // The same request again: the same answer, no second version; another body under the same
    // request id: refused.
    assert_eq!(set_rules(&app, fin, &rid, body).await.unwrap(), v1);
    let other = set_rules(&app, fin, &rid, bands(&app, 0, ["85", "70", "60"]).await).await;
    no(
        other,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
        &["request_id"],
    );

    // Invalid rule sets: each refused on its field with its reason, nothing stored.
    let mut points = bands(&app, 1, ["80", "70", "60"]).await;
    points.points.as_mut().unwrap().output = dec("60");
    let mut negative = bands(&app, 1, ["80", "70", "60"]).await;
    let p = negative.points.as_mut().unwrap();
    (p.budget_execution, p.output) = (dec("-10"), dec("70"));
    let disordered = bands(&app, 1, ["70", "80", "60"]).await;
    let mut not_a_number = bands(&app, 1, ["80", "70", "60"]).await;
    not_a_number.reason_below_rate = dec("九十");
    for (rules, why, field) in [
        (points, "RULES_POINTS_NOT_100", "rules.points"),
        (
            negative,
            "RULES_PART_POINTS_INVALID",
            "rules.points.budget_execution",
        ),
        (disordered, "RULES_GRADE_BANDS_INVALID", "rules.grades"),
        (not_a_number, "DECIMAL_INVALID", "rules.reason_below_rate"),
    ] {
        let e = no(
            set_rules(&app, fin, &app.rid(), rules).await,
            Code::InvalidArgument,
            why,
            &[field],
        );
        assert!(e.message().ends_with(&format!("({why})")), "{e:?}");
    }
    assert_eq!(get_rules(&app, fin).await.unwrap(), v1);
    // A stale version: another writer stored version 1 meanwhile.
    let stale = set_rules(
        &app,
        fin,
        &app.rid(),
        bands(&app, 0, ["85", "75", "60"]).await,
    )
    .await;
    no(stale, Code::Aborted, "VERSION_MISMATCH", &["rules.version"]);
    let v2 = set_rules(
        &app,
        fin,
        &app.rid(),
        bands(&app, 1, ["85", "75", "60"]).await,
    )
    .await;
    let v2 = v2.unwrap();
    assert_eq!(
        (v2.version, v2.label.as_str()),
        (2, "2026年度评价规则第2版")
    );
    // Audited: two versions stored, the refusals too.
    let lines = audit(&app, "evaluation_rules", FY.to_string()).await;
    let stored: Vec<_> = lines.iter().filter(|l| l.1 == "OK").collect();
    assert_eq!(stored.len(), 2, "{lines:?}");
    assert!(
        stored[0].2.starts_with("2026年度评价规则第1版"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.1 == "RULES_GRADE_BANDS_INVALID"),
        "{lines:?}"
    );
    // A year out of range.
    let r = ev::GetEvaluationRulesRequest { fiscal_year: 1899 };
    let e = call!(app, fin, get_evaluation_rules, r).unwrap_err();
    assert_eq!(
        (e.code(), fields(&e)),
        (Code::InvalidArgument, vec!["fiscal_year".to_owned()])
    );
}

async fn opening_covers_every_approved_goal_once(db: pbm_testkit::TestDatabase) {
    let app = seeded(db).await;
    let fin = &finance();
    let v1 = set_rules(
        &app,
        fin,
        &app.rid(),
        bands(&app, 0, ["80", "70", "60"]).await,
    )
    .await;
    let v1 = v1.unwrap();
    // Checked requests: nothing opened.
    for (deadline, why) in [
        ("2027-03-04", "DEADLINE_IN_PAST"),
        ("2027-02-30", "DATE_INVALID"),
        ("3月底", "DATE_INVALID"),
    ] {
        let r = open_request(&app.rid(), deadline);
        no(
            open(&app, fin, r).await,
            Code::InvalidArgument,
            why,
            &["deadline"],
        );
    }
    let r = ev::OpenCampaignRequest {
        lead_days: 61,
        ..open_request(&app.rid(), DEADLINE)
    };
    no(
        open(&app, fin, r).await,
        Code::InvalidArgument,
        "LEAD_DAYS_INVALID",
        &["lead_days"],
    );
    assert_eq!(list(&app, fin, 0).await.unwrap(), (vec![], 0));

    let rid = app.rid();
    let c = open(&app, fin, open_request(&rid, DEADLINE)).await.unwrap();
    assert_eq!(c.status(), ev::CampaignStatus::Open);
    assert_eq!(
        (c.fiscal_year, c.deadline.as_str(), c.lead_days),
        (FY, DEADLINE, 5)
    );
    assert_eq!(
        (c.rules_version, c.rules_label.as_str()),
        (1, v1.label.as_str())
    );
    assert_eq!((c.sheets, c.execution_month), (3, 12));
    assert_eq!(c.opened.as_ref().unwrap().actor, fin.sub);

    // Every approved project and the 部门整体 goal, not the draft P003; each scored under the
    // pinned rules (nothing entered yet: the execution points only).
    let r = ev::ListSelfEvaluationsRequest {
        campaign_id: c.id,
        ..Default::default()
    };
    let sheets = app
        .selfs
        .clone()
        .list_self_evaluations(app.req(fin, r))
        .await;
    let sheets = sheets.unwrap().into_inner().self_evaluations;
    let mut keys: Vec<_> = sheets.iter().map(|s| s.subject_key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, [OVERALL, "P001", "P002"]);
    for s in &sheets {
        let score = s.score.as_ref().unwrap();
        assert_eq!(
            (score.rules_version, score.rules_label.as_str()),
            (1, v1.label.as_str())
        );
        assert_eq!(
            (s.status(), s.deadline.as_str()),
            (ev::SheetStatus::NotStarted, DEADLINE)
        );
    }
    let sheet = |key: &str| sheets.iter().find(|s| s.subject_key == key).unwrap();
    let p1 = sheet("P001");
    assert_eq!(
        (p1.agency_code.as_str(), p1.department_code.as_str()),
        (UNIT, DEPT)
    );
    assert_eq!(figures(p1), ("1000000", "950000", 12));
    assert_eq!(scored(p1), ("9.5", ev::Grade::Poor));
    assert_eq!(value(&p1.score.as_ref().unwrap().execution_rate), "95");
    // No figures yet: the requested amount, nothing executed.
    let p2 = sheet("P002");
    assert_eq!(figures(p2), ("500000", "0", 0));
    assert_eq!(
        (p2.fund_source(), scored(p2).0),
        (pb::FundSource::GovernmentFund, "0")
    );
    // 部门整体: its department's project sheets summed, filled by the department itself.
    let overall = sheet(OVERALL);
    assert_eq!(
        (
            overall.department_code.as_str(),
            overall.agency_code.as_str()
        ),
        (DEPT, DEPT)
    );
    assert_eq!(figures(overall), ("1000000", "950000", 12));

    // The same request again: the same campaign; another body under its id, or another request
    // for the year: refused.
    assert_eq!(
        open(&app, fin, open_request(&rid, DEADLINE)).await.unwrap(),
        c
    );
    let reused = open(&app, fin, open_request(&rid, "2027-04-30")).await;
    no(
        reused,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
        &["request_id"],
    );
    let second = open(&app, fin, open_request(&app.rid(), "2027-04-30")).await;
    no(second, Code::AlreadyExists, "CAMPAIGN_EXISTS", &[]);
    assert_eq!(list(&app, fin, 0).await.unwrap(), (vec![c.clone()], 1));
    let opened = audit(&app, "campaign", c.id.to_string()).await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(opened[0].2.contains("3 张自评表"), "{opened:?}");
}

async fn refresh_close_and_reads(db: pbm_testkit::TestDatabase) {
    let app = seeded(db).await;
    let fin = &finance();
    let c = app.open_campaign().await.unwrap();
    // P001 submitted, P002 a draft with one entry.
    let p1 = listed(&app, &unit(), c.id, "P001").await;
    let p1 = save(&app, &unit(), &p1, complete_entries(), "总体完成")
        .await
        .unwrap();
    let p1 = submit(&app, &unit(), &p1).await;
    let p2 = listed(&app, &unit2(), c.id, "P002").await;
    let p2 = save(&app, &unit2(), &p2, vec![entry(1, "12")], "")
        .await
        .unwrap();
    assert_eq!(scored(&p2).0, "25");

    // December's figures: new for P002, changed for the submitted P001.
    app.execution("P002", "500000", "450000").await;
    app.execution("P001", "1000000", "1000000").await;
    let rid = app.rid();
    let out = refresh(&app, fin, &rid, c.id).await.unwrap();
    assert_eq!(out.sheets_updated, 1);
    let refreshed = out.campaign.clone().unwrap();
    assert_eq!(
        (refreshed.revision, refreshed.execution_month),
        (c.revision + 1, 12)
    );
    let now = listed(&app, &unit2(), c.id, "P002").await;
    assert_eq!(figures(&now), ("500000", "450000", 12));
    // Rescored, still a draft: 25 for 新建 plus 9 for 90 % executed.
    assert_eq!(
        (now.status(), scored(&now).0),
        (ev::SheetStatus::Draft, "34")
    );
    assert_eq!(now.revision, p2.revision + 1);
    let events = history(&app, p2.id).await;
    let last = events.last().unwrap();
    assert_eq!(last.action, "refreshed");
    assert!(last.reason.contains("450000"), "{last:?}");
    // A submitted sheet keeps its figures, and so does its department's 部门整体 sheet.
    let kept = listed(&app, &unit(), c.id, "P001").await;
    assert_eq!((figures(&kept).1, kept.revision), ("950000", p1.revision));
    assert_eq!(figures(&listed(&app, fin, c.id, OVERALL).await).1, "950000");
    // Replayed: the same answer, nothing refreshed twice.
    assert_eq!(refresh(&app, fin, &rid, c.id).await.unwrap(), out);
    assert_eq!(history(&app, p2.id).await.len(), events.len());
    no(
        refresh(&app, fin, &app.rid(), 999).await,
        Code::NotFound,
        "CAMPAIGN_NOT_FOUND",
        &[],
    );

    // Reads: by id and by year, for every reader.
    for who in [finance(), department(), unit2(), auditor(), province()] {
        assert_eq!(get(&app, &who, c.id).await.unwrap(), refreshed, "{who:?}");
        assert_eq!(
            list(&app, &who, FY).await.unwrap(),
            (vec![refreshed.clone()], 1)
        );
    }
    assert_eq!(list(&app, fin, FY + 1).await.unwrap(), (vec![], 0));
    no(
        get(&app, fin, 999).await,
        Code::NotFound,
        "CAMPAIGN_NOT_FOUND",
        &[],
    );

    // Closed, guarded by the revision; then the campaign and its sheets freeze.
    let stale = close(&app, fin, c.id, c.revision).await;
    no(
        stale,
        Code::Aborted,
        "STALE_REVISION",
        &["expected_revision"],
    );
    let closed = close(&app, fin, c.id, refreshed.revision).await.unwrap();
    assert_eq!(
        (closed.status(), closed.revision),
        (ev::CampaignStatus::Closed, refreshed.revision + 1)
    );
    assert_eq!(get(&app, &department(), c.id).await.unwrap(), closed);
    let shut = (Code::FailedPrecondition, "CAMPAIGN_CLOSED");
    no(
        close(&app, fin, c.id, closed.revision).await,
        shut.0,
        shut.1,
        &[],
    );
    no(
        refresh(&app, fin, &app.rid(), c.id).await,
        shut.0,
        shut.1,
        &[],
    );
    let r = (c.id, UNIT2, "2027-04-10", "补报");
    no(reopen(&app, fin, r).await, shut.0, shut.1, &[]);
    let e = save(&app, &unit2(), &now, vec![entry(2, "40")], "")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "CAMPAIGN_CLOSED");
}

async fn reopening_a_unit_after_the_deadline(db: pbm_testkit::TestDatabase) {
    let app = seeded(db).await;
    let fin = &finance();
    let c = app.open_campaign().await.unwrap();
    let sheet = listed(&app, &unit(), c.id, "P001").await;
    let draft = save(&app, &unit(), &sheet, vec![entry(1, "12")], "")
        .await
        .unwrap();
    app.set_today(chrono::NaiveDate::from_ymd_opt(FY + 1, 4, 2).unwrap());
    let e = save(&app, &unit(), &draft, vec![entry(2, "45")], "")
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::FailedPrecondition, "CAMPAIGN_LOCKED")
    );

    // Refused: no reason, a date gone by or malformed, a unit without sheets, no campaign.
    let bad = Code::InvalidArgument;
    for (r, code, why, on) in [
        (
            (c.id, UNIT, "2027-04-10", "  "),
            bad,
            "REASON_REQUIRED",
            &["reason"][..],
        ),
        (
            (c.id, UNIT, "2027-04-01", "系统故障"),
            bad,
            "DEADLINE_IN_PAST",
            &["new_deadline"],
        ),
        (
            (c.id, UNIT, "四月十日", "系统故障"),
            bad,
            "DATE_INVALID",
            &["new_deadline"],
        ),
        (
            (c.id, "140500999", "2027-04-10", "系统故障"),
            Code::NotFound,
            "UNIT_NOT_FOUND",
            &[],
        ),
        (
            (999, UNIT, "2027-04-10", "系统故障"),
            Code::NotFound,
            "CAMPAIGN_NOT_FOUND",
            &[],
        ),
    ] {
        no(reopen(&app, fin, r).await, code, why, on);
    }
    // The unit stays locked.
    let still = listed(&app, &unit(), c.id, "P001").await;
    assert_eq!(
        (still.deadline.as_str(), still.deadline_status()),
        (DEADLINE, ev::DeadlineStatus::Overdue)
    );

    let why = "单位因系统故障未能按时填报";
    let out = reopen(&app, fin, (c.id, UNIT, "2027-04-10", why))
        .await
        .unwrap();
    assert_eq!(
        (
            out.agency_code.as_str(),
            out.deadline.as_str(),
            out.reopened
        ),
        (UNIT, "2027-04-10", 1)
    );
    let reopened = listed(&app, &unit(), c.id, "P001").await;
    assert_eq!(
        (reopened.deadline.as_str(), reopened.deadline_status()),
        ("2027-04-10", ev::DeadlineStatus::Normal)
    );
    let saved = save(&app, &unit(), &reopened, vec![entry(2, "45")], "")
        .await
        .unwrap();
    assert_eq!(saved.status(), ev::SheetStatus::Draft);
    // Another unit stays locked.
    let other = listed(&app, &unit2(), c.id, "P002").await;
    let e = save(&app, &unit2(), &other, vec![entry(1, "12")], "")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "CAMPAIGN_LOCKED");

    // Audited under the unit (the refusals too; the unknown unit is audited under its own key), and in the sheet's history.
    let lines = audit(&app, "campaign_unit", format!("{}/{UNIT}", c.id)).await;
    let outcomes: Vec<_> = lines.iter().map(|l| (l.0.as_str(), l.1.as_str())).collect();
    let expected = ["REASON_REQUIRED", "DEADLINE_IN_PAST", "DATE_INVALID", "OK"];
    assert_eq!(outcomes, expected.map(|o| ("ReopenUnit", o)).as_slice());
    assert!(lines[3].2.contains(why), "{lines:?}");
    let events = history(&app, sheet.id).await;
    let event = events
        .iter()
        .find(|e| e.action == "reopened")
        .expect("a reopened event");
    assert!(
        event.reason.contains("2027-04-10") && event.reason.contains(why),
        "{event:?}"
    );
    assert_eq!(event.at.as_ref().unwrap().actor, fin.sub);
    // Reopened again: the new deadline replaces the last, counted.
    let again = reopen(&app, fin, (c.id, UNIT, "2027-04-20", "再次延期"))
        .await
        .unwrap();
    assert_eq!((again.deadline.as_str(), again.reopened), ("2027-04-20", 2));
}

/// A statistics row: (covered, submitted, overdue), (优, 良, 中, 差), [budget, executed,
/// submitted budget].
type Row<'a> = ((i64, i64, i64), (i64, i64, i64, i64), [&'a str; 3]);

fn row(r: &ev::SelfEvaluationStatisticsRow) -> Row<'_> {
    let g = r.grades.unwrap();
    let amounts = [
        value(&r.budget),
        value(&r.executed),
        value(&r.submitted_budget),
    ];
    (
        (r.covered, r.submitted, r.overdue),
        (g.excellent, g.good, g.fair, g.poor),
        amounts,
    )
}

async fn statistics_by_department_fund_source_and_grade(db: pbm_testkit::TestDatabase) {
    let app = seeded(db).await;
    let fin = &finance();
    let c = app.open_campaign().await.unwrap();
    // P001 submitted: 84.5, 良.
    let p1 = listed(&app, &unit(), c.id, "P001").await;
    let p1 = save(&app, &unit(), &p1, complete_entries(), "总体完成")
        .await
        .unwrap();
    let p1 = submit(&app, &unit(), &p1).await;
    assert_eq!(scored(&p1), ("84.5", ev::Grade::Good));
    // The 部门整体 sheet, by its department, half the works built too: 72, 中, and reviewed at
    // once.
    let overall = listed(&app, &department(), c.id, OVERALL).await;
    let mut entries = complete_entries();
    entries[0].achieved_value = "6".into();
    entries[0].deviation_causes = "资金到位晚".into();
    entries[0].improvement_measures = "提前拨付".into();
    let overall = save(&app, &department(), &overall, entries, "部门整体基本完成").await;
    let overall = submit(&app, &department(), &overall.unwrap()).await;
    assert_eq!(scored(&overall), ("72", ev::Grade::Fair));
    assert_eq!(overall.status(), ev::SheetStatus::Reviewed);
    // P002 is never submitted: overdue after the deadline.
    app.set_today(chrono::NaiveDate::from_ymd_opt(FY + 1, 4, 1).unwrap());

    let all = statistics(&app, fin, c.id, (false, false, false))
        .await
        .unwrap();
    assert!(all.rows.is_empty());
    assert_eq!(all.campaign.as_ref().unwrap().id, c.id);
    let totals = all.totals.clone().unwrap();
    assert_eq!(
        row(&totals),
        ((3, 2, 1), (0, 1, 1, 0), ["2500000", "1900000", "2000000"])
    );
    assert_eq!(
        (
            totals.department_code.as_str(),
            totals.fund_source,
            totals.grade
        ),
        ("", 0, 0)
    );

    let by_dept = statistics(&app, fin, c.id, (true, false, false))
        .await
        .unwrap();
    let rows: Vec<_> = by_dept
        .rows
        .iter()
        .map(|r| (r.department_code.as_str(), row(r)))
        .collect();
    assert_eq!(
        rows,
        [
            (
                DEPT,
                ((2, 2, 0), (0, 1, 1, 0), ["2000000", "1900000", "2000000"])
            ),
            (DEPT2, ((1, 0, 1), (0, 0, 0, 0), ["500000", "0", "0"])),
        ]
    );
    assert_eq!(by_dept.totals, all.totals);

    // The 部门整体 sheet has no fund source of its own.
    let by_fund = statistics(&app, &auditor(), c.id, (false, true, false))
        .await
        .unwrap();
    let rows: Vec<_> = by_fund
        .rows
        .iter()
        .map(|r| (r.fund_source(), row(r)))
        .collect();
    let (none, general, fund) = (
        pb::FundSource::Unspecified,
        pb::FundSource::GeneralPublic,
        pb::FundSource::GovernmentFund,
    );
    assert_eq!(
        rows,
        [
            (
                none,
                ((1, 1, 0), (0, 0, 1, 0), ["1000000", "950000", "1000000"])
            ),
            (
                general,
                ((1, 1, 0), (0, 1, 0, 0), ["1000000", "950000", "1000000"])
            ),
            (fund, ((1, 0, 1), (0, 0, 0, 0), ["500000", "0", "0"])),
        ]
    );

    // By grade (rows in the order of the grades' words; sorted here): a sheet not submitted has
    // none yet.
    let by_grade = statistics(&app, &province(), c.id, (false, false, true))
        .await
        .unwrap();
    let mut rows: Vec<_> = by_grade
        .rows
        .iter()
        .map(|r| (r.grade(), r.covered, r.submitted, r.overdue))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            (ev::Grade::Unspecified, 1, 0, 1),
            (ev::Grade::Good, 1, 1, 0),
            (ev::Grade::Fair, 1, 1, 0),
        ]
    );
    let both = statistics(&app, fin, c.id, (true, true, true))
        .await
        .unwrap();
    assert_eq!((both.rows.len(), both.totals), (3, all.totals));
    let missing = statistics(&app, fin, 999, (false, false, false)).await;
    no(missing, Code::NotFound, "CAMPAIGN_NOT_FOUND", &[]);
}

pbm_testkit::backend_tests! {
    rules => rules_are_versioned_and_checked;
    opening => opening_covers_every_approved_goal_once;
    refresh_close => refresh_close_and_reads;
    reopen => reopening_a_unit_after_the_deadline;
    statistics => statistics_by_department_fund_source_and_grade;
}
