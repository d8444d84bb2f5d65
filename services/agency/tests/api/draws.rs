//! Draws (随机抽取): experts and agencies drawn fairly from the eligible only, weighted by
//! rating when asked, declines replaced in new rounds, every draw replayable from its record in
//! the order it was drawn.

use pbm_auth::Role;
use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

async fn draws_are_fair_explicit_and_replayable(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let mut spec = expert_spec(&id_number("19700101", &format!("{:03}", 100 + i)));
        if i == 0 {
            spec.relations = vec![pb::Relation {
                party_code: "U0101".into(),
                kind: pb::RelationKind::WorkedFor as i32,
                from: "2024-01-01".into(),
                to: String::new(),
                note: String::new(),
            }];
        }
        ids.push(app.register_expert(spec).await.unwrap().id);
    }
    let r = pb::ChangeExpertStatusRequest {
        request_id: app.rid(),
        expert_id: ids[1],
        expected_version: 1,
        status: pb::ExpertStatus::UnderReview as i32,
        reason: "考评".into(),
    };
    app.registry
        .clone()
        .change_expert_status(app.fin(r))
        .await
        .unwrap();
    let eligible: Vec<i64> = ids[2..].to_vec();

    let d = app.draw("T1", 3).await.unwrap();
    assert_eq!(
        (d.eligible, d.candidates_fingerprint.len(), d.drawn.len()),
        (4, 64, 3)
    );
    assert!(
        d.drawn.iter().all(|m| eligible.contains(&m.expert_id)),
        "never an ineligible expert"
    );
    assert_eq!(d.rules, "2026年度全国默认规则");

    let too_few = refused(
        app.draw("T2", 5).await,
        Code::FailedPrecondition,
        "TOO_FEW_ELIGIBLE",
    );
    assert!(
        too_few.message().contains("只有 4 人"),
        "{}",
        too_few.message()
    );
    // How many of the field were left out and why, in Chinese, counted by reason.
    assert!(
        too_few.message().contains("专业领域「法律（LAW）」")
            && too_few.message().contains("其余 2 人被排除")
            && too_few.message().contains("不在库 1人")
            && too_few.message().contains("与被评价对象有关联须回避 1人"),
        "{}",
        too_few.message()
    );
    assert!(
        !too_few.message().contains("RECUSAL") && !too_few.message().contains("NOT_ACTIVE"),
        "no raw codes in the message: {}",
        too_few.message()
    );

    // A decline is recorded as it is answered; its consumer draws the replacement in round 1:
    // the one eligible expert left.
    let declined = d.drawn[0].expert_id;
    let answered = app.respond(&d, declined, false).await.unwrap();
    assert!(answered.drawn.iter().all(|m| m.round == 0), "{answered:?}");
    app.settled().await;
    let d2 = app.get_draw(d.id).await;
    assert_eq!(d2.version, answered.version);
    let round1: Vec<i64> = d2
        .drawn
        .iter()
        .filter(|m| m.round == 1)
        .map(|m| m.expert_id)
        .collect();
    let left: Vec<i64> = eligible
        .iter()
        .copied()
        .filter(|e| !d.drawn.iter().any(|m| m.expert_id == *e))
        .collect();
    assert_eq!(round1, left);
    let pending: Vec<i64> = d2
        .drawn
        .iter()
        .filter(|m| m.answer == pb::DrawAnswer::Pending as i32 && m.round == 0)
        .map(|m| m.expert_id)
        .collect();
    let d3 = app.respond(&d2, pending[0], true).await.unwrap();
    assert_eq!(
        app.respond(&d2, pending[1], true).await.unwrap_err().code(),
        Code::Aborted,
        "stale version"
    );
    // The replacement declines too: nobody eligible is left. The decline stands, the draw says
    // why it has no replacement, and redelivering the event changes nothing.
    let d4 = app.decline(&d3, round1[0]).await.unwrap();
    assert_eq!(d4.rounds.len(), 2, "{d4:?}");
    assert_eq!(
        d4.drawn
            .iter()
            .find(|m| m.expert_id == round1[0])
            .unwrap()
            .answer,
        pb::DrawAnswer::Declined as i32
    );
    assert_eq!(d4.replacement_shortfalls.len(), 1, "{d4:?}");
    let short = &d4.replacement_shortfalls[0];
    assert_eq!(
        (short.round, short.declined.as_str()),
        (2, round1[0].to_string().as_str())
    );
    assert!(short.message.contains("无法补抽"), "{}", short.message);
    assert!(
        app.settle()
            .await
            .iter()
            .all(|a| *a == pbm_events::Applied::Duplicate)
    );
    assert_eq!(app.get_draw(d.id).await, d4);

    // Replay from the record, by an auditor.
    let replay = app
        .draws
        .clone()
        .replay_draw(app.req(&auditor(), pb::ReplayDrawRequest { draw_id: d.id }))
        .await
        .unwrap()
        .into_inner();
    assert!(replay.matches);
    assert_eq!(replay.candidates_fingerprint, d.candidates_fingerprint);
    assert_eq!(replay.replayed.len(), 2);

    // The same task never draws the same expert twice.
    assert_eq!(
        reason(&app.draw("T1", 1).await.unwrap_err()),
        "TOO_FEW_ELIGIBLE"
    );

    // Experts see the draws they are in; an agency only agency draws it is in.
    let get = |who: Who| {
        let mut c = app.draws.clone();
        let r = app.req(&who, pb::GetDrawRequest { draw_id: d.id });
        async move { c.get_draw(r).await }
    };
    assert!(get(as_expert(declined)).await.is_ok());
    assert_eq!(
        get(as_expert(ids[0])).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        get(as_agency(CODE_A)).await.unwrap_err().code(),
        Code::NotFound
    );
}

