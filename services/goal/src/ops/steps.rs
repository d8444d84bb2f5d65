//! How a workflow step (SubmitGoal, review, amendment, approval, publication, adjustments)
//! reaches the database: decided on one read of the goal in its context, written with one
//! statement guarded by the revision read ([`Step`]).
//!
//! On PostgreSQL the steps that arrive while the database is busy are **batched**
//! ([`pbm_db::Coalescer`], group commit): one statement reads every goal of the batch, each
//! step is decided on its own, and one statement writes all of them
//! ([`store::write_transitions`]) — each goal only if its revision is still the one read, as a
//! step alone would. When the batch's write fails (e.g. a retried request id is already
//! recorded) nothing of it is written and every step is written alone, so one step's failure
//! is only its own. A second step on the same goal in a batch is read, decided and written
//! alone (one statement cannot move a goal twice); the revision guard decides between it and
//! the first, which may still be on its way to the writing stage. Each step's answer then goes through
//! [`pbm_server::settle`] as any mutation's (replay of a retried request, audit of a refusal).
//!
//! On SQLite (one writer, no round trips) every step runs alone in the writer's transaction
//! ([`pbm_server::run_decided_mutation`]).

use std::collections::HashSet;

use chrono::NaiveDateTime;
use pbm_db::{AnyConnection, Coalescer, Db};
use pbm_server::{ApiError, Effect, ErrorKind, MutationContext, Records, run_decided_mutation};
use tokio::sync::oneshot;

use crate::domain::workflow::WorkflowError;
use crate::state::AppState;
use crate::store::{self, EventRow, GoalInContext, GoalRow, Transition};

/// The write of one decided step.
pub struct Step {
    /// The goal's row after the step.
    pub row: GoalRow,
    /// The revision the step was decided on: the write's guard.
    pub expected: i64,
    pub history: EventRow,
    /// A step that opens a version (an adjustment) or rewrites one (an amendment).
    pub version: Option<VersionText>,
    /// The event an approval publishes (`pbm_events::topics`), written in the step's
    /// transaction.
    pub outbox: Option<pbm_db::platform::NewOutboxEvent>,
}

/// A declaration version a step writes beside the goal's row.
pub struct VersionText {
    pub number: i32,
    pub text: String,
    pub by: String,
    pub at: NaiveDateTime,
}

impl Step {
    /// Writes the step alone: one guarded statement, or — with a version or an event — the
    /// statement, the version and the event in their own transaction (a savepoint inside
    /// SQLite's).
    pub fn write(&self, conn: &mut AnyConnection, records: &Records) -> Result<(), ApiError> {
        let moved = |c: &mut AnyConnection| -> Result<(), ApiError> {
            if store::write_transition(c, &self.row, self.expected, &self.history, records)? {
                Ok(())
            } else {
                Err(self.stale())
            }
        };
        if self.version.is_none() && self.outbox.is_none() {
            return moved(conn);
        }
        pbm_db::diesel::Connection::transaction(conn, |c| {
            moved(c)?;
            if let Some(v) = &self.version {
                store::replace_version(c, self.row.id, v.number, &v.text, &v.by, v.at)?;
            }
            if let Some(event) = &self.outbox {
                pbm_db::platform::insert_outbox(c, event)?;
            }
            Ok(())
        })
    }

    /// The goal moved since the step was decided on it: the workflow's own STALE_REVISION
    /// (its revision is now at least one more than the one read).
    fn stale(&self) -> ApiError {
        let expected = u64::try_from(self.expected).unwrap_or(0);
        let e = WorkflowError::StaleRevision {
            expected,
            actual: expected + 1,
        };
        ApiError::new(ErrorKind::Aborted, e.reason(), e.chinese())
    }
}

/// One step waiting for its batch: the goal it reads and the work that decides it (and
/// answers its waiter when it is refused).
pub struct StepJob {
    id: i64,
    decide: Decide,
}

type Decide = Box<
    dyn FnOnce(&mut AnyConnection, Result<Option<GoalInContext>, ApiError>) -> Option<Decided>
        + Send,
>;

/// A step decided in a batch, to be written; `answer` tells its waiter how the write went.
struct Decided {
    step: Step,
    records: Records,
    answer: Box<dyn FnOnce(Result<(), ApiError>) + Send>,
    /// The request's span: a step written alone writes its outbox event in it, so that the
    /// event carries the request's trace to its consumers.
    span: tracing::Span,
}

impl Decided {
    fn write_alone(self, conn: &mut AnyConnection) -> bool {
        let _entered = self.span.enter();
        let outcome = self.step.write(conn, &self.records);
        let failed = outcome.is_err();
        (self.answer)(outcome);
        failed
    }
}

/// The batching of steps: on PostgreSQL only.
pub type Steps = Coalescer<StepJob>;

/// Most steps in one batch: the statements bind one array per column, so the size only bounds
/// how long one batch holds its connection.
const MAX_BATCH: usize = 64;

/// Starts the batching of steps on PostgreSQL, as a two-stage pipeline on two connections of
/// its own: one stage reads and decides a batch while the other writes the batch decided
/// before (most of a write is waiting for PostgreSQL's commit).
pub fn start(db: &Db) -> Option<Steps> {
    if db.backend() != pbm_db::Backend::Postgres {
        return None;
    }
    // One lane per stage: measured best on 2 cores (more lanes make smaller batches that
    // compete for the same cores; docs/BENCHMARKS.md).
    let writes = Coalescer::start("goal-write", db.clone(), 1, MAX_BATCH, write_batch);
    Some(Coalescer::start(
        "goal-read",
        db.clone(),
        1,
        MAX_BATCH,
        move |conn, jobs| decide_batch(conn, jobs, &writes),
    ))
}

