//! `pbm-load run`: closed-loop load against one RPC.
//!
//! `--concurrency` request loops share `--connections` HTTP/2 connections (default: one per 16
//! loops, at least one; TCP_NODELAY on). Each loop sends its next request as soon as the
//! previous one answered, until `--duration-secs` have passed or `--max-requests` were issued,
//! whichever comes first. An optional warm-up phase runs first and is not recorded.
//!
//! Latency is recorded per request (every sample is kept, so the percentiles are exact) and
//! reported in microseconds; percentiles are pbm-bench's, the one definition of every PBM bench
//! (nearest rank: the smallest sample with at least p % of the samples at or below it). Every
//! gRPC status code is counted; transport failures appear as the status tonic reports for them
//! (usually UNAVAILABLE or UNKNOWN). The run ends with pbm-bench's verdict block (every request
//! ended OK): after the table, or on stderr with `--json` when it failed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use pbm_bench::{Check, Latencies, Summary, Verdict};
use pbm_proto::bench::v1::EchoRequest;
use pbm_proto::bench::v1::echo_service_client::EchoServiceClient;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_proto::indicator::v1::{GetIndicatorRequest, SearchIndicatorsRequest};
use pbm_proto::tls::ClientTlsFiles;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rpc {
    /// pbm.bench.v1.EchoService/Echo (the baseline; run against `pbm-load echo-server`).
    Echo,
    /// pbm.indicator.v1.IndicatorService/GetIndicator of `--code`.
    GetIndicator,
    /// pbm.indicator.v1.IndicatorService/SearchIndicators, cycling over `--query`.
    Search,
}

impl Rpc {
    fn name(self) -> &'static str {
        match self {
            Rpc::Echo => "echo",
            Rpc::GetIndicator => "get-indicator",
            Rpc::Search => "search",
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Server URL, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    target: String,
    #[command(flatten)]
    tls: TlsArgs,
    #[arg(long, value_enum)]
    rpc: Rpc,
    /// Concurrent request loops (requests in flight).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections shared by the loops (default: concurrency / 16, rounded up).
    #[arg(long)]
    connections: Option<usize>,
    /// Stop after this many seconds of measured load.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Stop after this many measured requests.
    #[arg(long, default_value_t = 10_000_000)]
    max_requests: u64,
    /// Unrecorded warm-up before the measurement, in seconds.
    #[arg(long, default_value_t = 0)]
    warmup_secs: u64,
    /// Bearer token (from `pbm token`); not needed for echo.
    #[arg(long, env = "PBM_TOKEN")]
    token: Option<String>,
    /// Indicator code for get-indicator.
    #[arg(long)]
    code: Option<String>,
    /// Search text for search; repeat to cycle over several.
    #[arg(long = "query")]
    queries: Vec<String>,
    /// Hits per search (SearchIndicatorsRequest.limit).
    #[arg(long, default_value_t = 20)]
    limit: i32,
    /// Payload size of an echo request, in bytes.
    #[arg(long, default_value_t = 16)]
    payload_bytes: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// One loop's connection-bound client.
#[derive(Clone)]
enum Client {
    Echo(EchoServiceClient<Channel>),
    Indicator(IndicatorServiceClient<Channel>),
}

/// What a request loop needs to build its requests.
struct Plan {
    rpc: Rpc,
    auth: Option<MetadataValue<tonic::metadata::Ascii>>,
    code: String,
    queries: Vec<String>,
    limit: i32,
    payload: String,
}

impl Plan {
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(auth) = &self.auth {
            request.metadata_mut().insert("authorization", auth.clone());
        }
        request
    }

    /// Sends request number `n` of a loop. Returns the search's total matches (0 otherwise).
    async fn call(&self, client: &mut Client, n: usize) -> Result<(usize, i64), tonic::Status> {
        match (self.rpc, client) {
            (Rpc::Echo, Client::Echo(c)) => {
                c.echo(self.request(EchoRequest {
                    payload: self.payload.clone(),
                }))
                .await?;
                Ok((0, 0))
            }
            (Rpc::GetIndicator, Client::Indicator(c)) => {
                c.get_indicator(self.request(GetIndicatorRequest {
                    code: self.code.clone(),
                    version: 0,
                }))
                .await?;
                Ok((0, 0))
            }
            (Rpc::Search, Client::Indicator(c)) => {
                let q = n % self.queries.len();
                let request = SearchIndicatorsRequest {
                    query: self.queries[q].clone(),
                    filter: None,
                    limit: self.limit,
                };
                let response = c
                    .search_indicators(self.request(request))
                    .await?
                    .into_inner();
                Ok((q, response.total_matches))
            }
            _ => unreachable!("client kind follows the rpc"),
        }
    }
}

/// What one loop saw.
#[derive(Default)]
struct Tally {
    latencies: Latencies,
    /// Per search query (index into `Plan::queries`): latencies and summed total_matches.
    per_query: BTreeMap<usize, (Latencies, i64)>,
    codes: BTreeMap<&'static str, u64>,
    /// First message seen for each non-OK code.
    samples: BTreeMap<&'static str, String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.append(other.latencies);
        for (q, (lat, matches)) in other.per_query {
            let e = self.per_query.entry(q).or_default();
            e.0.append(lat);
            e.1 += matches;
        }
        for (code, n) in other.codes {
            *self.codes.entry(code).or_default() += n;
        }
        for (code, msg) in other.samples {
            self.samples.entry(code).or_insert(msg);
        }
    }
}

