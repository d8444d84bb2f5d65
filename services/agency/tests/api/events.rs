//! The agency service's consumers of its own events (docs/AGENCY.md, docs/ARCHITECTURE.md
//! "Events"): a rated engagement's grade actions and a decline's replacement round, each applied
//! once however often its event is delivered, and the same effect when the handler runs again
//! on an event already applied (a replay); a decline with no replacement left is an outcome on
//! the draw, not a dead letter.

use pbm_agency::events::{Actions, Replacement, apply_draw_declined, apply_engagement_rated};
use pbm_events::{Applied, Event};
use pbm_proto::agency::v1 as pb;
use pbm_testkit::TestDatabase;

use crate::common::*;

/// The events this service wrote on `topic`, oldest first.
async fn events(app: &App, topic: &'static str) -> Vec<Event> {
    app.state
        .db
        .read(|c| pbm_db::platform::unpublished_outbox(c, 1_000))
        .await
        .unwrap()
        .iter()
        .filter(|row| row.topic == topic)
        .map(Event::from)
        .collect()
}

/// The consumer named `name`, as the service runs it.
fn consumer(app: &App, name: &str) -> pbm_events::Consumer {
    pbm_agency::consumers(&app.state)
        .into_iter()
        .find(|c| c.name() == name)
        .unwrap()
}

async fn rated_engagements_act_once(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    let batch = app.current_batch().await;
    app.register(spec(batch.id)).await.unwrap();
    let e = app
        .commission(pb::EngagementKind::Evaluation, "FIN", "D01", CODE_A)
        .await
        .unwrap();
    let rated = app.rate(e.id, 1, "20", "40").await.unwrap();
    assert_eq!(rated.agency_rating.unwrap().action, "suspend");
    let written = events(&app, pbm_events::topics::ENGAGEMENT_RATED).await;
    assert_eq!(written.len(), 1);
    let event = written[0].clone();
    let payload: pbm_events::topics::EngagementRated =
        serde_json::from_str(&event.payload).unwrap();
    assert_eq!(
        (
            payload.engagement_id,
            payload.agency_credit_code.as_deref(),
            payload.rated_on.as_str()
        ),
        (e.id, Some(CODE_A), "2026-06-01")
    );

    // The handler twice on the same event: the second finds the agency suspended already.
    let apply = |event: Event| {
        app.state
            .db
            .write(move |c| apply_engagement_rated(c, &event))
    };
    let first = apply(event.clone()).await.unwrap();
    assert_eq!(
        first.agency,
        Some(("admitted".to_owned(), "suspended".to_owned()))
    );
    assert_eq!(apply(event.clone()).await.unwrap(), Actions::default());

    // Through the consumer: applied (nothing left to do), then a duplicate.
    let ratings = consumer(&app, pbm_agency::events::RATINGS_CONSUMER);
    assert_eq!(ratings.apply_one(event.clone(), None).await, Applied::Done);
    assert_eq!(
        ratings.apply_one(event.clone(), None).await,
        Applied::Duplicate
    );
    let history = app
        .registry
        .clone()
        .list_status_history(app.fin(pb::ListStatusHistoryRequest {
            credit_code: CODE_A.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .changes;
    assert_eq!(
        history
            .iter()
            .filter(|c| c.to_status == "suspended")
            .count(),
        1,
        "{history:?}"
    );

    // A malformed payload cannot be applied however often it is tried: a dead letter.
    let broken = Event {
        id: "pbm.agency:999999".into(),
        payload: "{}".into(),
        ..event
    };
    assert!(matches!(
        ratings.apply_one(broken, None).await,
        Applied::DeadLettered(_)
    ));
}

async fn declines_are_replaced_once_in_any_order(db: TestDatabase) {
    let app = spawn(db, "2026-06-01").await;
    for i in 0..4 {
        let spec = expert_spec(&id_number("19700101", &format!("{:03}", 200 + i)));
        app.register_expert(spec).await.unwrap();
    }
    let d = app.draw("EV-T1", 2).await.unwrap();
    let (a, b) = (d.drawn[0].expert_id, d.drawn[1].expert_id);
    // Both decline before either replacement is drawn: rounds 1 and 2.
    let d1 = app.respond(&d, a, false).await.unwrap();
    let d2 = app.respond(&d1, b, false).await.unwrap();
    assert_eq!(d2.rounds.len(), 1, "{d2:?}");
    let written = events(&app, pbm_events::topics::DRAW_DECLINED).await;
    let rounds: Vec<i32> = written
        .iter()
        .map(|e| {
            serde_json::from_str::<pbm_events::topics::DrawDeclined>(&e.payload)
                .unwrap()
                .round
        })
        .collect();
    assert_eq!(rounds, [1, 2]);

    // Applied in reverse order, each twice: every round drawn once, as a replay recomputes it.
    let apply = |event: Event| app.state.db.write(move |c| apply_draw_declined(c, &event));
    for event in written.iter().rev() {
        assert!(matches!(
            apply(event.clone()).await.unwrap(),
            Replacement::Drawn(ref picked) if picked.len() == 1
        ));
        assert_eq!(
            apply(event.clone()).await.unwrap(),
            Replacement::AlreadyThere
        );
    }
    let after = app.get_draw(d.id).await;
    assert_eq!(after.rounds.len(), 3, "{after:?}");
    assert_eq!(after.drawn.len(), 4);
    assert_eq!(after.version, d2.version, "a replacement keeps the version");
    let replay = app
        .draws
        .clone()
        .replay_draw(app.fin(pb::ReplayDrawRequest { draw_id: d.id }))
        .await
        .unwrap()
        .into_inner();
    assert!(replay.matches);

    // Through the consumer: nothing more to draw, then duplicates.
    let replacement = consumer(&app, pbm_agency::events::REPLACEMENT_CONSUMER);
    for event in &written {
        assert_eq!(
            replacement.apply_one(event.clone(), None).await,
            Applied::Done
        );
        assert_eq!(
            replacement.apply_one(event.clone(), None).await,
            Applied::Duplicate
        );
    }
    assert_eq!(app.get_draw(d.id).await, after);

    // A replacement declines: nobody eligible is left. The decline is recorded, the shortfall
    // shown on the draw once, and nothing is dead-lettered.
    let c = after.drawn.iter().find(|m| m.round == 1).unwrap().expert_id;
    let answered = app.respond(&after, c, false).await.unwrap();
    let declined = answered.drawn.iter().find(|m| m.expert_id == c).unwrap();
    assert_eq!(declined.answer, pb::DrawAnswer::Declined as i32);
    assert!(
        app.settle()
            .await
            .iter()
            .all(|a| matches!(a, Applied::Done | Applied::Duplicate))
    );
    assert!(app.settle().await.iter().all(|a| *a == Applied::Duplicate));
    let short = app.get_draw(d.id).await;
    assert_eq!(short.rounds.len(), 3);
    assert_eq!(short.replacement_shortfalls.len(), 1, "{short:?}");
    assert_eq!(
        (
            short.replacement_shortfalls[0].round,
            short.replacement_shortfalls[0].declined.clone()
        ),
        (3, c.to_string())
    );
    let letters = pbm_events::dead_letters::list(&replacement, true)
        .await
        .unwrap();
    assert!(letters.is_empty(), "{letters:?}");
}

pbm_testkit::backend_tests! {
    rated_engagements => rated_engagements_act_once;
    declines_replaced => declines_are_replaced_once_in_any_order;
}
