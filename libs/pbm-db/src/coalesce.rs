//! Group commit for concurrent requests: a [`Coalescer`] hands the requests that queue up while
//! the database is busy to one blocking call on one connection, so that a service can read and
//! write them with one multi-row statement each instead of one round trip per request.
//!
//! * A request that finds a lane free starts at once (a batch of one): no added latency when
//!   the service is quiet.
//! * While every lane is busy, requests queue; the next free lane takes all of them (up to
//!   `max_batch`). Batches grow with the load, which is when they pay.
//! * Each job answers for itself (it carries its own reply channel); a job that is dropped
//!   without answering — no connection could be had, or its batch panicked — is seen by its
//!   waiter as a closed channel.
//! * Each lane keeps a connection of its own, outside the pool. On PostgreSQL it plans each
//!   statement once (`plan_cache_mode = force_generic_plan`): a batch's statements differ only
//!   in the length of their arrays, and PostgreSQL would otherwise plan them anew for every
//!   batch (a custom plan per array), which costs more than running them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use tokio::sync::mpsc;

use crate::{AnyConnection, Db, StoreError};

/// Queues jobs of type `J` and runs them in batches on the lanes' connections.
pub struct Coalescer<J> {
    queue: mpsc::UnboundedSender<J>,
}

impl<J> Clone for Coalescer<J> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<J> std::fmt::Debug for Coalescer<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer").finish_non_exhaustive()
    }
}

/// A lane's connection is renewed after this long, as the pool's are
/// (`crate::pool::MAX_LIFETIME`).
const MAX_LIFETIME: Duration = crate::pool::MAX_LIFETIME;

/// A lane's connection, with the time it was opened and last used.
struct LaneConnection {
    conn: AnyConnection,
    opened: Instant,
    used: Instant,
}

impl LaneConnection {
    /// The lane's connection for its next batch: `kept` unless it is too old or, after an
    /// idle while, no longer answers (as the pool checks its own: a lane idles whenever the
    /// service is quiet, e.g. over a database restart); else a new one.
    fn for_batch(db: &Db, kept: Option<Self>) -> Result<Self, StoreError> {
        if let Some(mut kept) = kept
            && kept.opened.elapsed() < MAX_LIFETIME
            && crate::pool::still_alive(&mut kept.conn, kept.used, db.check_after_idle())
        {
            return Ok(kept);
        }
        let mut conn = db.open_dedicated()?;
        if let AnyConnection::Postgresql(_) = conn {
            conn.batch_execute("SET plan_cache_mode = force_generic_plan")?;
        }
        let now = Instant::now();
        Ok(Self {
            conn,
            opened: now,
            used: now,
        })
    }

    /// Keeps the connection for the next batch unless a statement failed and it no longer
    /// answers.
    fn after_batch(mut self, failed: bool) -> Option<Self> {
        if failed && crate::pool::ping(&mut self.conn).is_err() {
            return None;
        }
        self.used = Instant::now();
        Some(self)
    }
}

impl<J: Send + 'static> Coalescer<J> {
    /// Starts the coalescer: `lanes` threads of its own (named `{name}-{n}`, as `top -H` and
    /// profilers show them; Linux keeps the first 15 bytes), each taking the jobs queued at that
    /// moment (at most `max_batch`) as one batch and running it by `run` on the lane's
    /// connection. `run` answers every job it is given and returns whether a statement failed
    /// (the connection is then checked before it is used again). The lanes stop once every
    /// handle of the coalescer is dropped.
    ///
    /// A lane is a thread rather than a task handing each batch to tokio's blocking pool: a
    /// lane that finds work queued when its batch ends starts the next at once, where the
    /// hand-over cost two thread wake-ups per batch (≈ 0.1 ms together on a loaded two-core
    /// machine, docs/BENCHMARKS.md "Session 8"). The work a batch runs may block (it is not
    /// on the async runtime); it may still wait for async work through a runtime `Handle`.
    pub fn start<F>(name: &str, db: Db, lanes: usize, max_batch: usize, run: F) -> Self
    where
        F: Fn(&mut AnyConnection, Vec<J>) -> bool + Send + Sync + 'static,
    {
        let (queue, jobs) = mpsc::unbounded_channel::<J>();
        let jobs = Arc::new(Mutex::new(jobs));
        let run = Arc::new(run);
        let max_batch = max_batch.max(1);
        for n in 0..lanes.max(1) {
            let (db, jobs, run) = (db.clone(), jobs.clone(), run.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || lane(&db, &jobs, max_batch, &*run));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "a batching lane could not be started");
            }
        }
        Self { queue }
    }

    /// Queues `job`. It is handed back when the coalescer has stopped (no lane is running).
    pub fn push(&self, job: J) -> Result<(), J> {
        self.queue.send(job).map_err(|e| e.0)
    }
}

