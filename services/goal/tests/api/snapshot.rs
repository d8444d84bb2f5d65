//! StreamApprovedGoals: the approved goals of a year with the version in force (never a draft
//! under adjustment), with include_unapproved the subjects without one and why, filtered by
//! department and PRO_CODE, streamed across chunks; finance, auditors and the province only.

use pbm_auth::Role;
use pbm_db::StoreError;
use pbm_goal::domain::workflow::{Action, Actor, GoalState, ReviewOutcome, Role as GoalRole};
use pbm_goal::store::{self, GoalRow, ProjectRow};
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::approved_goal_item::Subject;
use pbm_testkit::{TestDatabase, violation_reasons};
use tokio_stream::StreamExt;
use tonic::{Code, Status};

use crate::common::*;

/// A second unit, of a second department.
const UNIT2: &str = "140500201";
const DEPT2: &str = "140500200";

fn department(code: &str) -> Who {
    who(Role::Department, REGION, None, Some(code))
}

fn unit2() -> Who {
    who(Role::BudgetUnit, REGION, Some(UNIT2), Some(DEPT2))
}

fn ask(departments: &[&str], codes: &[&str], unapproved: bool) -> pb::StreamApprovedGoalsRequest {
    pb::StreamApprovedGoalsRequest {
        fiscal_year: FY,
        department_codes: departments.iter().map(|c| (*c).to_owned()).collect(),
        pro_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        include_unapproved: unapproved,
    }
}

/// Every item of the stream, or its refusal.
async fn stream(
    app: &App,
    caller: &Who,
    r: pb::StreamApprovedGoalsRequest,
) -> Result<Vec<pb::ApprovedGoalItem>, Status> {
    app.goals
        .clone()
        .stream_approved_goals(app.req(caller, r))
        .await?
        .into_inner()
        .collect()
        .await
}

/// The subject of an item: its PRO_CODE, or `D:<department>` for a 部门整体.
fn key(item: &pb::ApprovedGoalItem) -> String {
    match item.subject.as_ref().unwrap() {
        Subject::Project(p) => p.spec.as_ref().unwrap().pro_code.clone(),
        Subject::DepartmentCode(d) => format!("D:{d}"),
    }
}

fn keys(items: &[pb::ApprovedGoalItem]) -> Vec<String> {
    items.iter().map(key).collect()
}

fn reason_of(item: &pb::ApprovedGoalItem) -> &str {
    item.reason.as_ref().map_or("", |r| r.code.as_str())
}

impl App {
    async fn submit_as(&self, caller: &Who, goal: &pb::Goal) -> pb::Goal {
        let r = pb::SubmitGoalRequest {
            request_id: self.rid(),
            goal_id: goal.id,
            expected_revision: goal.revision,
        };
        self.goals
            .clone()
            .submit_goal(self.req(caller, r))
            .await
            .unwrap()
            .into_inner()
            .goal
            .unwrap()
    }

    /// Declared by `caller`, submitted, reviewed 优 and approved.
    async fn approved(&self, caller: &Who, d: pb::GoalDeclaration) -> pb::Goal {
        let g = self.save(caller, d, 0).await.unwrap();
        let g = self.submit_as(caller, &g).await;
        let g = self
            .review(&g, pb::ReviewOutcome::Excellent, "")
            .await
            .unwrap();
        self.approve(&g).await.unwrap()
    }

    /// Project `code` of the second unit, registered by finance.
    async fn project_of_unit2(&self, code: &str) {
        let r = pb::DeclareProjectRequest {
            request_id: self.rid(),
            spec: Some(pb::ProjectSpec {
                pro_code: code.into(),
                name: format!("{code} 城乡供水一体化工程"),
                agency_code: UNIT2.into(),
                department_code: DEPT2.into(),
                fiscal_year: FY,
                fund_source: pb::FundSource::GovernmentFund as i32,
                special_field: pb::SpecialField::GovernmentProcurement as i32,
                continuity: pb::Continuity::Continuing as i32,
                nature: pb::Nature::Project as i32,
                requested_amount: dec("800000.50"),
                ..Default::default()
            }),
            expected_version: 0,
        };
        self.goals
            .clone()
            .declare_project(self.req(&finance(), r))
            .await
            .unwrap();
    }
}

/// A 部门整体 declaration of `dept`.
fn overall(dept: &str) -> pb::GoalDeclaration {
    pb::GoalDeclaration {
        pro_code: String::new(),
        department_code: dept.into(),
        department_budget: dec("50000000"),
        ..full("")
    }
}

