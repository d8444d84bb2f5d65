//! 专家评审: reviewers drawn from the agency service's expert pool read and review the goal
//! they are assigned; the pool's refusals and absence come back as they are.

use pbm_proto::goal::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::{Code, Status};

use crate::common::*;

/// A valid 身份证号 (GB 11643 check digit).
fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("140502{birth}{seq:03}");
    let check = pbm_agency::domain::ids::IdNumber::check_char(&first17).expect("17 digits");
    format!("{first17}{check}")
}

impl App {
    async fn register_expert(&self, seq: u32) -> i64 {
        use pbm_proto::agency::v1 as ag;
        let r = ag::RegisterExpertRequest {
            request_id: self.rid(),
            spec: Some(ag::ExpertSpec {
                name: format!("专家{seq}"),
                id_number: id_number("19750505", seq),
                phone: "13900001111".into(),
                title: ag::TitleLevel::Senior as i32,
                years_in_field: 15,
                fields: vec!["LAW".into()],
                affiliation: "山西某大学".into(),
                ..Default::default()
            }),
        };
        self.registry
            .clone()
            .register_expert(self.req(&finance(), r))
            .await
            .unwrap()
            .into_inner()
            .expert
            .unwrap()
            .id
    }

    async fn assign(
        &self,
        goal: &pb::Goal,
        request_id: &str,
        experts: i32,
    ) -> Result<pb::AssignReviewersResponse, Status> {
        let r = pb::AssignReviewersRequest {
            request_id: request_id.into(),
            goal_id: goal.id,
            expected_revision: goal.revision,
            experts,
            field: "LAW".into(),
            ..Default::default()
        };
        Ok(self
            .goals
            .clone()
            .assign_reviewers(self.req(&finance(), r))
            .await?
            .into_inner())
    }
}

async fn reviews_are_assigned_from_the_pool(db: TestDatabase) {
    let app = spawn(db).await;
    app.library().await;
    app.project("P-R", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let g = app.save(&unit(), full("P-R"), 0).await.unwrap();
    let g = app.submit(&g).await.unwrap();
    let mut experts = Vec::new();
    for seq in 0..3 {
        experts.push(app.register_expert(100 + seq).await);
    }
    // Too many asked: the pool's refusal comes back with its reason; nothing changes.
    let too_many = app.assign(&g, "assign-0", 5).await.unwrap_err();
    assert_eq!(
        (too_many.code(), reason(&too_many).as_str()),
        (Code::FailedPrecondition, "TOO_FEW_ELIGIBLE")
    );
    let assigned = app.assign(&g, "assign-1", 2).await.unwrap();
    assert_eq!(assigned.reviewers.len(), 2);
    assert!(assigned.draw_id > 0);
    // A retry replays the same draw and assignment.
    assert_eq!(app.assign(&g, "assign-1", 2).await.unwrap(), assigned);
    let goal = assigned.goal.unwrap();
    assert_eq!(goal.status, pb::GoalStatus::Submitted as i32);
    let drawn: i64 = assigned.reviewers[0].parse().unwrap();
    let other = *experts
        .iter()
        .find(|e| !assigned.reviewers.contains(&e.to_string()))
        .unwrap();
    // The drawn expert reads and reviews the goal; another expert does not see it.
    let get = |caller: Who| {
        let mut c = app.goals.clone();
        let r = app.req(
            &caller,
            pb::GetGoalRequest {
                goal_id: goal.id,
                version: 0,
            },
        );
        async move { c.get_goal(r).await }
    };
    assert!(get(expert(drawn)).await.is_ok());
    assert_eq!(get(expert(other)).await.unwrap_err().code(), Code::NotFound);
    let review =
        |outcome: pb::ReviewOutcome, comments: &str, revision: i64| pb::ReviewGoalRequest {
            request_id: app.rid(),
            goal_id: goal.id,
            expected_revision: revision,
            outcome: outcome as i32,
            comments: comments.into(),
        };
    let poor = app
        .goals
        .clone()
        .review_goal(app.req(
            &expert(drawn),
            review(pb::ReviewOutcome::Poor, "不同意", goal.revision),
        ))
        .await
        .unwrap_err();
    assert_eq!(poor.code(), Code::PermissionDenied, "差 is finance's");
    let reviewed = app
        .goals
        .clone()
        .review_goal(app.req(
            &expert(drawn),
            review(pb::ReviewOutcome::Excellent, "", goal.revision),
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(reviewed.status_text, "已审核（优）");

    // With the agency service unreachable, the answer says so and nothing changes.
    let dead = dead_url().await;
    let offline = spawn_full(TestDatabase::sqlite(), None, Some(&dead)).await;
    offline.library().await;
    offline
        .project("P-R", "300000", pb::Continuity::Continuing)
        .await
        .unwrap();
    let g = offline.save(&unit(), full("P-R"), 0).await.unwrap();
    let g = offline.submit(&g).await.unwrap();
    let err = offline.assign(&g, "assign-x", 2).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unavailable, "AGENCY_SERVICE_UNAVAILABLE")
    );
}

pbm_testkit::backend_tests! {
    reviewers => reviews_are_assigned_from_the_pool;
}
