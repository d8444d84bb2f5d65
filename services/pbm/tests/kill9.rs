//! Kill -9 during acknowledged writes (docs/SECURITY.md "Reliability suite"), on the embedded
//! SQLite default and on PostgreSQL: `pbm serve` runs as a child process (this package's binary),
//! 16 clients send 1,200 idempotent writes (CreateAdmissionBatch: nothing but the request id
//! keeps a retry from creating a second batch), the process is killed with SIGKILL after 500
//! acknowledgements, restarted on the same data, and then
//! * every acknowledged write is there exactly once (none lost, none doubled);
//! * every request id — acknowledged, in flight at the kill, or never sent — is retried: an
//!   acknowledged one answers byte for byte what it first answered, the others are written once;
//! * the number of batches equals the number of request ids.
//!
//! A process crash (not a power loss) must lose nothing whatever SQLite's `synchronous` setting
//! in WAL mode: a committed transaction is in the WAL file, which the operating system keeps.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pbm_auth::Role;
use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// Writes in all (request ids `k9-0` … `k9-1199`).
const WRITES: usize = 1200;
/// Concurrent clients.
const CLIENTS: usize = 16;
/// Acknowledgements before the kill.
const KILL_AFTER: usize = 500;
/// The deployment's region.
const REGION: &str = "140525";

struct Server {
    child: Child,
    channel: Channel,
}