async fn approved_goals_stream_with_the_version_in_force(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    for code in ["P-A", "P-B", "P-C", "P-D"] {
        app.project(code, "300000", pb::Continuity::Continuing)
            .await
            .unwrap();
    }
    app.project_of_unit2("P-E").await;
    // P-A approved, then being adjusted: a new target in the draft of version 2.
    let a = app.approved(&unit(), full("P-A")).await;
    let adjusting = app
        .goals
        .clone()
        .request_adjustment(app.req(
            &unit(),
            pb::RequestAdjustmentRequest {
                request_id: app.rid(),
                goal_id: a.id,
                expected_revision: a.revision,
                budget_adjustment_ref: "晋市财预〔2026〕15号".into(),
                reason: "追加资金".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let mut draft = full("P-A");
    draft.indicators[0].target_value = "15".into();
    let adjusting = app.save(&unit(), draft, adjusting.revision).await.unwrap();
    assert_eq!(adjusting.latest_version, 2);
    // P-B approved and published; P-C a draft; P-D no goal; P-E of the second department.
    let b = app.approved(&unit(), full("P-B")).await;
    app.goals
        .clone()
        .publish_goal(app.req(
            &finance(),
            pb::PublishGoalRequest {
                request_id: app.rid(),
                goal_id: b.id,
                expected_revision: b.revision,
            },
        ))
        .await
        .unwrap();
    let c = app.save(&unit(), full("P-C"), 0).await.unwrap();
    app.approved(&unit2(), full("P-E")).await;
    // The first department's 部门整体 goal approved, the second's a draft.
    app.approved(&department(DEPT), overall(DEPT)).await;
    app.save(&department(DEPT2), overall(DEPT2), 0)
        .await
        .unwrap();

    // The approved goals, by goal id, each with the version in force.
    let items = stream(&app, &finance(), ask(&[], &[], false))
        .await
        .unwrap();
    let d1 = format!("D:{DEPT}");
    assert_eq!(keys(&items), ["P-A", "P-B", "P-E", d1.as_str()]);
    let item_a = &items[0];
    assert_eq!(
        (item_a.goal_id, item_a.approved_version, item_a.status),
        (a.id, 1, pb::GoalStatus::Adjusting as i32)
    );
    assert_eq!(item_a.status_text, "调整中");
    assert!(item_a.reason.is_none());
    let declaration = item_a.declaration.as_ref().unwrap();
    assert_eq!(declaration.pro_code, "P-A");
    let targets: Vec<&str> = declaration
        .indicators
        .iter()
        .map(|i| i.target_value.as_str())
        .collect();
    // Version 1's targets, not the adjustment's draft (15).
    assert_eq!(targets, ["12", "32000", "90"]);
    let first = &declaration.indicators[0];
    assert_eq!(
        (
            first.library_code.as_str(),
            first.name.as_str(),
            first.unit.as_str(),
            first.level1_name.as_str()
        ),
        ("OUT-001", "新建农村饮水工程数量", "处", "产出指标")
    );
    assert!(first.library_version >= 1);
    assert_eq!(
        first.direction,
        pbm_proto::indicator::v1::Direction::Ge as i32
    );
    assert_eq!(items[1].status, pb::GoalStatus::Published as i32);
    // The project as registered: unit, department, fund source, special field, amount.
    let Some(Subject::Project(e)) = &items[2].subject else {
        panic!("P-E is a project");
    };
    let spec = e.spec.as_ref().unwrap();
    assert_eq!(
        (
            spec.agency_code.as_str(),
            spec.department_code.as_str(),
            spec.fund_source,
            spec.special_field,
            spec.requested_amount.as_ref().unwrap().value.as_str()
        ),
        (
            UNIT2,
            DEPT2,
            pb::FundSource::GovernmentFund as i32,
            pb::SpecialField::GovernmentProcurement as i32,
            "800000.5"
        )
    );
    assert_eq!(e.mof_div_code, REGION);
    let overall_item = &items[3];
    assert_eq!(overall_item.approved_version, 1);
    let d = overall_item.declaration.as_ref().unwrap();
    assert_eq!(
        (
            d.department_code.as_str(),
            d.department_budget.as_ref().unwrap().value.as_str()
        ),
        (DEPT, "50000000")
    );

    // With the unapproved: the drafts (goal and status) and the projects without a goal.
    let items = stream(&app, &finance(), ask(&[], &[], true)).await.unwrap();
    let d2 = format!("D:{DEPT2}");
    assert_eq!(
        keys(&items),
        ["P-A", "P-B", "P-C", "P-E", d1.as_str(), d2.as_str(), "P-D"]
    );
    let draft_c = &items[2];
    assert_eq!(
        (
            draft_c.goal_id,
            draft_c.approved_version,
            draft_c.status,
            reason_of(draft_c)
        ),
        (c.id, 0, pb::GoalStatus::Draft as i32, "GOAL_NOT_APPROVED")
    );
    assert!(draft_c.declaration.is_none());
    assert_eq!(
        draft_c.reason.as_ref().unwrap().message,
        "绩效目标尚未批复（当前状态：草稿）"
    );
    assert_eq!(reason_of(&items[5]), "GOAL_NOT_APPROVED");
    let none = &items[6];
    assert_eq!(
        (none.goal_id, none.status, reason_of(none)),
        (0, pb::GoalStatus::Unspecified as i32, "NO_GOAL")
    );
    assert!(items[..2].iter().all(|i| i.reason.is_none()));

    // Filters: a department (its projects and its 部门整体), PRO_CODEs (projects only; an
    // unknown code is not streamed), both at once.
    let items = stream(&app, &finance(), ask(&[DEPT2], &[], true))
        .await
        .unwrap();
    assert_eq!(keys(&items), ["P-E", d2.as_str()]);
    let items = stream(
        &app,
        &finance(),
        ask(&[], &["P-D", "P-A", "P-X", "P-A"], true),
    )
    .await
    .unwrap();
    assert_eq!(keys(&items), ["P-A", "P-D"]);
    let items = stream(&app, &finance(), ask(&[DEPT], &["P-B", "P-E"], false))
        .await
        .unwrap();
    assert_eq!(keys(&items), ["P-B"]);
    // Another year has nothing.
    let mut next_year = ask(&[], &[], true);
    next_year.fiscal_year = FY + 1;
    assert!(
        stream(&app, &finance(), next_year)
            .await
            .unwrap()
            .is_empty()
    );

    // Bad requests: the year is required, codes non-empty, at most 1,000 departments and
    // 64 characters each.
    let mut no_year = ask(&[], &[], false);
    no_year.fiscal_year = 0;
    let refused = stream(&app, &finance(), no_year).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "FISCAL_YEAR_INVALID")
    );
    let refused = stream(&app, &finance(), ask(&[" "], &[], false))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "DEPARTMENT_CODES_INVALID");
    let many: Vec<String> = (0..1001).map(|i| format!("D{i}")).collect();
    let mut too_many = ask(&[], &[], false);
    too_many.department_codes = many;
    let refused = stream(&app, &finance(), too_many).await.unwrap_err();
    assert_eq!(
        violation_reasons(&refused),
        [(
            "department_codes".to_owned(),
            "DEPARTMENT_CODES_INVALID".to_owned()
        )]
    );
    let long = "P".repeat(65);
    let refused = stream(&app, &finance(), ask(&[], &["P-A", &long], false))
        .await
        .unwrap_err();
    assert_eq!(
        violation_reasons(&refused),
        [("pro_codes[1]".to_owned(), "TEXT_TOO_LONG".to_owned())]
    );
}