/// Runs the step `decide` works out from the goal `id` in its context, and writes it: batched
/// with others on PostgreSQL, alone on SQLite (see the module's documentation).
pub async fn run<R, D>(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    decide: D,
) -> Result<R, ApiError>
where
    R: prost::Message + Default + Send + 'static,
    D: FnOnce(
            &mut AnyConnection,
            &MutationContext,
            Option<GoalInContext>,
        ) -> Result<(Effect<R>, Step), ApiError>
        + Send
        + 'static,
{
    let entity = ("goal", id.to_string());
    let Some(steps) = &state.steps else {
        return run_decided_mutation(&state.db, ctx, entity, move |conn, ctx| {
            let found = store::goal_in_context(conn, id)?;
            let (effect, step) = decide(conn, ctx, found)?;
            Ok((effect, move |c: &mut AnyConnection, r: &Records| {
                step.write(c, r)
            }))
        })
        .await;
    };
    let (reply, answer) = oneshot::channel::<Result<R, ApiError>>();
    let job_ctx = ctx.clone();
    // The batch lane decides the step in the request's span: a library call made while
    // deciding stays in the request's trace.
    let span = tracing::Span::current();
    let job = StepJob {
        id,
        decide: Box::new(move |conn, found| {
            let _entered = span.enter();
            let span = span.clone();
            let decided = found.and_then(|found| decide(conn, &job_ctx, found));
            match decided {
                Err(refused) => {
                    let _ = reply.send(Err(refused));
                    None
                }
                Ok((effect, step)) => {
                    let records = job_ctx.records(&effect);
                    let response = effect.response;
                    Some(Decided {
                        step,
                        records,
                        span,
                        answer: Box::new(move |written| {
                            let _ = reply.send(written.map(|()| response));
                        }),
                    })
                }
            }
        }),
    };
    let result = match steps.push(job) {
        // Dropped unanswered: its batch had no connection (or failed unexpectedly).
        Ok(()) => answer.await.unwrap_or_else(|_| {
            Err(pbm_db::StoreError::Unavailable("a batch of goal steps was dropped".into()).into())
        }),
        Err(_) => Err(stopping()),
    };
    pbm_server::settle(&state.db, ctx, entity, result).await
}

fn stopping() -> ApiError {
    ApiError::unavailable("SERVICE_STOPPING", "服务正在停止，请稍后重试")
}

/// The first stage: reads every goal of the batch in one statement, decides each step and
/// hands the decided ones to the writing stage. A step that writes a version (or an event) is
/// written alone here, and so is a second step on a goal already in the batch, read and decided alone (its
/// guard decides between it and the first, whose write may not have happened yet).
/// Returns whether a statement failed.
fn decide_batch(conn: &mut AnyConnection, jobs: Vec<StepJob>, writes: &Coalescer<Decided>) -> bool {
    let mut ids = HashSet::with_capacity(jobs.len());
    let (now, later): (Vec<StepJob>, Vec<StepJob>) =
        jobs.into_iter().partition(|job| ids.insert(job.id));
    let ids: Vec<i64> = now.iter().map(|job| job.id).collect();
    let mut found = match conn {
        AnyConnection::Postgresql(pg) => store::goals_in_context(pg, &ids).map_err(ApiError::from),
        AnyConnection::Sqlite(_) => Err(ApiError::internal("steps are batched on PostgreSQL only")),
    };
    let mut failed = found.is_err();
    for job in now {
        let mine = match &mut found {
            Ok(map) => Ok(map.remove(&job.id)),
            Err(e) => Err(e.clone()),
        };
        match (job.decide)(conn, mine) {
            Some(d) if d.step.version.is_some() || d.step.outbox.is_some() => {
                failed |= d.write_alone(conn)
            }
            Some(d) => {
                if let Err(d) = writes.push(d) {
                    (d.answer)(Err(stopping()));
                }
            }
            None => {}
        }
    }
    for job in later {
        let found = store::goal_in_context(conn, job.id).map_err(ApiError::from);
        if let Some(d) = (job.decide)(conn, found) {
            failed |= d.write_alone(conn);
        }
    }
    failed
}

/// The second stage: writes the decided steps in one statement; each goal moves only if its
/// revision is still the one its step was decided on. When the statement fails nothing of it
/// was written, and each step is written alone, so that a failure is only the failing step's.
/// A second step on a goal already in the batch is written alone after it (and finds the goal
/// moved). Returns whether a statement failed.
fn write_batch(conn: &mut AnyConnection, decided: Vec<Decided>) -> bool {
    let mut ids = HashSet::with_capacity(decided.len());
    let (together, mut alone): (Vec<Decided>, Vec<Decided>) =
        decided.into_iter().partition(|d| ids.insert(d.step.row.id));
    let transitions: Vec<Transition<'_>> = together
        .iter()
        .map(|d| Transition {
            row: &d.step.row,
            expected: d.step.expected,
            event: &d.step.history,
            records: &d.records,
        })
        .collect();
    let written = match conn {
        AnyConnection::Postgresql(pg) => store::write_transitions(pg, &transitions),
        AnyConnection::Sqlite(_) => Err(pbm_db::StoreError::Other("not PostgreSQL".into())),
    };
    drop(transitions);
    let mut failed = false;
    match written {
        Ok(moved) => {
            let moved: HashSet<i64> = moved.into_iter().collect();
            for d in together {
                let outcome = if moved.contains(&d.step.row.id) {
                    Ok(())
                } else {
                    Err(d.step.stale())
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
