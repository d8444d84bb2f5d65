//! DeclareGoals: a stream of projects and declarations, every item answered on its own.

use pbm_auth::Role;
use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;

fn project_spec(code: &str) -> pb::ProjectSpec {
    pb::ProjectSpec {
        pro_code: code.into(),
        name: format!("{code} 乡村道路养护"),
        agency_code: UNIT.into(),
        department_code: DEPT.into(),
        fiscal_year: FY,
        fund_source: pb::FundSource::GeneralPublic as i32,
        special_field: pb::SpecialField::None as i32,
        continuity: pb::Continuity::Continuing as i32,
        nature: pb::Nature::Project as i32,
        requested_amount: dec("250000"),
        ..Default::default()
    }
}

impl App {
    async fn declare_many(
        &self,
        who: &Who,
        items: Vec<pb::DeclareGoalsItem>,
    ) -> Result<Vec<pb::DeclareGoalsResult>, Status> {
        let mut c = self.goals.clone();
        let stream = c
            .declare_goals(self.req(who, tokio_stream::iter(items)))
            .await?
            .into_inner();
        use tokio_stream::StreamExt;
        stream.collect::<Result<Vec<_>, _>>().await
    }
}

async fn bulk_declaration_reports_every_item(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    let mut items: Vec<pb::DeclareGoalsItem> = (0..200)
        .map(|i| {
            let code = format!("PB-{i:04}");
            pb::DeclareGoalsItem {
                request_id: format!("bulk-{i}"),
                project: Some(project_spec(&code)),
                declaration: Some(full(&code)),
            }
        })
        .collect();
    // One item picks an unknown indicator; one declares for an unregistered project.
    items[7].declaration = Some(declaration("PB-0007", vec![lib("NOPE-9", "1")]));
    items[9].project = None;
    items[9].declaration = Some(full("PB-UNKNOWN"));
    let results = app.declare_many(&unit(), items.clone()).await.unwrap();
    assert_eq!(results.len(), 200);
    assert!(
        results
            .iter()
            .enumerate()
            .all(|(i, r)| r.index as usize == i)
    );
    assert_eq!(results.iter().filter(|r| r.ok).count(), 198);
    assert_eq!(
        (
            results[7].code.as_str(),
            results[7].violations[0].field.as_str()
        ),
        ("InvalidArgument", "declaration.indicators[0]")
    );
    assert_eq!(
        (results[9].code.as_str(), results[9].reason.as_str()),
        ("NotFound", "PROJECT_NOT_FOUND")
    );
    // Re-sending the stream creates nothing twice: the same goals come back.
    let again = app.declare_many(&unit(), items).await.unwrap();
    assert_eq!(
        again[0].goal.as_ref().unwrap().id,
        results[0].goal.as_ref().unwrap().id
    );
    assert_eq!(again.iter().filter(|r| r.ok).count(), 198);
    let listed = app
        .goals
        .clone()
        .list_goals(app.req(
            &finance(),
            pb::ListGoalsRequest {
                page: Some(pbm_proto::common::v1::PageRequest {
                    page_size: 1,
                    page_token: String::new(),
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.page.unwrap().total_size, 198);
    // A changed project in the stream is refused for that item only.
    let mut changed = project_spec("PB-0001");
    changed.requested_amount = dec("999999");
    let r = app
        .declare_many(
            &unit(),
            vec![pb::DeclareGoalsItem {
                request_id: "bulk-x".into(),
                project: Some(changed),
                declaration: Some(full("PB-0001")),
            }],
        )
        .await
        .unwrap();
    assert_eq!(r[0].reason, "PROJECT_DIFFERS");
    // Only units and departments declare.
    for caller in [finance(), who(Role::Public, REGION, None, None)] {
        let err = app.declare_many(&caller, Vec::new()).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
}

pbm_testkit::backend_tests! {
    bulk => bulk_declaration_reports_every_item;
}
