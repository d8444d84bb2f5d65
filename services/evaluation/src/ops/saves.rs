//! SaveSelfEvaluation on PostgreSQL, batched (group commit, as the goal service's workflow
//! steps; docs/BENCHMARKS.md "The service at a city's year-end peak"): the saves that arrive
//! while the database is busy share a [`pbm_db::Coalescer`] batch. One stage reads every sheet
//! of the batch in its context and their indicators (two statements), decides each save on its
//! own exactly as alone ([`super::sheets::decide_save`]: authorised first, the same checks and
//! errors) and hands the decided writes to the second stage, which writes them all with one
//! statement ([`store::write_saves`]) — each sheet only if its revision is still the one read,
//! as a save alone would. When the batch's write fails (e.g. a retried request id is already
//! recorded) nothing of it is written and every save is written alone, so one save's failure
//! is only its own. A second save of the same sheet in a batch is read, decided and written
//! alone (one statement cannot move a sheet twice); the revision guard decides between it and
//! the first. Each save's answer then goes through [`pbm_server::settle`] as any mutation's
//! (replay of a retried request, audit of a refusal).
//!
//! On SQLite (one writer, no round trips) every save runs alone in the writer's transaction
//! (`run_mutation`, [`super::sheets::save`]).

use std::collections::HashSet;

use pbm_db::{AnyConnection, Coalescer, Db};
use pbm_proto::evaluation::v1 as ev;
use pbm_server::{ApiError, MutationContext, Records};
use tokio::sync::oneshot;

use super::sheets::{SaveFound, SheetWrite, decide_save, stale};
use crate::state::AppState;
use crate::store::{self, SaveRows};

/// One save waiting for its batch: the sheet it reads and the work that decides it (and
/// answers its waiter when it is refused).
pub struct SaveJob {
    id: i64,
    decide: Decide,
}

type Decide = Box<
    dyn FnOnce(&mut AnyConnection, Result<Option<SaveFound>, ApiError>) -> Option<Decided> + Send,
>;

/// A save decided in a batch, to be written; `answer` tells its waiter how the write went.
struct Decided {
    write: SheetWrite,
    records: Records,
    answer: Box<dyn FnOnce(Result<(), ApiError>) + Send>,
}

impl Decided {
    fn rows(&self) -> SaveRows<'_> {
        SaveRows {
            row: &self.write.row,
            expected: self.write.expected,
            indicators: &self.write.changed,
            event: &self.write.event,
            records: &self.records,
        }
    }

    /// Writes the save alone (the batch's statement for one sheet). Returns whether it failed.
    fn write_alone(self, conn: &mut AnyConnection) -> bool {
        let outcome = match conn {
            AnyConnection::Postgresql(pg) => store::write_saves(pg, &[self.rows()])
                .map_err(ApiError::from)
                .and_then(|moved| {
                    if moved.is_empty() {
                        Err(stale(self.write.expected))
                    } else {
                        Ok(())
                    }
                }),
            AnyConnection::Sqlite(_) => {
                Err(ApiError::internal("saves are batched on PostgreSQL only"))
            }
        };
        let failed = outcome.is_err();
        (self.answer)(outcome);
        failed
    }
}

/// The batching of saves: on PostgreSQL only.
pub type Saves = Coalescer<SaveJob>;

/// Most saves in one batch: the statements bind one array per column, so the size only bounds
/// how long one batch holds its connection (as the goal service's steps).
const MAX_BATCH: usize = 64;

/// Starts the batching of saves on PostgreSQL, as a two-stage pipeline on two connections of
/// its own: one stage reads and decides a batch while the other writes the batch decided
/// before. One lane per stage, as the goal service's steps (docs/BENCHMARKS.md).
pub fn start(db: &Db) -> Option<Saves> {
    if db.backend() != pbm_db::Backend::Postgres {
        return None;
    }
    let writes = Coalescer::start("eval-write", db.clone(), 1, MAX_BATCH, write_batch);
    Some(Coalescer::start(
        "eval-read",
        db.clone(),
        1,
        MAX_BATCH,
        move |conn, jobs| decide_batch(conn, jobs, &writes),
    ))
}

