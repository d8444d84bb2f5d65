//! DeclareProject: who may register a project for which unit, and who learns that a code is
//! taken. A department registers only for the units recorded under it, a unit only for itself
//! under the department its token names; a caller who may not see the project that holds a
//! code is refused exactly as any registration out of its scope is, never told it exists.

use pbm_auth::Role;
use pbm_proto::goal::v1 as pb;
use pbm_testkit::{TestDatabase, refused};
use tonic::{Code, Status};

use crate::common::*;

/// Another department of the region, and a unit of it.
const OTHER_DEPT: &str = "140500900";
const OTHER_UNIT: &str = "140500901";

fn spec(code: &str, unit: &str, dept: &str) -> pb::ProjectSpec {
    pb::ProjectSpec {
        pro_code: code.into(),
        name: format!("{code} 农村公路养护"),
        agency_code: unit.into(),
        department_code: dept.into(),
        fiscal_year: FY,
        fund_source: pb::FundSource::GeneralPublic as i32,
        special_field: pb::SpecialField::None as i32,
        continuity: pb::Continuity::New as i32,
        nature: pb::Nature::Project as i32,
        requested_amount: dec("120000"),
        ..Default::default()
    }
}

impl App {
    async fn register(&self, who: &Who, spec: pb::ProjectSpec) -> Result<pb::Project, Status> {
        let r = pb::DeclareProjectRequest {
            request_id: self.rid(),
            spec: Some(spec),
            expected_version: 0,
        };
        Ok(self
            .goals
            .clone()
            .declare_project(self.req(who, r))
            .await?
            .into_inner()
            .project
            .unwrap())
    }
}

fn dept(code: &str) -> Who {
    who(Role::Department, REGION, None, Some(code))
}

/// The refusal of a registration out of the caller's scope: (code, reason, message).
fn denial(s: &Status) -> (Code, String, String) {
    (s.code(), reason(s), s.message().to_owned())
}

async fn a_department_registers_only_for_its_own_units(db: TestDatabase) {
    let app = spawn(db).await;
    // The unit registers its first project: from then on it is known under DEPT.
    app.register(&unit(), spec("P-1", UNIT, DEPT))
        .await
        .unwrap();
    app.register(
        &who(Role::BudgetUnit, REGION, Some(OTHER_UNIT), Some(OTHER_DEPT)),
        spec("P-9", OTHER_UNIT, OTHER_DEPT),
    )
    .await
    .unwrap();
    // Its own department registers more for it.
    app.register(&dept(DEPT), spec("P-2", UNIT, DEPT))
        .await
        .unwrap();
    // Another department may not register for it by naming itself the unit's department …
    let other = refused(
        app.register(&dept(OTHER_DEPT), spec("P-3", UNIT, OTHER_DEPT))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    // … nor by naming the unit's department; nor for a unit it has never registered.
    let named = refused(
        app.register(&dept(OTHER_DEPT), spec("P-3", UNIT, DEPT))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    let unknown = refused(
        app.register(&dept(OTHER_DEPT), spec("P-3", "140500777", OTHER_DEPT))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    assert_eq!(denial(&other), denial(&named));
    assert_eq!(denial(&other), denial(&unknown));
    // DEPT may not reach into OTHER_DEPT's unit either.
    refused(
        app.register(&dept(DEPT), spec("P-4", OTHER_UNIT, DEPT))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    // A unit registers for itself only, under the department its token names.
    refused(
        app.register(&unit(), spec("P-5", UNIT, OTHER_DEPT)).await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    refused(
        app.register(&unit(), spec("P-5", OTHER_UNIT, DEPT)).await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    // Finance registers for any unit; the code taken by no one is still free.
    app.register(&finance(), spec("P-3", "140500777", OTHER_DEPT))
        .await
        .unwrap();
    // Nothing of the refused registrations was recorded: the unit still answers to DEPT only.
    let got = app
        .goals
        .clone()
        .get_project(app.req(
            &dept(OTHER_DEPT),
            pb::GetProjectRequest {
                pro_code: "P-1".into(),
                fiscal_year: FY,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(got.code(), Code::NotFound);
}

async fn a_taken_code_is_disclosed_only_to_who_may_see_its_project(db: TestDatabase) {
    let app = spawn(db).await;
    app.register(&unit(), spec("P-1", UNIT, DEPT))
        .await
        .unwrap();
    let neighbour = who(Role::BudgetUnit, REGION, Some("140500999"), Some(DEPT));
    let outsider = who(Role::BudgetUnit, REGION, Some(OTHER_UNIT), Some(OTHER_DEPT));
    app.register(&outsider, spec("P-9", OTHER_UNIT, OTHER_DEPT))
        .await
        .unwrap();
    // What any registration out of scope gets (here: for another unit, under a free code).
    let out_of_scope = refused(
        app.register(&outsider, spec("P-FREE", UNIT, DEPT)).await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    // Other units registering the taken code for themselves get exactly that: not ALREADY_EXISTS.
    for (caller, unit_code, dept_code) in [
        (&neighbour, "140500999", DEPT),
        (&outsider, OTHER_UNIT, OTHER_DEPT),
    ] {
        let s = refused(
            app.register(caller, spec("P-1", unit_code, dept_code))
                .await,
            Code::PermissionDenied,
            "NOT_YOUR_UNIT",
        );
        assert_eq!(denial(&s), denial(&out_of_scope));
        assert!(!s.message().contains("已登记"), "{s:?}");
    }
    // Another department, for its own unit: the same.
    let s = refused(
        app.register(&dept(OTHER_DEPT), spec("P-1", OTHER_UNIT, OTHER_DEPT))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_UNIT",
    );
    assert_eq!(denial(&s), denial(&out_of_scope));
    // Those who may see the project are told it is registered.
    for caller in [unit(), dept(DEPT), finance()] {
        refused(
            app.register(&caller, spec("P-1", UNIT, DEPT)).await,
            Code::AlreadyExists,
            "PROJECT_EXISTS",
        );
    }
    // The stream's registration answers the same: no PROJECT_DIFFERS for a project not seen.
    let mut c = app.goals.clone();
    let items = vec![pb::DeclareGoalsItem {
        request_id: app.rid(),
        project: Some(spec("P-1", OTHER_UNIT, OTHER_DEPT)),
        declaration: Some(full("P-1")),
    }];
    let results: Vec<pb::DeclareGoalsResult> = {
        use tokio_stream::StreamExt;
        c.declare_goals(app.req(&outsider, tokio_stream::iter(items)))
            .await
            .unwrap()
            .into_inner()
            .collect::<Result<_, _>>()
            .await
            .unwrap()
    };
    assert_eq!(
        (
            results[0].code.as_str(),
            results[0].reason.as_str(),
            format!("{} (NOT_YOUR_UNIT)", results[0].message)
        ),
        (
            "PermissionDenied",
            "NOT_YOUR_UNIT",
            out_of_scope.message().to_owned()
        )
    );
}

pbm_testkit::backend_tests! {
    department_registers_only_for_its_own_units => a_department_registers_only_for_its_own_units;
    taken_code_disclosed_only_to_who_may_see_it => a_taken_code_is_disclosed_only_to_who_may_see_its_project;
}