async fn only_finance_auditors_and_the_province_stream(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-A", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    app.approved(&unit(), full("P-A")).await;
    // The readers of the region, also from above it, read the whole region.
    for caller in [
        who(Role::Auditor, REGION, None, None),
        who(Role::Auditor, "140000", None, None),
        who(Role::Province, "140000", None, None),
        who(Role::FinanceAdmin, "140000", None, None),
    ] {
        let items = stream(&app, &caller, ask(&[], &[], true)).await.unwrap();
        assert_eq!(keys(&items), ["P-A"], "{caller:?}");
    }
    // Everyone else is refused before the request is examined (the empty one too).
    for caller in [
        unit(),
        department(DEPT),
        expert(7),
        agency("91350100M000100Y43"),
        who(Role::Public, REGION, None, None),
        who(Role::FinanceAdmin, "140100", None, None),
        who(Role::Auditor, "140100", None, None),
    ] {
        for r in [
            ask(&[DEPT], &[], true),
            pb::StreamApprovedGoalsRequest::default(),
        ] {
            let refused = stream(&app, &caller, r).await.unwrap_err();
            assert_eq!(refused.code(), Code::PermissionDenied, "{caller:?}");
        }
    }
}

/// The state of an approved goal (submitted, reviewed 优, approved).
fn approved_state() -> GoalState {
    let (unit, finance) = (
        Actor::new(GoalRole::BudgetUnit, "u"),
        Actor::new(GoalRole::Finance, "f"),
    );
    let review = Action::Review {
        outcome: ReviewOutcome::Excellent,
        comments: String::new(),
    };
    let mut s = GoalState {
        revision: 1,
        ..GoalState::new()
    };
    for (action, actor) in [
        (Action::Submit, &unit),
        (review, &finance),
        (Action::Approve, &finance),
    ] {
        s = pbm_goal::domain::workflow::apply(&s, &action, actor)
            .unwrap()
            .to;
    }
    s
}