async fn agency_draws_are_weighted_by_rating_and_replayable(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let codes = agency_pool(&app).await;
    let eligible = [codes[0].clone(), codes[1].clone()];

    let d = app
        .draw_agencies("EV-2026-01", 1, pb::EngagementKind::Evaluation, true)
        .await
        .unwrap();
    assert_eq!(d.subject, pb::DrawSubject::Agencies as i32);
    assert!(d.weighted_by_rating);
    assert_eq!((d.eligible, d.drawn_agencies.len()), (2, 1));
    assert!(d.drawn.is_empty());
    let picked = &d.drawn_agencies[0];
    assert!(
        eligible.contains(&picked.credit_code),
        "never an ineligible agency"
    );
    // The weight is the agency's rating, as ExplainRating tells it.
    let rating = app.explain_agency(&picked.credit_code).await;
    assert_eq!(picked.weight, rating.final_score);
    assert_eq!(
        d.rounds[0].picked_agencies,
        std::slice::from_ref(&picked.credit_code)
    );

    // Too few: the message counts the eligible and names why the others were left out.
    let too_few = refused(
        app.draw_agencies("EV-2026-02", 3, pb::EngagementKind::Evaluation, false)
            .await,
        Code::FailedPrecondition,
        "TOO_FEW_ELIGIBLE",
    );
    for why in [
        "只有 2 家",
        "与被评价对象有关联须回避 1家",
        "没有主评人 1家",
        "服务范围不符 1家",
    ] {
        assert!(
            too_few.message().contains(why),
            "{why}: {}",
            too_few.message()
        );
    }
    // Goal setting is never commissioned, so no agency is drawn for it.
    let not_commissionable = app
        .draw_agencies("GS-1", 1, pb::EngagementKind::GoalSetting, false)
        .await
        .unwrap_err();
    assert_eq!(reason(&not_commissionable), "KIND_NOT_COMMISSIONABLE");

    // The drawn agency declines: the other eligible agency is drawn in round 1.
    let mut answer = pb::RespondToDrawRequest {
        request_id: app.rid(),
        draw_id: d.id,
        expected_version: d.version,
        expert_id: 7,
        accept: false,
        reason: "人手不足".into(),
        agency_credit_code: String::new(),
    };
    let err = app
        .draws
        .clone()
        .respond_to_draw(app.fin(answer.clone()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "AGENCY_REQUIRED");
    answer.agency_credit_code = picked.credit_code.clone();
    let answered = app
        .draws
        .clone()
        .respond_to_draw(app.fin(answer))
        .await
        .unwrap()
        .into_inner()
        .draw
        .unwrap();
    assert_eq!(
        answered.rounds.len(),
        1,
        "the replacement is the consumer's"
    );
    app.settled().await;
    let d2 = app.get_draw(d.id).await;
    let other = eligible.iter().find(|c| **c != picked.credit_code).unwrap();
    assert_eq!(d2.rounds.len(), 2);
    assert_eq!(d2.rounds[1].picked_agencies, std::slice::from_ref(other));
    // The same task does not draw an agency twice.
    assert_eq!(
        reason(
            &app.draw_agencies("EV-2026-01", 1, pb::EngagementKind::Evaluation, true)
                .await
                .unwrap_err()
        ),
        "TOO_FEW_ELIGIBLE"
    );

    // Replay recomputes both rounds from the record.
    let replay = |who: Who| {
        let mut c = app.draws.clone();
        let r = app.req(&who, pb::ReplayDrawRequest { draw_id: d.id });
        async move { c.replay_draw(r).await }
    };
    let replayed = replay(auditor()).await.unwrap().into_inner();
    assert!(replayed.matches);
    assert_eq!(replayed.candidates_fingerprint, d.candidates_fingerprint);
    assert_eq!(
        replayed.replayed[1].picked_agencies,
        std::slice::from_ref(other)
    );
    // A drawn agency sees the draw; an agency not drawn, an expert and a department do not.
    assert!(replay(as_agency(other)).await.is_ok());
    assert_eq!(
        replay(as_agency(&codes[2])).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        replay(as_expert(1)).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        replay(of_role(Role::Department)).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    // Only finance draws.
    let r = pb::DrawAgenciesRequest {
        request_id: app.rid(),
        task_ref: "EV-X".into(),
        count: 1,
        evaluated_party: "D07".into(),
        kind: pb::EngagementKind::Evaluation as i32,
        weighted_by_rating: false,
    };
    let denied = app
        .draws
        .clone()
        .draw_agencies(app.req(&auditor(), r))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

/// Draws at the RPC level over random pools (a property test with a fixed seed list, so a
/// failure reproduces): every drawn expert satisfies an independent statement of the rules,
/// and every replay matches.
async fn draws_never_pick_the_ineligible(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let mut rng = 0x5eed_u64;
    let mut next = |n: u64| {
        // SplitMix64 step; independent of the service's own generator use.
        rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    };
    let mut eligible = std::collections::HashSet::new();
    for i in 0..24 {
        let born = if next(5) == 0 { "19500101" } else { "19800101" };
        let mut s = expert_spec(&id_number(born, &format!("{:03}", 400 + i)));
        let law = next(3) != 0;
        s.fields = vec![if law { "LAW".into() } else { "IT".into() }];
        let related = next(4) == 0;
        if related {
            s.relations = vec![pb::Relation {
                party_code: "U0101".into(),
                kind: pb::RelationKind::WorkedFor as i32,
                from: "2020-01-01".into(),
                to: "2025-12-31".into(),
                note: String::new(),
            }];
        }
        // Over the age cap the expert cannot even be registered; count only those stored.
        let Ok(expert) = app.register_expert(s).await else {
            continue;
        };
        let exited = next(6) == 0;
        if exited {
            let r = pb::ChangeExpertStatusRequest {
                request_id: app.rid(),
                expert_id: expert.id,
                expected_version: expert.version,
                status: pb::ExpertStatus::Exited as i32,
                reason: "本人申请退出".into(),
            };
            app.registry
                .clone()
                .change_expert_status(app.fin(r))
                .await
                .unwrap();
        }
        if law && !related && !exited {
            eligible.insert(expert.id);
        }
    }
    assert!(eligible.len() >= 4, "the seed gives a usable pool");
    for task in 0..6 {
        let count = i32::try_from(1 + next(3)).unwrap();
        let d = app.draw(&format!("P-{task}"), count).await.unwrap();
        assert_eq!(d.eligible as usize, eligible.len(), "task {task}");
        for m in &d.drawn {
            assert!(eligible.contains(&m.expert_id), "task {task}: {m:?}");
        }
        // Decline one, then replay both rounds.
        let d = app.decline(&d, d.drawn[0].expert_id).await.unwrap();
        for m in &d.drawn {
            assert!(eligible.contains(&m.expert_id), "task {task}: {m:?}");
        }
        let replay = app
            .draws
            .clone()
            .replay_draw(app.fin(pb::ReplayDrawRequest { draw_id: d.id }))
            .await
            .unwrap()
            .into_inner();
        assert!(replay.matches, "task {task}");
    }
}

/// Picks are recorded, read and replayed in the order they were drawn; a record whose order
/// differs from the replay does not match.
async fn draws_keep_their_order(db: TestDatabase) {
    use pbm_agency::domain::draw::{Candidate, Weighting, draw};
    let app = spawn(db, "2026-06-01").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let spec = expert_spec(&id_number("19700101", &format!("{:03}", 200 + i)));
        ids.push(app.register_expert(spec).await.unwrap().id);
    }
    // An expert of another field, not active: not part of the field's shortfall.
    let mut other = expert_spec(&id_number("19700101", "300"));
    other.fields = vec!["IT".into()];
    let other = app.register_expert(other).await.unwrap().id;
    app.registry
        .clone()
        .change_expert_status(app.fin(pb::ChangeExpertStatusRequest {
            request_id: app.rid(),
            expert_id: other,
            expected_version: 1,
            status: pb::ExpertStatus::Exited as i32,
            reason: "退出".into(),
        }))
        .await
        .unwrap();

    let d = app.draw("ORDER", 5).await.unwrap();
    // Every expert of the field is eligible: the candidates are their ids, sorted as text.
    let mut candidates: Vec<Candidate> = ids
        .iter()
        .map(|id| Candidate {
            id: id.to_string(),
            weight: pbm_types::Decimal::ONE,
        })
        .collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    let expected: Vec<i64> = draw(&candidates, 5, d.seed.parse().unwrap(), Weighting::Uniform)
        .unwrap()
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(d.rounds[0].picked, expected, "round 0 in draw order");
    let drawn: Vec<i64> = d.drawn.iter().map(|m| m.expert_id).collect();
    assert_eq!(drawn, expected, "drawn members in draw order");

    let get = |id: i64| {
        let mut c = app.draws.clone();
        let r = app.fin(pb::GetDrawRequest { draw_id: id });
        async move { c.get_draw(r).await.unwrap().into_inner().draw.unwrap() }
    };
    let replay = |id: i64| {
        let mut c = app.draws.clone();
        let r = app.fin(pb::ReplayDrawRequest { draw_id: id });
        async move { c.replay_draw(r).await.unwrap().into_inner() }
    };
    assert_eq!(get(d.id).await.rounds[0].picked, expected);
    let again = replay(d.id).await;
    assert!(again.matches);
    assert_eq!(again.replayed[0].picked, expected);
    assert_eq!(again.draw.unwrap().rounds[0].picked, expected);

    // A decline's replacement round keeps its order too.
    let d2 = app.decline(&d, expected[0]).await.unwrap();
    let again = replay(d2.id).await;
    assert!(again.matches);
    assert_eq!(again.replayed.len(), 2);
    assert_eq!(again.replayed[1].picked, d2.rounds[1].picked);

    // The stored order of round 0 tampered with: the record no longer matches its replay.
    let draw_id = d.id;
    app.state
        .db
        .write(move |c| {
            use pbm_db::diesel::RunQueryDsl;
            pbm_db::diesel::sql_query(format!(
                "UPDATE draw_members SET pick_order = CASE pick_order WHEN 0 THEN 1 WHEN 1 THEN 0 \
                 ELSE pick_order END WHERE draw_id = {draw_id} AND round = 0"
            ))
            .execute(c)
            .map_err(pbm_db::StoreError::from)
        })
        .await
        .unwrap();
    let tampered = get(d.id).await;
    let mut swapped = expected.clone();
    swapped.swap(0, 1);
    assert_eq!(tampered.rounds[0].picked, swapped);
    let again = replay(d.id).await;
    assert!(!again.matches, "another order is another draw");
    assert_eq!(again.replayed[0].picked, expected);

    // Too few: only the field's experts are counted, by reason.
    let too_few = app.draw("ORDER", 8).await.unwrap_err();
    assert_eq!(reason(&too_few), "TOO_FEW_ELIGIBLE");
    assert!(
        too_few.message().contains("只有 2 人")
            && too_few
                .message()
                .contains("其余 6 人被排除：已被抽取参加本任务 6人"),
        "{}",
        too_few.message()
    );
}

pbm_testkit::backend_tests! {
    draws => draws_are_fair_explicit_and_replayable;
    agency_draws => agency_draws_are_weighted_by_rating_and_replayable;
    draw_property => draws_never_pick_the_ineligible;
    draw_order => draws_keep_their_order;
}