/// Canonical gRPC status code names, as grpcurl and the gRPC docs print them.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// TLS of an https:// `--target` (docs/SECURITY.md "Encryption in transit").
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// PEM CA trusted for an https:// target.
    #[arg(long, env = "PBM_TLS_CA")]
    tls_ca: Option<PathBuf>,
    /// PEM client certificate, for a server requiring mutual TLS.
    #[arg(long, env = "PBM_TLS_CLIENT_CERT")]
    tls_client_cert: Option<PathBuf>,
    /// PEM private key of --tls-client-cert.
    #[arg(long, env = "PBM_TLS_CLIENT_KEY")]
    tls_client_key: Option<PathBuf>,
}

/// Opens `n` HTTP/2 connections to `target` (over TLS for https://).
pub async fn connect(target: &str, n: usize, tls: &TlsArgs) -> anyhow::Result<Vec<Channel>> {
    let files = ClientTlsFiles {
        ca: tls.tls_ca.clone(),
        cert: tls.tls_client_cert.clone(),
        key: tls.tls_client_key.clone(),
    };
    let endpoint = files
        .endpoint(target)
        .with_context(|| format!("invalid --target {target}"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5));
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        channels.push(
            endpoint
                .connect()
                .await
                .with_context(|| format!("cannot connect to {target}"))?,
        );
    }
    Ok(channels)
}

/// Runs `concurrency` loops until `duration` passed or `max_requests` were issued.
async fn phase(
    plan: &Arc<Plan>,
    clients: &[Client],
    concurrency: usize,
    duration: Duration,
    max_requests: u64,
) -> (Tally, Duration) {
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let mut client = clients[i % clients.len()].clone();
        let plan = plan.clone();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = i;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                let t = Instant::now();
                let result = plan.call(&mut client, n).await;
                let took = t.elapsed();
                tally.latencies.record(took);
                match result {
                    Ok((q, matches)) => {
                        *tally.codes.entry("OK").or_default() += 1;
                        if plan.rpc == Rpc::Search {
                            let e = tally.per_query.entry(q).or_default();
                            e.0.record(took);
                            e.1 += matches;
                        }
                    }
                    Err(status) => {
                        let name = code_name(status.code());
                        *tally.codes.entry(name).or_default() += 1;
                        tally
                            .samples
                            .entry(name)
                            .or_insert_with(|| status.message().to_owned());
                    }
                }
                n += 1;
            }
            tally
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        // A panicking loop is a bug in this tool; surface it.
        total.merge(task.await.expect("request loop panicked"));
    }
    (total, start.elapsed())
}

/// Latency percentiles (pbm-bench's nearest rank), max and mean in whole microseconds (the
/// percentiles and max truncated, the mean rounded); all 0 without samples.
fn percentiles(summary: Option<Summary>) -> serde_json::Value {
    let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    match summary {
        Some(s) => serde_json::json!({
            "p50": us(s.p50),
            "p90": us(s.p90),
            "p99": us(s.p99),
            "max": us(s.max),
            "mean": (s.mean.as_secs_f64() * 1e6).round(),
        }),
        None => serde_json::json!({ "p50": 0, "p90": 0, "p99": 0, "max": 0, "mean": 0.0 }),
    }
}