/// One lane: waits for a job, takes with it every job queued meanwhile (up to `max_batch`) and
/// runs them as one batch, until the queue closes.
fn lane<J, F>(db: &Db, jobs: &Mutex<mpsc::UnboundedReceiver<J>>, max_batch: usize, run: &F)
where
    F: Fn(&mut AnyConnection, Vec<J>) -> bool,
{
    let mut kept: Option<LaneConnection> = None;
    loop {
        let batch = {
            // One idle lane waits on the queue; the others wait for it to take its batch.
            let mut jobs = jobs.lock().unwrap_or_else(|p| p.into_inner());
            let Some(first) = jobs.blocking_recv() else {
                return;
            };
            let mut batch = Vec::with_capacity(jobs.len().min(max_batch - 1) + 1);
            batch.push(first);
            while batch.len() < max_batch {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let _span = tracing::debug_span!("db.batch", jobs = batch.len()).entered();
        match LaneConnection::for_batch(db, kept.take()) {
            Ok(mut c) => match catch_unwind(AssertUnwindSafe(|| run(&mut c.conn, batch))) {
                Ok(failed) => kept = c.after_batch(failed),
                // The batch's unanswered jobs were dropped as it unwound; their waiters see
                // it. Its connection may be inside a transaction: it is not kept.
                Err(_) => tracing::error!("a batch panicked; its jobs were dropped"),
            },
            // The batch's jobs are dropped unanswered; their waiters see it.
            Err(e) => tracing::error!(error = %e, "no database connection for a batch"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use tokio::sync::oneshot;

    /// Every job is answered, none twice, and jobs that queue while the lane is busy share a
    /// batch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_jobs_share_batches_and_each_is_answered() {
        let db = TestDatabase::sqlite();
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let coalescer = Coalescer::start(
            "test",
            db.connect(),
            1,
            16,
            move |_conn, jobs: Vec<(u32, oneshot::Sender<u32>)>| {
                seen.lock().unwrap().push(jobs.len());
                std::thread::sleep(std::time::Duration::from_millis(20));
                for (n, reply) in jobs {
                    let _ = reply.send(n * 2);
                }
                false
            },
        );
        let mut waiters = Vec::new();
        for n in 0..40u32 {
            let (tx, rx) = oneshot::channel();
            coalescer.push((n, tx)).unwrap();
            waiters.push((n, rx));
        }
        for (n, rx) in waiters {
            assert_eq!(rx.await.unwrap(), n * 2);
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes.iter().all(|&s| s <= 16), "{sizes:?}");
        assert!(sizes.len() < 40, "queued jobs were batched: {sizes:?}");
    }

    /// A lane's connection that died while the lane was idle (a database restart) is replaced
    /// before the next batch, which does not fail.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lane_replaces_a_connection_that_died_while_idle() {
        let Some(test_db) = TestDatabase::postgres() else {
            return;
        };
        let options = crate::DbOptions {
            check_after_idle: Duration::from_millis(50),
            ..crate::DbOptions::for_backend(crate::Backend::Postgres)
        };
        let db = Db::connect(test_db.url(), &options).unwrap();
        let coalescer = Coalescer::start(
            "test",
            db.clone(),
            1,
            4,
            |conn, jobs: Vec<oneshot::Sender<Result<i32, String>>>| {
                #[derive(diesel::QueryableByName)]
                struct Pid {
                    #[diesel(sql_type = diesel::sql_types::Integer)]
                    pid: i32,
                }
                let pid = diesel::RunQueryDsl::get_result::<Pid>(
                    diesel::sql_query("SELECT pg_backend_pid() AS pid"),
                    conn,
                )
                .map(|p| p.pid)
                .map_err(|e| e.to_string());
                let failed = pid.is_err();
                for reply in jobs {
                    let _ = reply.send(pid.clone());
                }
                failed
            },
        );
        let pid = |coalescer: &Coalescer<_>| {
            let (tx, rx) = oneshot::channel();
            coalescer.push(tx).unwrap();
            rx
        };
        let first = pid(&coalescer).await.unwrap().unwrap();
        db.read(move |c| -> Result<(), StoreError> {
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!("SELECT pg_terminate_backend({first})")),
                c,
            )?;
            Ok(())
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let second = pid(&coalescer)
            .await
            .unwrap()
            .expect("the batch does not fail");
        assert_ne!(second, first);
    }

    /// A batch that panics drops its jobs: their waiters see a closed channel, and the
    /// coalescer keeps serving.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_batch_drops_its_jobs_and_the_next_one_runs() {
        let db = TestDatabase::sqlite();
        let coalescer = Coalescer::start(
            "test",
            db.connect(),
            1,
            4,
            |_conn, jobs: Vec<(bool, oneshot::Sender<()>)>| {
                for (explode, reply) in jobs {
                    assert!(!explode, "a bug in a batch");
                    let _ = reply.send(());
                }
                false
            },
        );
        let (tx, rx) = oneshot::channel();
        coalescer.push((true, tx)).unwrap();
        assert!(rx.await.is_err());
        let (tx, rx) = oneshot::channel();
        coalescer.push((false, tx)).unwrap();
        assert!(rx.await.is_ok());
    }
}
