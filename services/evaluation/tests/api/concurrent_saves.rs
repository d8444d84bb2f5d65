//! Concurrent SaveSelfEvaluation, on both backends (on PostgreSQL the saves that arrive together
//! are read, decided and written in batches: `ops::saves`): 32 saves at once over five sheets —
//! two saves of a sheet at the same revision (exactly one wins, the other gets
//! STALE_REVISION), a request sent twice with one request id (one effect, the same answer to
//! both, and to a later retry), and refusals among them (another unit's sheet, a role that
//! may not fill, an invalid tier, a stale revision) that change nothing and are audited, and
//! one request id on saves of two sheets (one is written, the other REQUEST_ID_REUSED: on
//! PostgreSQL the batch's write fails and each save is written alone).

use std::collections::HashMap;

use pbm_proto::evaluation::v1 as ev;
use tonic::Code;

use crate::common::*;
use crate::sheets::{entry, listed};

/// Four approved projects of [`UNIT`], three of [`UNIT2`], and the opened campaign.
async fn opened(db: pbm_testkit::TestDatabase) -> (App, ev::Campaign) {
    let app = spawn(db).await;
    app.library().await;
    for code in ["P001", "P002", "P003", "P004"] {
        app.approved(code, "1000000").await;
    }
    for code in ["P005", "P006", "P007"] {
        app.approved_for(&unit2(), code, DEPT2, UNIT2, "500000")
            .await;
    }
    app.execution("P001", "1000000", "950000").await;
    let campaign = app.open_campaign().await.unwrap();
    (app, campaign)
}

/// One save to send: who, the request, and what the test expects of it.
struct Call {
    who: Who,
    request: ev::SaveSelfEvaluationRequest,
}

fn save_req(
    rid: String,
    sheet: &ev::SelfEvaluation,
    expected_revision: i64,
    achieved: &str,
) -> ev::SaveSelfEvaluationRequest {
    ev::SaveSelfEvaluationRequest {
        request_id: rid,
        self_evaluation_id: sheet.id,
        expected_revision,
        entries: vec![entry(1, achieved)],
        execution_reason: String::new(),
        summary: format!("保存 {achieved}"),
    }
}