/// `pbm-load run`. Returns false when any request ended with a non-OK status.
pub async fn run(args: Args) -> anyhow::Result<bool> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let code = match (args.rpc, &args.code) {
        (Rpc::GetIndicator, None) => anyhow::bail!("--rpc get-indicator needs --code"),
        (_, c) => c.clone().unwrap_or_default(),
    };
    if args.rpc == Rpc::Search && args.queries.is_empty() {
        anyhow::bail!("--rpc search needs at least one --query");
    }
    let auth = match &args.token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse()
                .context("--token is not a valid header value")?,
        ),
        None => None,
    };
    let connections = args
        .connections
        .unwrap_or(args.concurrency.div_ceil(16))
        .max(1);
    let channels = connect(&args.target, connections, &args.tls).await?;
    let clients: Vec<Client> = channels
        .into_iter()
        .map(|ch| match args.rpc {
            Rpc::Echo => Client::Echo(EchoServiceClient::new(ch)),
            Rpc::GetIndicator | Rpc::Search => Client::Indicator(IndicatorServiceClient::new(ch)),
        })
        .collect();
    let plan = Arc::new(Plan {
        rpc: args.rpc,
        auth,
        code,
        queries: args.queries.clone(),
        limit: args.limit,
        payload: "x".repeat(args.payload_bytes),
    });

    if args.warmup_secs > 0 {
        phase(
            &plan,
            &clients,
            args.concurrency,
            Duration::from_secs(args.warmup_secs),
            u64::MAX,
        )
        .await;
    }
    let (mut tally, elapsed) = phase(
        &plan,
        &clients,
        args.concurrency,
        Duration::from_secs(args.duration_secs),
        args.max_requests,
    )
    .await;
    let requests = tally.latencies.len() as u64;
    let ok = tally.codes.get("OK").copied().unwrap_or(0);
    let secs = elapsed.as_secs_f64();
    let summary = tally.latencies.summary(Some(elapsed));
    let rps = summary.and_then(|s| s.throughput()).unwrap_or(0.0);
    let all_ok = ok == requests;
    let per_query: Vec<serde_json::Value> = tally
        .per_query
        .iter_mut()
        .map(|(q, (lat, matches))| {
            serde_json::json!({
                "query": plan.queries[*q],
                "requests": lat.len(),
                "mean_total_matches": if lat.is_empty() { 0 } else { *matches / lat.len() as i64 },
                "latency_us": percentiles(lat.summary(None)),
            })
        })
        .collect();
    let report = serde_json::json!({
        "rpc": args.rpc.name(),
        "target": args.target,
        "concurrency": args.concurrency,
        "connections": connections,
        "warmup_secs": args.warmup_secs,
        "elapsed_secs": (secs * 1000.0).round() / 1000.0,
        "requests": requests,
        "ok": ok,
        "all_ok": all_ok,
        "rps": rps.round(),
        "latency_us": percentiles(summary),
        "status_codes": tally.codes,
        "error_samples": tally.samples,
        "queries": per_query,
    });
    let mut verdict = Verdict::new(format!("pbm-load {}", args.rpc.name()));
    verdict.check(
        Check::at_most(
            format!("requests that did not end OK (of {requests})"),
            (requests - ok) as f64,
            0.0,
            "",
        )
        .decimals(0),
    );
    if args.json {
        println!("{report}");
        // stdout is the JSON alone; a failed verdict goes to stderr.
        if !verdict.passed() {
            eprint!("\n{}", verdict.render());
        }
    } else {
        print_table(&report);
        verdict.print();
    }
    Ok(verdict.passed())
}

fn print_table(r: &serde_json::Value) {
    let l = &r["latency_us"];
    println!("rpc           {}", r["rpc"].as_str().unwrap_or_default());
    println!("target        {}", r["target"].as_str().unwrap_or_default());
    println!(
        "concurrency   {} over {} connection(s), warm-up {} s",
        r["concurrency"], r["connections"], r["warmup_secs"]
    );
    println!("elapsed       {} s", r["elapsed_secs"]);
    println!("requests      {} ({} OK)", r["requests"], r["ok"]);
    println!("rps           {}", r["rps"]);
    println!(
        "latency µs    p50 {}  p90 {}  p99 {}  max {}  mean {}",
        l["p50"], l["p90"], l["p99"], l["max"], l["mean"]
    );
    if let Some(codes) = r["status_codes"].as_object() {
        for (code, n) in codes {
            let sample = r["error_samples"][code]
                .as_str()
                .map(|s| format!("  e.g. {s}"))
                .unwrap_or_default();
            println!("status        {code:<20} {n}{sample}");
        }
    }
    if let Some(queries) = r["queries"].as_array() {
        for q in queries {
            let l = &q["latency_us"];
            println!(
                "query         {:<12} n {:<7} matches {:<6} p50 {} p99 {} max {}",
                q["query"].as_str().unwrap_or_default(),
                q["requests"],
                q["mean_total_matches"],
                l["p50"],
                l["p99"],
                l["max"]
            );
        }
    }
}