/// `approved` projects with an approved goal (`S-00000` …, alternately of the two departments,
/// each with the declaration of `template`, a goal of project `P-SEED`), then `without` projects
/// without a goal (`T-00000` …), written through the store.
async fn seed(app: &App, template: i64, approved: usize, without: usize) {
    let db = app.goal_db();
    db.write(move |conn| -> Result<(), StoreError> {
        let (text, _, _) = store::version(conn, template, 1)?.unwrap();
        let s = approved_state();
        let now = pbm_db::now();
        let project = |code: String, i: usize| ProjectRow {
            pro_code: code,
            fiscal_year: FY,
            name: format!("项目{i}"),
            agency_code: if i.is_multiple_of(2) { UNIT } else { UNIT2 }.into(),
            department_code: if i.is_multiple_of(2) { DEPT } else { DEPT2 }.into(),
            fund_source: "general_public".into(),
            special_field: "none".into(),
            continuity: "continuing".into(),
            nature: "project".into(),
            requested_amount: pbm_db::Money(rust_decimal::Decimal::new(100_000, 0)),
            mid_term_from: None,
            mid_term_to: None,
            version: 1,
            changed_by: "seed".into(),
            changed_at: now,
        };
        for i in 0..approved {
            let p = project(format!("S-{i:05}"), i);
            store::insert_project(conn, &p)?;
            let id = store::insert_goal(
                conn,
                &GoalRow {
                    id: 0,
                    fiscal_year: FY,
                    target_kind: "project".into(),
                    target_code: p.pro_code.clone(),
                    agency_code: p.agency_code.clone(),
                    department_code: p.department_code.clone(),
                    status: s.status.kind().as_db().into(),
                    approved_version: Some(1),
                    published_version: None,
                    state: serde_json::to_string(&s).unwrap(),
                    revision: 4,
                    changed_by: "seed".into(),
                    changed_at: now,
                    working_version: 1,
                },
            )?;
            let declaration = text.replace("\"P-SEED\"", &format!("\"{}\"", p.pro_code));
            store::insert_version(conn, id, 1, &declaration, "seed", now)?;
        }
        for i in 0..without {
            store::insert_project(conn, &project(format!("T-{i:05}"), i))?;
        }
        Ok(())
    })
    .await
    .unwrap();
}

async fn many_goals_stream_across_chunks(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-SEED", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let template = app.save(&unit(), full("P-SEED"), 0).await.unwrap();
    // More than two chunks of goals and more than one of projects without a goal.
    seed(&app, template.id, 1100, 600).await;
    let items = stream(&app, &finance(), ask(&[], &[], false))
        .await
        .unwrap();
    let expected: Vec<String> = (0..1100).map(|i| format!("S-{i:05}")).collect();
    assert_eq!(keys(&items), expected);
    assert!(items.iter().all(|i| {
        let d = i.declaration.as_ref().unwrap();
        d.pro_code == key(i) && d.indicators.len() == 3
    }));
    let mut ids: Vec<i64> = items.iter().map(|i| i.goal_id).collect();
    assert!(ids.is_sorted());
    ids.dedup();
    assert_eq!(ids.len(), 1100);
    // With the unapproved: the seed's draft, then every project without a goal.
    let items = stream(&app, &finance(), ask(&[], &[], true)).await.unwrap();
    assert_eq!(items.len(), 1 + 1100 + 600);
    assert_eq!(key(&items[0]), "P-SEED");
    assert!(items[1101..].iter().all(|i| reason_of(i) == "NO_GOAL"));
    assert_eq!(key(&items[1700]), "T-00599");
    // Long lists of codes (past what goes into the statement) filter as short ones do.
    let asked: Vec<String> = (0..1100)
        .step_by(3)
        .map(|i| format!("S-{i:05}"))
        .chain((0..600).step_by(2).map(|i| format!("T-{i:05}")))
        .collect();
    let r = pb::StreamApprovedGoalsRequest {
        pro_codes: asked.clone(),
        department_codes: vec![DEPT.into()],
        ..ask(&[], &[], true)
    };
    let items = stream(&app, &finance(), r).await.unwrap();
    // Of the asked ones, those of the first department (even numbers).
    let mut expected: Vec<String> = asked
        .into_iter()
        .filter(|c| c[2..].parse::<usize>().unwrap().is_multiple_of(2))
        .collect();
    expected.sort_by_key(|c| c.starts_with('T'));
    assert_eq!(keys(&items), expected);
}

pbm_testkit::backend_tests! {
    snapshot_versions => approved_goals_stream_with_the_version_in_force;
    snapshot_roles => only_finance_auditors_and_the_province_stream;
    snapshot_chunks => many_goals_stream_across_chunks;
}