async fn get(app: &App, who: &Who, id: i64) -> ev::SelfEvaluation {
    app.selfs
        .clone()
        .get_self_evaluation(app.req(
            who,
            ev::GetSelfEvaluationRequest {
                self_evaluation_id: id,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .self_evaluation
        .unwrap()
}

/// The (outcome) column of the audit lines of sheet `id`'s saves.
async fn audited(app: &App, id: i64) -> Vec<String> {
    let db = app.db();
    let lines = db
        .read(move |c| pbm_db::platform::audit_of(c, "evaluation_sheet", &id.to_string()))
        .await
        .unwrap();
    let mut outcomes: Vec<String> = lines
        .into_iter()
        .filter(|a| a.method == "SaveSelfEvaluation")
        .map(|a| a.outcome)
        .collect();
    outcomes.sort();
    outcomes
}

async fn saves_at_once(db: pbm_testkit::TestDatabase) {
    let (app, campaign) = opened(db).await;
    let mut sheets = Vec::new();
    for code in ["P001", "P002", "P003", "P004"] {
        sheets.push(listed(&app, &unit(), campaign.id, code).await);
    }
    let fifth = listed(&app, &unit2(), campaign.id, "P005").await;
    let others = [
        listed(&app, &unit2(), campaign.id, "P006").await,
        listed(&app, &unit2(), campaign.id, "P007").await,
    ];

    let mut calls: Vec<(&'static str, Call)> = Vec::new();
    // Two saves of each of the unit's sheets at the same revision: "10" and "11".
    for s in &sheets {
        for achieved in ["10", "11"] {
            let request = save_req(app.rid(), s, s.revision, achieved);
            calls.push((
                "pair",
                Call {
                    who: unit(),
                    request,
                },
            ));
        }
    }
    // The other unit's sheet: one request sent twice with one request id.
    let retried = save_req(app.rid(), &fifth, fifth.revision, "7");
    for _ in 0..2 {
        let request = retried.clone();
        calls.push((
            "retry",
            Call {
                who: unit2(),
                request,
            },
        ));
    }
    // Refusals: another unit's sheet (NOT_FOUND), a role that may not fill, an invalid tier
    // (refused before the sheet is read), a revision that is not the sheet's.
    for s in &sheets {
        let request = save_req(app.rid(), s, s.revision, "1");
        calls.push((
            "not_found",
            Call {
                who: unit2(),
                request,
            },
        ));
        let request = save_req(app.rid(), s, s.revision, "2");
        calls.push((
            "denied",
            Call {
                who: auditor(),
                request,
            },
        ));
        let mut request = save_req(app.rid(), s, s.revision, "3");
        request.entries[0].tier = 99;
        calls.push((
            "invalid",
            Call {
                who: unit(),
                request,
            },
        ));
        let request = save_req(app.rid(), s, s.revision + 5, "4");
        calls.push((
            "stale",
            Call {
                who: unit(),
                request,
            },
        ));
    }
    let request = save_req(app.rid(), &fifth, fifth.revision, "5");
    calls.push((
        "not_found",
        Call {
            who: unit(),
            request,
        },
    ));
    let request = save_req(app.rid(), &fifth, fifth.revision, "6");
    calls.push((
        "denied",
        Call {
            who: auditor(),
            request,
        },
    ));
    let mut request = save_req(app.rid(), &fifth, fifth.revision, "8");
    request.self_evaluation_id = 987_654;
    calls.push((
        "not_found",
        Call {
            who: unit(),
            request,
        },
    ));
    let mut request = save_req(app.rid(), &fifth, fifth.revision + 3, "9");
    request.self_evaluation_id = fifth.id;
    calls.push((
        "stale",
        Call {
            who: unit2(),
            request,
        },
    ));
    // One request id on two saves of different sheets: one is written, the other refused.
    let shared = app.rid();
    for s in &others {
        let request = save_req(shared.clone(), s, s.revision, "16");
        calls.push((
            "shared",
            Call {
                who: unit2(),
                request,
            },
        ));
    }
    assert_eq!(calls.len(), 32);

    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(kind, call)| {
            let mut client = app.selfs.clone();
            let request = app.req(&call.who, call.request.clone());
            let sent = call.request;
            tokio::spawn(async move {
                let answer = client.save_self_evaluation(request).await;
                (
                    kind,
                    sent,
                    answer.map(|a| a.into_inner().self_evaluation.unwrap()),
                )
            })
        })
        .collect();
    let mut won: HashMap<i64, Vec<String>> = HashMap::new();
    let mut lost: HashMap<i64, usize> = HashMap::new();
    let mut replies = Vec::new();
    let mut shared_ok = Vec::new();
    for task in tasks {
        let (kind, sent, answer) = task.await.unwrap();
        let id = sent.self_evaluation_id;
        match (kind, answer) {
            ("pair", Ok(s)) => {
                assert_eq!(s.revision, sent.expected_revision + 1);
                won.entry(id)
                    .or_default()
                    .push(sent.entries[0].achieved_value.clone());
            }
            ("pair", Err(e)) => {
                assert_eq!(
                    (e.code(), reason(&e).as_str()),
                    (Code::Aborted, "STALE_REVISION")
                );
                *lost.entry(id).or_default() += 1;
            }
            ("retry", Ok(s)) => replies.push(s),
            ("shared", Ok(s)) => shared_ok.push(s.id),
            ("shared", Err(e)) => assert_eq!(
                (e.code(), reason(&e).as_str()),
                (Code::InvalidArgument, "REQUEST_ID_REUSED")
            ),
            ("not_found", Err(e)) => {
                assert_eq!(
                    (e.code(), reason(&e).as_str()),
                    (Code::NotFound, "SHEET_NOT_FOUND")
                )
            }
            ("denied", Err(e)) => assert_eq!(e.code(), Code::PermissionDenied, "{e:?}"),
            ("invalid", Err(e)) => assert_eq!(e.code(), Code::InvalidArgument, "{e:?}"),
            ("stale", Err(e)) => {
                assert_eq!(
                    (e.code(), reason(&e).as_str()),
                    (Code::Aborted, "STALE_REVISION")
                )
            }
            (kind, answer) => panic!("{kind}: {answer:?}"),
        }
    }

    // Exactly one save of each pair won; the sheet holds its entry, one revision on.
    for s in &sheets {
        let winners = &won[&s.id];
        assert_eq!((winners.len(), lost[&s.id]), (1, 1), "{winners:?}");
        let now = get(&app, &unit(), s.id).await;
        assert_eq!(now.revision, s.revision + 1);
        let first = now.indicators[0].entry.as_ref().unwrap();
        assert_eq!(&first.achieved_value, &winners[0]);
        assert_eq!(now.summary, format!("保存 {}", winners[0]));
        // Every call on the sheet is audited: the winner, the loser and the four refusals.
        let outcomes = audited(&app, s.id).await;
        assert_eq!(outcomes.len(), 6, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| *o == "OK").count(), 1);
        assert_eq!(
            outcomes.iter().filter(|o| *o == "STALE_REVISION").count(),
            2
        );
    }

    // The request sent twice: one effect, the same answer to both and to a later retry.
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0], replies[1]);
    assert_eq!(replies[0].revision, fifth.revision + 1);
    let again = app
        .selfs
        .clone()
        .save_self_evaluation(app.req(&unit2(), retried.clone()))
        .await
        .unwrap()
        .into_inner()
        .self_evaluation
        .unwrap();
    assert_eq!(again, replies[0]);
    let now = get(&app, &unit2(), fifth.id).await;
    assert_eq!(now.revision, fifth.revision + 1);
    assert_eq!(
        now.indicators[0].entry.as_ref().unwrap().achieved_value,
        "7"
    );
    let outcomes = audited(&app, fifth.id).await;
    assert_eq!(
        outcomes.iter().filter(|o| *o == "OK").count(),
        1,
        "{outcomes:?}"
    );

    // The request id shared by two sheets: exactly one of them moved.
    assert_eq!(shared_ok.len(), 1, "{shared_ok:?}");
    for s in &others {
        let moved = i64::from(shared_ok.contains(&s.id));
        assert_eq!(get(&app, &unit2(), s.id).await.revision, s.revision + moved);
    }

    // The sheets go on: the losers' next save, at the winners' revision, is written.
    for s in &sheets {
        let now = get(&app, &unit(), s.id).await;
        let next = save_req(app.rid(), &now, now.revision, "12");
        let saved = app
            .selfs
            .clone()
            .save_self_evaluation(app.req(&unit(), next))
            .await
            .unwrap()
            .into_inner()
            .self_evaluation
            .unwrap();
        assert_eq!(saved.revision, s.revision + 2);
        assert_eq!(
            get(&app, &unit(), s.id).await.indicators[0]
                .entry
                .as_ref()
                .unwrap()
                .achieved_value,
            "12"
        );
    }
}

pbm_testkit::backend_tests! {
    at_once => saves_at_once;
}