impl Drop for Server {
    /// A failed test leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `pbm serve` on `data_dir` (and `database_url`, else the embedded SQLite files) and
/// waits until it answers.
async fn start(data_dir: &Path, database_url: Option<&str>, token: &str) -> Server {
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("addr")
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("serve.log"))
        .expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_pbm"));
    command
        .arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--mof-div-code", REGION, "--rate-limit", "0"])
        .env_remove("PBM_DATABASE_URL")
        .env_remove("PBM_REDIS_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    let mut child = command.spawn().expect("spawn pbm serve");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            let log = std::fs::read_to_string(data_dir.join("serve.log")).unwrap_or_default();
            panic!("pbm serve exited with {status} before answering:\n{log}");
        }
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect()
            .await
        {
            let ready = AgencyRegistryServiceClient::new(channel.clone())
                .list_admission_batches(bearer(token, ag::ListAdmissionBatchesRequest {}))
                .await;
            if ready.is_ok() {
                return Server { child, channel };
            }
        }
        assert!(
            Instant::now() < deadline,
            "pbm serve did not answer in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bearer<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

/// The `i`th write, the same on every retry.
fn write(i: usize) -> ag::CreateAdmissionBatchRequest {
    ag::CreateAdmissionBatchRequest {
        request_id: format!("k9-{i}"),
        name: format!("第{i}批第三方机构库"),
        procurement_ref: format!("K9-{i}"),
        qualified_from: "2025-01-01".into(),
        qualified_to: "2030-12-31".into(),
    }
}

/// How many batches hold each `K9-<i>` reference.
async fn batches(channel: &Channel, token: &str) -> BTreeMap<usize, usize> {
    let listed = AgencyRegistryServiceClient::new(channel.clone())
        .list_admission_batches(bearer(token, ag::ListAdmissionBatchesRequest {}))
        .await
        .expect("list batches")
        .into_inner()
        .batches;
    let mut count = BTreeMap::new();
    for b in listed {
        let i: usize = b
            .procurement_ref
            .strip_prefix("K9-")
            .and_then(|i| i.parse().ok())
            .expect("only the test's batches");
        *count.entry(i).or_default() += 1;
    }
    count
}

async fn kill_during_acknowledged_writes(database_url: Option<&str>, backend: &str) {
    let data_dir = tempfile::tempdir().expect("data dir");
    let token = pbm_auth::dev::load_or_create(data_dir.path())
        .expect("development key")
        .sign(&pbm_auth::Claims::new(
            "k9-finance",
            Role::FinanceAdmin,
            REGION,
            3600,
        ));
    let mut server = start(data_dir.path(), database_url, &token).await;

    // 16 clients take the next write until the process is gone.
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let kill_now = Arc::new(tokio::sync::Notify::new());
    let acks: Arc<Mutex<BTreeMap<usize, Vec<u8>>>> = Arc::default();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (next, acked, killed, kill_now, acks) = (
            next.clone(),
            acked.clone(),
            killed.clone(),
            kill_now.clone(),
            acks.clone(),
        );
        let (mut c, token) = (
            AgencyRegistryServiceClient::new(server.channel.clone()),
            token.clone(),
        );
        clients.spawn(async move {
            let mut refused = Vec::new();
            while !killed.load(Ordering::SeqCst) {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= WRITES {
                    break;
                }
                match c.create_admission_batch(bearer(&token, write(i))).await {
                    Ok(r) => {
                        acks.lock()
                            .unwrap()
                            .insert(i, r.into_inner().encode_to_vec());
                        if acked.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                            kill_now.notify_one();
                        }
                    }
                    Err(status) => refused.push((i, status.code())),
                }
            }
            refused
        });
    }
    kill_now.notified().await;
    server.child.kill().expect("SIGKILL");
    killed.store(true, Ordering::SeqCst);
    let status = server.child.wait().expect("wait for the killed process");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");
    }
    let mut failed = Vec::new();
    while let Some(done) = clients.join_next().await {
        failed.extend(done.expect("client"));
    }
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    let sent = next.load(Ordering::SeqCst).min(WRITES);
    // A call refused for what it is (not for the process going away) would be a bug here.
    for (i, code) in &failed {
        assert!(
            matches!(code, Code::Unavailable | Code::Unknown | Code::Cancelled),
            "write {i} refused with {code:?} before the kill"
        );
    }

    // Restarted on the same data: every acknowledged write is there exactly once.
    let server = start(data_dir.path(), database_url, &token).await;
    let present = batches(&server.channel, &token).await;
    let lost: Vec<usize> = acks
        .keys()
        .filter(|i| !present.contains_key(i))
        .copied()
        .collect();
    let doubled: Vec<usize> = present
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, _)| *i)
        .collect();
    let unacked_committed = present.keys().filter(|i| !acks.contains_key(i)).count();

    // Every request id retried: the acknowledged answer again, the rest written once.
    let mut c = AgencyRegistryServiceClient::new(server.channel.clone());
    let mut differing = Vec::new();
    for i in 0..WRITES {
        let answer = c
            .create_admission_batch(bearer(&token, write(i)))
            .await
            .unwrap_or_else(|s| panic!("retry of k9-{i}: {s:?}"))
            .into_inner()
            .encode_to_vec();
        if acks.get(&i).is_some_and(|first| *first != answer) {
            differing.push(i);
        }
    }
    // And again, now that every id has an answer: all replays.
    let after = batches(&server.channel, &token).await;
    let doubled_after: Vec<usize> = after
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(i, _)| *i)
        .collect();

    println!(
        "kill -9 ({backend}): {WRITES} writes by {CLIENTS} clients, SIGKILL after {KILL_AFTER} acks: \
         acked before kill {}, sent before kill {sent}, committed but unacknowledged {unacked_committed}, \
         lost {}, duplicated {}; after restart every request id retried: answers differing from the \
         first acknowledgement {}, batches {} for {WRITES} request ids, duplicated {}",
        acks.len(),
        lost.len(),
        doubled.len(),
        differing.len(),
        after.values().sum::<usize>(),
        doubled_after.len()
    );
    assert!(
        acks.len() >= KILL_AFTER,
        "the kill came after {KILL_AFTER} acks"
    );
    assert!(
        lost.is_empty(),
        "acknowledged writes lost by kill -9: {lost:?}"
    );
    assert!(doubled.is_empty(), "writes doubled: {doubled:?}");
    assert!(
        differing.is_empty(),
        "retries answered differently: {differing:?}"
    );
    assert!(
        doubled_after.is_empty(),
        "writes doubled by retries: {doubled_after:?}"
    );
    assert_eq!(after.len(), WRITES, "one batch per request id");
    assert_eq!(after.values().sum::<usize>(), WRITES);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    kill_during_acknowledged_writes(None, "embedded SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    if let Some(db) = pbm_db::testing::TestDatabase::postgres() {
        kill_during_acknowledged_writes(Some(db.url()), "PostgreSQL").await;
    }
}