/// SaveSelfEvaluation batched with the saves arriving meanwhile (see the module's
/// documentation); `state.saves` is set.
pub async fn run(
    state: &AppState,
    ctx: MutationContext,
    m: ev::SaveSelfEvaluationRequest,
) -> Result<ev::SaveSelfEvaluationResponse, ApiError> {
    let id = m.self_evaluation_id;
    let entity = ("evaluation_sheet", id.to_string());
    let Some(saves) = &state.saves else {
        return Err(ApiError::internal("saves are batched on PostgreSQL only"));
    };
    let (reply, answer) = oneshot::channel::<Result<ev::SaveSelfEvaluationResponse, ApiError>>();
    let job_ctx = ctx.clone();
    let st = state.clone();
    let job = SaveJob {
        id,
        decide: Box::new(move |conn, found| {
            // Authorised first, whatever the read gave (decide_save authorises before it looks
            // at the sheet), so that a replay never answers a caller the save would refuse.
            match decide_save(conn, &st, &job_ctx, &m, move |_| found) {
                Err(refused) => {
                    let _ = reply.send(Err(refused));
                    None
                }
                Ok((effect, write)) => {
                    let records = job_ctx.records(&effect);
                    let response = effect.response;
                    Some(Decided {
                        write,
                        records,
                        answer: Box::new(move |written| {
                            let _ = reply.send(written.map(|()| response));
                        }),
                    })
                }
            }
        }),
    };
    let result = match saves.push(job) {
        // Dropped unanswered: its batch had no connection (or failed unexpectedly).
        Ok(()) => answer.await.unwrap_or_else(|_| {
            Err(pbm_db::StoreError::Unavailable("a batch of saves was dropped".into()).into())
        }),
        Err(_) => Err(stopping()),
    };
    pbm_server::settle(&state.db, ctx, entity, result).await
}

fn stopping() -> ApiError {
    ApiError::unavailable("SERVICE_STOPPING", "服务正在停止，请稍后重试")
}

/// A sheet read alone, with its indicators.
fn read_alone(conn: &mut AnyConnection, id: i64) -> Result<Option<SaveFound>, ApiError> {
    let Some(found) = store::sheet_in_context(conn, id)? else {
        return Ok(None);
    };
    let indicators = store::sheet_indicators(conn, id)?;
    Ok(Some((found, indicators)))
}

/// The first stage: reads every sheet of the batch in its context and their indicators (two
/// statements), decides each save and hands the decided ones to the writing stage. A second
/// save of a sheet already in the batch is read, decided and written alone (its guard decides
/// between it and the first, whose write may not have happened yet). Returns whether a
/// statement failed.
fn decide_batch(conn: &mut AnyConnection, jobs: Vec<SaveJob>, writes: &Coalescer<Decided>) -> bool {
    let mut ids = HashSet::with_capacity(jobs.len());
    let (now, later): (Vec<SaveJob>, Vec<SaveJob>) =
        jobs.into_iter().partition(|job| ids.insert(job.id));
    let ids: Vec<i64> = now.iter().map(|job| job.id).collect();
    let sheets = match conn {
        AnyConnection::Postgresql(pg) => store::sheets_in_context(pg, &ids).map_err(ApiError::from),
        AnyConnection::Sqlite(_) => Err(ApiError::internal("saves are batched on PostgreSQL only")),
    };
    let mut found = sheets.and_then(|sheets| {
        let indicators = store::indicators_of_sheets(conn, &ids)?;
        Ok((sheets, indicators))
    });
    let mut failed = found.is_err();
    for job in now {
        let mine = match &mut found {
            Ok((sheets, indicators)) => Ok(sheets
                .remove(&job.id)
                .map(|s| (s, indicators.remove(&job.id).unwrap_or_default()))),
            Err(e) => Err(e.clone()),
        };
        if let Some(d) = (job.decide)(conn, mine)
            && let Err(d) = writes.push(d)
        {
            (d.answer)(Err(stopping()));
        }
    }
    for job in later {
        let found = read_alone(conn, job.id);
        if let Some(d) = (job.decide)(conn, found) {
            failed |= d.write_alone(conn);
        }
    }
    failed
}

/// The second stage: writes the decided saves in one statement; each sheet moves only if its
/// revision is still the one its save was decided on. When the statement fails nothing of it
/// was written, and each save is written alone, so that a failure is only the failing save's.
/// A second save of a sheet already in the batch is written alone after it (and finds the sheet
/// moved). Returns whether a statement failed.
fn write_batch(conn: &mut AnyConnection, decided: Vec<Decided>) -> bool {
    let mut ids = HashSet::with_capacity(decided.len());
    let (together, mut alone): (Vec<Decided>, Vec<Decided>) = decided
        .into_iter()
        .partition(|d| ids.insert(d.write.row.id));
    let rows: Vec<SaveRows<'_>> = together.iter().map(Decided::rows).collect();
    let written = match conn {
        AnyConnection::Postgresql(pg) => store::write_saves(pg, &rows),
        AnyConnection::Sqlite(_) => Err(pbm_db::StoreError::Other("not PostgreSQL".into())),
    };
    drop(rows);
    let mut failed = false;
    match written {
        Ok(moved) => {
            let moved: HashSet<i64> = moved.into_iter().collect();
            for d in together {
                let outcome = if moved.contains(&d.write.row.id) {
                    Ok(())
                } else {
                    Err(stale(d.write.expected))
                };
                (d.answer)(outcome);
            }
        }
        Err(_) => {
            failed = true;
            alone.splice(0..0, together);
        }
    }
    for d in alone {
        failed |= d.write_alone(conn);
    }
    failed
}
