//! Declarations checked against the library: 固化 indicators that must be kept, defects
//! answered with their own reasons, library values that may not be edited.

use pbm_proto::goal::v1 as pb;
use pbm_proto::indicator::v1 as ind;
use pbm_testkit::TestDatabase;
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

impl App {
    /// A 固化 library indicator with tags; `owner` makes it a department's 个性 indicator.
    async fn fixed_indicator(&self, code: &str, field_tags: &[&str], owner: &str) {
        let r = ind::CreateIndicatorRequest {
            request_id: self.rid(),
            code: code.into(),
            spec: Some(ind::IndicatorSpec {
                fiscal_year: FY,
                frame_node_code: "102".into(),
                name: format!("{code} 固化质量指标"),
                kind: if owner.is_empty() {
                    ind::IndicatorKind::Common
                } else {
                    ind::IndicatorKind::Specific
                } as i32,
                field_tags: field_tags.iter().map(|t| (*t).to_owned()).collect(),
                direction: ind::Direction::Ge as i32,
                unit: "%".into(),
                explanation: "验收合格率".into(),
                fixed: true,
                owner_department: owner.into(),
                ..Default::default()
            }),
        };
        self.library
            .clone()
            .create_indicator(self.req(&finance(), r))
            .await
            .unwrap();
    }

    async fn project_in(&self, code: &str, field: pb::SpecialField) {
        self.project_with(code, "300000", pb::Continuity::Continuing, field)
            .await
            .unwrap();
    }
}

/// 固化 indicators the library marks for a field or a department must be kept in every
/// declaration they apply to (docs/DOMAIN.md "Quality checks", docs/DOMAIN.md "Fixed indicators
/// (固化)"; domain::fixed for the tag rules).
async fn fixed_indicators_of_the_library_must_be_kept(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    // For every 政府采购 project; and a 个性 one of another department.
    app.fixed_indicator("PROC-001", &["政府采购"], "").await;
    app.fixed_indicator("OTHER-001", &[], "140500200").await;
    app.project_in("P-PROC", pb::SpecialField::GovernmentProcurement)
        .await;
    app.project_in("P-PLAIN", pb::SpecialField::None).await;

    // The procurement project's declaration without PROC-001 is refused at 二上, naming it.
    let goal = app.save(&unit(), full("P-PROC"), 0).await.unwrap();
    let refused = app.submit(&goal).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let found = violations(&refused);
    assert!(
        found.iter().any(|(f, m)| f == "declaration.indicators"
            && m.contains("FIXED_INDICATOR_MISSING")
            && m.contains("PROC-001")),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, m)| m.contains("OTHER-001")),
        "another department's 固化 indicator does not apply: {found:?}"
    );
    let still = app
        .goals
        .clone()
        .get_goal(app.req(
            &unit(),
            pb::GetGoalRequest {
                goal_id: goal.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(
        still.revision, goal.revision,
        "a refused submission changes nothing"
    );

    // Kept, the declaration passes.
    let mut with = full("P-PROC");
    with.indicators.push(lib("PROC-001", "98"));
    let goal = app.save(&unit(), with, goal.revision).await.unwrap();
    let submitted = app.submit(&goal).await.unwrap();
    assert_eq!(submitted.status, pb::GoalStatus::Submitted as i32);

    // An ordinary project owes only the untagged common 固化 indicator (SAT-001).
    let plain = app.save(&unit(), full("P-PLAIN"), 0).await.unwrap();
    app.submit(&plain).await.unwrap();
    app.project_in("P-PLAIN-2", pb::SpecialField::None).await;
    let mut without = full("P-PLAIN-2");
    without.indicators.retain(|i| i.library_code != "SAT-001");
    let g = app.save(&unit(), without, 0).await.unwrap();
    let refused = app.submit(&g).await.unwrap_err();
    assert!(
        violations(&refused)
            .iter()
            .any(|(_, m)| m.contains("FIXED_INDICATOR_MISSING") && m.contains("SAT-001")),
        "{:?}",
        violations(&refused)
    );
}

/// A refusal names the goal service's domain; a declaration's only defect answers its own
/// reason; a 定性 indicator carries no unit; a library pick's name and unit are the library's
/// (an edit is refused, never silently replaced).
async fn declaration_defects_name_their_reason(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    for code in ["P-2026-020", "P-2026-021"] {
        app.project(code, "800000", pb::Continuity::Continuing)
            .await
            .unwrap();
    }

    // A qualitative indicator with a unit: its one defect, with its own reason.
    let mut d = full("P-2026-020");
    d.indicators.push(pb::GoalIndicator {
        level2: pb::Level2::Sustainability as i32,
        name: "长效管护机制".into(),
        direction: ind::Direction::Qualitative as i32,
        target_value: "建立".into(),
        unit: "项".into(),
        ..Default::default()
    });
    let draft = app.save(&unit(), d.clone(), 0).await.unwrap();
    let refused = app.submit(&draft).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "UNIT_NOT_ALLOWED")
    );
    let info = refused.get_details_error_info().unwrap();
    assert_eq!(info.domain, "pbm.goal");
    let bad = refused.get_details_bad_request().unwrap().field_violations;
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(
        (bad[0].field.as_str(), bad[0].reason.as_str()),
        ("declaration.indicators[3].unit", "UNIT_NOT_ALLOWED")
    );
    assert!(bad[0].description.contains("定性指标"), "{bad:?}");
    // Without the unit it passes.
    d.indicators[3].unit.clear();
    let draft = app.save(&unit(), d, draft.revision).await.unwrap();
    app.submit(&draft).await.unwrap();

    // A library pick's unit edited: refused at once, not overwritten.
    let mut d = full("P-2026-021");
    d.indicators[0].unit = "个".into();
    let refused = app.save(&unit(), d.clone(), 0).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "LIBRARY_VALUE_CHANGED")
    );
    assert_eq!(refused.get_details_error_info().unwrap().domain, "pbm.goal");
    assert_eq!(violations(&refused)[0].0, "declaration.indicators[0].unit");
    // The library's own unit is no edit.
    d.indicators[0].unit = "处".into();
    // The 固化 indicator's name edited: refused as a change of a 固化 indicator.
    d.indicators[2].name = "群众满意度".into();
    let refused = app.save(&unit(), d.clone(), 0).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::InvalidArgument, "FIXED_INDICATOR_CHANGED")
    );
    assert_eq!(violations(&refused)[0].0, "declaration.indicators[2].name");
    // Both at once: the declaration's defects together.
    d.indicators[0].unit = "个".into();
    let refused = app.save(&unit(), d.clone(), 0).await.unwrap_err();
    assert_eq!(reason(&refused), "GOAL_QUALITY_FAILED");
    assert_eq!(violations(&refused).len(), 2);
    // The library's own name and unit, sent back as shown, are accepted.
    d.indicators[0].unit = "处".into();
    d.indicators[2].name = "受益群众满意度".into();
    let goal = app.save(&unit(), d, 0).await.unwrap();
    let shown = goal.declaration.unwrap();
    assert_eq!(shown.indicators[0].unit, "处");
    assert_eq!(shown.indicators[2].name, "受益群众满意度");
}

pbm_testkit::backend_tests! {
    fixed => fixed_indicators_of_the_library_must_be_kept;
    defects => declaration_defects_name_their_reason;
}
