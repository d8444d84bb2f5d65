//! The built `pbmctl` binary against the real agency service, assembled as `pbm serve`
//! assembles it (config, development-key auth, events relay) on SQLite in a temporary data
//! directory: batches, agencies, status changes, .xlsx export/import, experts, reveals, roles;
//! engagements, ratings and their explanation, expert draws with replacement and replay, the
//! pool statistics; agency draws weighted by rating (answered by `--agency`, replayed), the
//! recompute of every rating with its ranking, and experts' violations; experts' .xlsx import
//! (all-or-nothing check, idempotent re-runs, server refusals) and masked export, round-tripped
//! into a second server.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use pbm_server::config::ServerArgs;

const REGION: &str = "140500";
/// A valid 统一社会信用代码 (GB 32100-2015 check character).
const CODE_A: &str = "91350100M000100Y43";
const AGENCY_NAME: &str = "晋城某会计师事务所有限公司";

/// Serves the agency service on a free port from its own thread and runtime (the test drives
/// the binary with blocking process calls), with the service's calendar fixed to `today` when
/// given (ratings decay by age and draws are dated, so the numbers stay the same whenever the
/// test runs).
fn start_server_on(data_dir: &Path, today: Option<&str>) -> SocketAddr {
    let today = today.map(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap());
    let args = ServerArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        database_url: None,
        sqlite_synchronous: Default::default(),
        mof_div_code: REGION.into(),
        production: false,
        auth_public_keys: None,
        auth_revoked: None,
        rate_limit: 0,
        max_in_flight: 64,
        request_timeout_secs: 10,
        pii: Default::default(),
        redis_url: None,
        otlp_endpoint: None,
        seed_fiscal_year: None,
        indicator_url: None,
        agency_url: None,
        goal_url: None,
        monitoring_url: None,
        library_cache_secs: 5,
        upstream_library_url: None,
        upstream_token_file: None,
        audit: Default::default(),
        tls: Default::default(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let mut state = pbm_agency::open(&args).await.unwrap();
            if let Some(today) = today {
                state.today = std::sync::Arc::new(move || today);
            }
            let bus = pbm_events::InProcessBus::default();
            pbm_events::spawn_relay(state.db.clone(), None, &bus);
            // As `pbm-agency serve`: its consumers (grade actions, replacements of declines)
            // read its outbox.
            let source = pbm_events::embedded::Source {
                name: "agency".into(),
                db: state.db.clone(),
            };
            for consumer in pbm_agency::consumers(&state) {
                pbm_events::embedded::spawn(
                    consumer,
                    vec![source.clone()],
                    &bus,
                    Default::default(),
                );
            }
            let listener = tokio::net::TcpListener::bind(args.listen).await.unwrap();
            let options = args
                .serve_options(vec![
                    pbm_agency::HEALTH_NAME,
                    pbm_agency::ENGAGEMENT_HEALTH_NAME,
                ])
                .unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            pbm_server::serve(
                listener,
                pbm_agency::router(state),
                options,
                std::future::pending(),
            )
            .await
            .unwrap();
        });
    });
    rx.recv().unwrap()
}

struct Ctl {
    server: String,
    data_dir: std::path::PathBuf,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ctl {
    /// A server on `data_dir` (see [`start_server_on`]) and the CLI pointed at it.
    fn serve(data_dir: &Path, today: Option<&str>) -> Ctl {
        Ctl {
            server: format!("http://{}", start_server_on(data_dir, today)),
            data_dir: data_dir.to_owned(),
        }
    }

    fn run_as(&self, role: &str, args: &[&str]) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(env!("CARGO_BIN_EXE_pbmctl"))
            .args(["--server", &self.server, "--dev-role", role])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--mof-div-code", REGION])
            .args(args)
            .env_remove("PBM_TOKEN")
            .env_remove("PBM_SERVER")
            .output()
            .unwrap();
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        };
        eprintln!(
            "$ pbmctl --dev-role {role} {}\n{}{}[exit {}]",
            args.join(" "),
            run.stdout,
            run.stderr,
            run.code
        );
        run
    }

    fn ok(&self, args: &[&str]) -> String {
        let run = self.run_as("finance_admin", args);
        assert_eq!(run.code, 0, "pbmctl {args:?} failed: {}", run.stderr);
        run.stdout
    }

    fn fails(&self, role: &str, args: &[&str]) -> Run {
        let run = self.run_as(role, args);
        assert_eq!(run.code, 1, "pbmctl {args:?} should fail with exit 1");
        run
    }
}

/// A valid 身份证号 (GB 11643 check digit) from its first 17 digits.
fn id_number(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// A valid 统一社会信用代码 from its first 17 characters.
fn credit_code(first17: &str) -> String {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| ALPHABET.find(c).unwrap() as u32 * w)
        .sum();
    let check = ALPHABET
        .chars()
        .nth(((31 - sum % 31) % 31) as usize)
        .unwrap();
    format!("{first17}{check}")
}

#[test]
fn administers_the_pool_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Ctl::serve(dir.path(), None);
    assert_eq!(credit_code(&CODE_A[..17]), CODE_A);

    // No token at all: a usage error, exit 2, before any call.
    let no_token = Command::new(env!("CARGO_BIN_EXE_pbmctl"))
        .args(["--server", &ctl.server, "batch", "list"])
        .env_remove("PBM_TOKEN")
        .output()
        .unwrap();
    assert_eq!(no_token.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("--token"));

    // Batch.
    let out = ctl.ok(&[
        "batch",
        "add",
        "--name",
        "2020—2099年度预算绩效管理中介机构库",
        "--procurement-ref",
        "JCZC-2019-117",
        "--from",
        "2020-01-01",
        "--to",
        "2099-12-31",
    ]);
    assert!(out.contains("已新建入库批次 1"), "{out}");
    assert!(ctl.ok(&["batch", "list"]).contains("JCZC-2019-117"));

    // Agency from a JSON file.
    let agency_json = dir.path().join("agency.json");
    std::fs::write(
        &agency_json,
        serde_json::json!({
            "credit_code": CODE_A,
            "name": AGENCY_NAME,
            "type": "accounting_firm",
            "legal_representative": "王某",
            "lead_evaluators": [{"name": "赵某", "qualifications": ["注册会计师"]}],
            "contacts": [{"name": "李某", "role": "项目经理", "phone": "13812345678"}],
            "scopes": ["evaluation", "事前绩效评估和绩效目标审核"],
            "admission_batch_id": 1,
        })
        .to_string(),
    )
    .unwrap();
    let out = ctl.ok(&["agency", "add", "--file", agency_json.to_str().unwrap()]);
    assert!(out.contains(CODE_A) && out.contains("入库"), "{out}");

    let table = ctl.ok(&["agency", "list"]);
    assert!(table.contains(AGENCY_NAME), "{table}");
    assert!(table.contains("会计师事务所") && table.contains("共 1 家"));
    let listed: serde_json::Value =
        serde_json::from_str(&ctl.ok(&["agency", "list", "--all", "--json"])).unwrap();
    assert_eq!(listed["agencies"][0]["spec"]["credit_code"], CODE_A);
    assert_eq!(listed["agencies"][0]["status"], "admitted");
    assert_eq!(
        listed["agencies"][0]["spec"]["contacts"][0]["phone"],
        "138****5678"
    );

    // Status change (reads the version first) and its history.
    let out = ctl.ok(&[
        "agency",
        "suspend",
        CODE_A,
        "--reason",
        "年度考评不合格",
        "--until",
        "2098-12-31",
    ]);
    assert!(
        out.contains("暂停（至 2098-12-31）") && out.contains("版本 2"),
        "{out}"
    );
    let history = ctl.ok(&["agency", "history", CODE_A]);
    assert!(
        history.contains("年度考评不合格") && history.contains("暂停"),
        "{history}"
    );
    assert!(history.contains("dev-finance_admin"), "{history}");
    let shown: serde_json::Value =
        serde_json::from_str(&ctl.ok(&["agency", "show", CODE_A, "--json"])).unwrap();
    assert_eq!(shown["status"], "suspended");
    assert_eq!(shown["spec"]["contacts"][0]["phone"], "13812345678");

    // Violations.
    ctl.ok(&[
        "agency",
        "violation",
        "add",
        CODE_A,
        "--on",
        "2024-03-01",
        "--severity",
        "minor",
        "--description",
        "报告逾期提交",
    ]);
    assert!(
        ctl.ok(&["agency", "violation", "list", CODE_A])
            .contains("报告逾期提交")
    );

    // Export, then import the same workbook again: every row already exists.
    let xlsx = dir.path().join("agencies.xlsx");
    let out = ctl.ok(&["agency", "export", xlsx.to_str().unwrap()]);
    assert!(out.contains("已导出 1 家机构"), "{out}");
    let out = ctl.ok(&["agency", "import", xlsx.to_str().unwrap()]);
    assert!(
        out.contains("已存在") && out.contains("新增 0，已存在 1，失败 0"),
        "{out}"
    );

    // A workbook with one bad row: every problem printed, nothing written, exit 1.
    let code_b = credit_code("91140500MA0K00001");
    let mut bad_code = code_a_with_wrong_check();
    bad_code.make_ascii_uppercase();
    let row = |code: &str, name: &str| {
        vec![
            code.to_owned(),
            name.to_owned(),
            "咨询机构".to_owned(),
            "周某".to_owned(),
            "吴某（注册会计师）".to_owned(),
            "课题研究".to_owned(),
            "1".to_owned(),
            "郑某".to_owned(),
            "13900002222".to_owned(),
        ]
    };
    let columns: Vec<pbm_xlsx::Column> = [
        "统一社会信用代码",
        "机构名称",
        "机构类型",
        "法定代表人",
        "主评人",
        "服务范围",
        "入库批次",
        "联系人",
        "联系电话",
    ]
    .into_iter()
    .map(|header| pbm_xlsx::Column {
        header,
        required: false,
        width: 14.0,
    })
    .collect();
    let bad_xlsx = dir.path().join("bad.xlsx");
    std::fs::write(
        &bad_xlsx,
        pbm_xlsx::write_table(
            "机构库",
            &columns,
            &[row(&code_b, "某咨询有限公司"), row(&bad_code, "某研究院")],
        )
        .unwrap(),
    )
    .unwrap();
    let run = ctl.fails(
        "finance_admin",
        &["agency", "import", bad_xlsx.to_str().unwrap()],
    );
    assert!(
        run.stderr.contains("第3行「统一社会信用代码」") && run.stderr.contains("校验码错误"),
        "{}",
        run.stderr
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ctl.ok(&["agency", "list", "--json"])).unwrap();
    assert_eq!(listed["page"]["total_size"], 1, "nothing was written");

    // The good row alone imports; running it again is safe.
    let good_xlsx = dir.path().join("good.xlsx");
    std::fs::write(
        &good_xlsx,
        pbm_xlsx::write_table("机构库", &columns, &[row(&code_b, "某咨询有限公司")]).unwrap(),
    )
    .unwrap();
    let out = ctl.ok(&["agency", "import", good_xlsx.to_str().unwrap()]);
    assert!(out.contains("新增 1，已存在 0，失败 0"), "{out}");
    let out = ctl.ok(&["agency", "import", good_xlsx.to_str().unwrap()]);
    assert!(out.contains("新增 0，已存在 1，失败 0"), "{out}");
    let shown: serde_json::Value =
        serde_json::from_str(&ctl.ok(&["agency", "show", &code_b, "--json"])).unwrap();
    assert_eq!(
        shown["spec"]["lead_evaluators"][0]["qualifications"][0],
        "注册会计师"
    );

    // Experts: masked in lists, in full only through an audited reveal.
    let id = id_number("14050219700315123");
    let expert_json = dir.path().join("expert.json");
    std::fs::write(
        &expert_json,
        serde_json::json!({
            "name": "张专家",
            "id_number": id,
            "phone": "13900001111",
            "title": "senior",
            "years_in_field": 15,
            "fields": ["LAW"],
            "affiliation": "山西某大学",
        })
        .to_string(),
    )
    .unwrap();
    let out = ctl.ok(&["expert", "add", "--file", expert_json.to_str().unwrap()]);
    assert!(out.contains("已登记专家 1"), "{out}");
    let masked = format!("{}***********{}", &id[..3], &id[14..]);
    let table = ctl.ok(&["expert", "list", "--field", "LAW", "--min-title", "senior"]);
    assert!(table.contains(&masked) && !table.contains(&id), "{table}");
    assert!(table.contains("张专家") && table.contains("副高级"));
    let run = ctl.run_as(
        "finance_admin",
        &["expert", "reveal", "1", "--reason", "核对抽取结果"],
    );
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains(&id) && run.stdout.contains("13900001111"));
    assert!(run.stderr.contains("审计"), "{}", run.stderr);
    ctl.ok(&[
        "expert",
        "status",
        "1",
        "under-review",
        "--reason",
        "年度考评",
    ]);
    assert!(ctl.ok(&["expert", "history", "1"]).contains("考评"));
    assert!(ctl.ok(&["expert", "fields"]).contains("LAW"));

    // Rules: defaults until set; the output of `rules show --json` can be set back.
    let shown = ctl.ok(&["rules", "show", "--year", "2026", "--json"]);
    let rules: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(rules["version"], 0);
    let rules_json = dir.path().join("rules.json");
    std::fs::write(&rules_json, shown).unwrap();
    let out = ctl.ok(&[
        "rules",
        "set",
        "--year",
        "2026",
        "--file",
        rules_json.to_str().unwrap(),
    ]);
    assert!(out.contains("第 1 版"), "{out}");
    assert!(
        ctl.ok(&["rules", "show", "--year", "2026"])
            .contains("第 1 版")
    );

    // An auditor reads but may not change anything.
    assert!(
        ctl.run_as("auditor", &["agency", "list"])
            .stdout
            .contains(AGENCY_NAME)
    );
    let run = ctl.fails(
        "auditor",
        &["agency", "warn", CODE_A, "--reason", "试图修改"],
    );
    assert!(run.stderr.starts_with("错误: "), "{}", run.stderr);
    assert!(run.stderr.contains("ROLE_NOT_ALLOWED"), "{}", run.stderr);

    // A refused input names the field.
    let run = ctl.fails(
        "finance_admin",
        &[
            "agency",
            "violation",
            "add",
            CODE_A,
            "--on",
            "2999-01-01",
            "--severity",
            "major",
            "--description",
            "x",
        ],
    );
    assert!(run.stderr.contains("字段 "), "{}", run.stderr);

    // A token that is not one: refused by the server, exit 1.
    let bad_token = Command::new(env!("CARGO_BIN_EXE_pbmctl"))
        .args([
            "--server",
            &ctl.server,
            "--token",
            "not-a-token",
            "batch",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(bad_token.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_token.stderr).contains("Unauthenticated"));

    // Usage errors exit 2.
    let run = ctl.run_as("finance_admin", &["agency", "list", "--type", "bank"]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    // No server: a clear message naming it.
    let run = Ctl {
        server: "http://127.0.0.1:1".into(),
        data_dir: ctl.data_dir.clone(),
    }
    .fails("finance_admin", &["batch", "list"]);
    assert!(
        run.stderr.contains("无法连接服务器 http://127.0.0.1:1"),
        "{}",
        run.stderr
    );
}

/// CODE_A with its check character changed.
fn code_a_with_wrong_check() -> String {
    format!("{}4", &CODE_A[..17])
}

/// Writes `value` to `dir/name` and returns the path as text (for `--file`).
fn write_json(dir: &Path, name: &str, value: &serde_json::Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The keys and counts of one `CountByKey` list of `stats --json`.
fn counts(stats: &serde_json::Value, list: &str) -> Vec<(String, i64)> {
    stats[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {stats}"))
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn commissions_rates_explains_and_draws_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Ctl::serve(dir.path(), Some("2026-06-01"));

    // The pool: a batch qualified for 2025–2027, an agency with a 主评人 admitted for
    // evaluations, three LAW experts (副高级, 15 years).
    ctl.ok(&[
        "batch",
        "add",
        "--name",
        "2025—2027年度第三方机构库",
        "--procurement-ref",
        "JCZC-2024-031",
        "--from",
        "2025-01-01",
        "--to",
        "2027-12-31",
    ]);
    let agency = write_json(
        dir.path(),
        "agency.json",
        &serde_json::json!({
            "credit_code": CODE_A,
            "name": AGENCY_NAME,
            "type": "accounting_firm",
            "legal_representative": "王某",
            "lead_evaluators": [{"name": "赵某", "qualifications": ["注册会计师"]}],
            "contacts": [{"name": "李某", "role": "项目经理", "phone": "13812345678"}],
            "scopes": ["evaluation", "ex_ante_and_goal_review"],
            "admission_batch_id": 1,
        }),
    );
    ctl.ok(&["agency", "add", "--file", &agency]);
    for (i, last) in ["123", "135", "147"].into_iter().enumerate() {
        let expert = write_json(
            dir.path(),
            &format!("expert{i}.json"),
            &serde_json::json!({
                "name": format!("专家{i}"),
                "id_number": id_number(&format!("14050219700315{last}")),
                "phone": format!("1390000111{i}"),
                "title": "senior",
                "years_in_field": 15,
                "fields": ["LAW"],
                "affiliation": "山西某大学",
            }),
        );
        let out = ctl.ok(&["expert", "add", "--file", &expert]);
        assert!(out.contains(&format!("已登记专家 {}", i + 1)), "{out}");
    }

    // Commission the agency and expert 1; the same request id again is the same engagement.
    let add = [
        "engagement",
        "add",
        "--commissioner",
        "FIN",
        "--evaluated-party",
        "D01",
        "--kind",
        "evaluation",
        "--agency",
        CODE_A,
        "--expert",
        "1",
        "--started-on",
        "2026-01-10",
        "--ended-on",
        "2026-03-31",
        "--request-id",
        "cli-engagement-1",
    ];
    let out = ctl.ok(&add);
    assert!(
        out.contains("已登记委托 1：绩效评价") && out.contains(CODE_A) && out.contains("专家 1"),
        "{out}"
    );
    assert!(
        ctl.ok(&add).contains("已登记委托 1："),
        "a retry is the same"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ctl.ok(&["engagement", "list", "--agency", CODE_A, "--json"]))
            .unwrap();
    assert_eq!(listed["page"]["total_size"], 1, "recorded once");
    assert_eq!(listed["engagements"][0]["kind"], "evaluation");
    assert_eq!(listed["engagements"][0]["expert_ids"][0], 1);
    let table = ctl.ok(&["engagement", "list", "--expert", "1"]);
    assert!(
        table.contains("未评分") && table.contains("共 1 项"),
        "{table}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ctl.ok(&["engagement", "show", "1", "--json"])).unwrap();
    assert_eq!(
        (shown["version"].as_i64(), shown["rated"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(shown["score"].is_null());

    // Rate it: 90.5×40% + 80×60% = 84.2, exactly; the agency's rating follows.
    let rate = |version: &str| {
        vec![
            "engagement",
            "rate",
            "1",
            "--expected-version",
            version,
            "--score",
            "QUALITY=90.5",
            "--score",
            "TIMELINESS=80",
            "--score",
            "CONDUCT=80",
            "--score",
            "SATISFACTION=80",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    let args = rate("1");
    let out = ctl.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.contains("已评分委托 1：得分 84.2（2026年度全国默认规则），版本 2"),
        "{out}"
    );
    assert!(out.contains(&format!("机构 {CODE_A} 评分后")), "{out}");
    for line in [
        ("信用等级 grade", "B"),
        ("综合得分 final score", "84.2"),
        ("处理 action", "无（none）"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(line.0) && l.ends_with(line.1)),
            "{line:?} in {out}"
        );
    }
    // A stale version is refused.
    let run = ctl.fails(
        "finance_admin",
        &rate("1").iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(run.stderr.contains("Aborted"), "{}", run.stderr);
    // A malformed score never reaches the server.
    let run = ctl.run_as(
        "finance_admin",
        &[
            "engagement",
            "rate",
            "1",
            "--expected-version",
            "2",
            "--score",
            "QUALITY=9e1",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);

    // Explain: every number behind the grade.
    let out = ctl.ok(&["engagement", "explain", "--agency", CODE_A]);
    for expected in [
        "委托编号",
        "2026-03-31",
        "84.2",
        "库均值 pool mean",
        "收缩系数 shrinkage k",
        "2026年度全国默认规则",
    ] {
        assert!(out.contains(expected), "{expected} in {out}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("信用等级 grade") && l.ends_with(" B")),
        "{out}"
    );
    let explained: serde_json::Value = serde_json::from_str(&ctl.ok(&[
        "engagement",
        "explain",
        "--expert",
        "1",
        "--as-of",
        "2026-06-01",
        "--json",
    ]))
    .unwrap();
    assert_eq!(explained["as_of"], "2026-06-01");
    assert_eq!(explained["contributions"][0]["engagement_id"], 1);
    assert_eq!(explained["contributions"][0]["score"], "84.2");
    assert_eq!(explained["contributions"][0]["decay_weight"], "1");
    assert_eq!(explained["final_score"], "84.2");
    assert_eq!(explained["selectable"], true);
    let run = ctl.run_as(
        "finance_admin",
        &["engagement", "explain", "--agency", CODE_A, "--expert", "1"],
    );
    assert_eq!(run.code, 2, "one of --agency / --expert: {}", run.stderr);

    // Goal setting is the unit's own duty: the server refuses it, naming the field.
    let run = ctl.fails(
        "finance_admin",
        &[
            "engagement",
            "add",
            "--commissioner",
            "D01",
            "--evaluated-party",
            "U0101",
            "--kind",
            "goal-setting",
            "--agency",
            CODE_A,
            "--started-on",
            "2026-01-10",
            "--ended-on",
            "2026-03-31",
        ],
    );
    assert!(run.stderr.starts_with("错误: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("原因 reason: KIND_NOT_COMMISSIONABLE"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("字段 kind: "), "{}", run.stderr);

    // Draw two of the three LAW experts for a goal review.
    let drawn: serde_json::Value = serde_json::from_str(&ctl.ok(&[
        "draw",
        "experts",
        "--task",
        "GR-2026-001",
        "--field",
        "LAW",
        "--count",
        "2",
        "--evaluated-party",
        "U0101",
        "--kind",
        "goal-review",
        "--json",
    ]))
    .unwrap();
    assert_eq!(drawn["eligible"], 3);
    assert_eq!(drawn["version"], 1);
    assert_eq!(drawn["kind"], "goal_review");
    assert_eq!(drawn["candidates_fingerprint"].as_str().unwrap().len(), 64);
    let draw_id = drawn["id"].as_i64().unwrap().to_string();
    let picked: Vec<i64> = drawn["drawn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["round"], 0);
            assert_eq!(m["answer"], "pending");
            m["expert_id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(picked.len(), 2);
    let left = (1..=3).find(|e| !picked.contains(e)).unwrap();
    let shown = ctl.ok(&["draw", "show", &draw_id]);
    assert!(
        shown.contains("待确认") && shown.contains(drawn["seed"].as_str().unwrap()),
        "{shown}"
    );

    // The first declines: the one left is drawn in round 1.
    let declined = picked[0].to_string();
    let out = ctl.ok(&[
        "draw",
        "respond",
        &draw_id,
        "--expected-version",
        "1",
        "--expert",
        &declined,
        "--decline",
        "--reason",
        "时间冲突",
    ]);
    assert!(
        out.contains(&format!("已记录专家 {declined} 的答复：不参加")),
        "{out}"
    );
    assert!(out.contains(&format!("第 1 轮补抽: 专家 {left}")), "{out}");
    assert!(out.contains("时间冲突"), "{out}");

    // Replay from the record: it matches.
    let out = ctl.ok(&["draw", "replay", &draw_id]);
    assert!(
        out.contains("核对结果 matches") && out.contains("一致 yes"),
        "{out}"
    );
    let replay: serde_json::Value =
        serde_json::from_str(&ctl.ok(&["draw", "replay", &draw_id, "--json"])).unwrap();
    assert_eq!(replay["matches"], true);
    assert_eq!(
        replay["candidates_fingerprint"],
        drawn["candidates_fingerprint"]
    );
    assert_eq!(replay["replayed"].as_array().unwrap().len(), 2);
    assert_eq!(replay["replayed"][1]["picked"][0], left);
    assert_eq!(replay["draw"]["version"], 2);

    // Statistics as the province reads them.
    let stats: serde_json::Value = serde_json::from_str(&ctl.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["as_of"], "2026-06-01");
    assert_eq!(stats["mof_div_code"], REGION);
    assert_eq!(stats["rules"], "2026年度全国默认规则");
    let one = |k: &str, n: i64| vec![(k.to_owned(), n)];
    assert_eq!(
        counts(&stats, "agencies_by_type"),
        one("accounting_firm", 1)
    );
    assert_eq!(counts(&stats, "agencies_by_status"), one("admitted", 1));
    assert_eq!(counts(&stats, "agency_grades"), one("B", 1));
    assert_eq!(counts(&stats, "experts_by_field"), one("LAW", 3));
    assert_eq!(counts(&stats, "experts_by_status"), one("active", 3));
    assert_eq!(
        counts(&stats, "engagements_by_year_and_kind"),
        one("2026/evaluation", 1)
    );
    let table = ctl.ok(&["stats"]);
    assert!(
        table.contains("会计师事务所") && table.contains("2026年 绩效评价"),
        "{table}"
    );

    // A second commission, withdrawn (撤销委托): shown with its reason, never rated, not counted.
    let mut second = add.to_vec();
    *second.last_mut().unwrap() = "cli-engagement-2";
    assert!(ctl.ok(&second).contains("已登记委托 2："));
    let cancel = |version: &'static str| {
        [
            "engagement",
            "cancel",
            "2",
            "--expected-version",
            version,
            "--reason",
            "机构谢绝委托，已由替补机构承接",
        ]
    };
    let run = ctl.fails("finance_admin", &cancel("9"));
    assert!(run.stderr.contains("Aborted"), "{}", run.stderr);
    let out = ctl.ok(&cancel("1"));
    assert!(
        out.contains("已撤销委托 2：机构谢绝委托，已由替补机构承接，版本 2"),
        "{out}"
    );
    let shown = ctl.ok(&["engagement", "show", "2"]);
    assert!(
        shown.contains("已撤销，不评分") && shown.contains("机构谢绝委托，已由替补机构承接"),
        "{shown}"
    );
    let run = ctl.fails("finance_admin", &cancel("2"));
    assert!(
        run.stderr.contains("原因 reason: ENGAGEMENT_CANCELLED"),
        "{}",
        run.stderr
    );
    let stats: serde_json::Value = serde_json::from_str(&ctl.ok(&["stats", "--json"])).unwrap();
    assert_eq!(
        counts(&stats, "engagements_by_year_and_kind"),
        one("2026/evaluation", 1)
    );
}

/// An agency admitted in batch 1 for evaluations, with a 主评人 (so eligible for evaluation
/// draws), as an `agency add --file` file.
fn evaluation_agency(dir: &Path, code: &str, name: &str) -> String {
    write_json(
        dir,
        &format!("agency-{code}.json"),
        &serde_json::json!({
            "credit_code": code,
            "name": name,
            "type": "accounting_firm",
            "legal_representative": "王某",
            "lead_evaluators": [{"name": "赵某", "qualifications": ["注册会计师"]}],
            "scopes": ["evaluation"],
            "admission_batch_id": 1,
        }),
    )
}

/// The stdout of a successful command, parsed as JSON.
fn json_of(ctl: &Ctl, args: &[&str]) -> serde_json::Value {
    let out = ctl.ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
}

#[test]
fn draws_agencies_by_rating_recomputes_and_records_expert_violations_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Ctl::serve(dir.path(), Some("2026-06-01"));
    let code_b = credit_code("91140500MA0K00001");

    // Two agencies eligible for evaluations, rated 95 and 70 through `engagement rate`; one
    // LAW expert.
    ctl.ok(&[
        "batch",
        "add",
        "--name",
        "2025—2027年度第三方机构库",
        "--procurement-ref",
        "JCZC-2024-031",
        "--from",
        "2025-01-01",
        "--to",
        "2027-12-31",
    ]);
    for (code, name) in [(CODE_A, AGENCY_NAME), (code_b.as_str(), "某咨询有限公司")] {
        let file = evaluation_agency(dir.path(), code, name);
        ctl.ok(&["agency", "add", "--file", &file]);
    }
    let expert = write_json(
        dir.path(),
        "expert.json",
        &serde_json::json!({
            "name": "张专家",
            "id_number": id_number("14050219700315123"),
            "phone": "13900001111",
            "title": "senior",
            "years_in_field": 15,
            "fields": ["LAW"],
            "affiliation": "山西某大学",
        }),
    );
    assert!(
        ctl.ok(&["expert", "add", "--file", &expert])
            .contains("已登记专家 1")
    );
    for (id, code, score) in [("1", CODE_A, "95"), ("2", code_b.as_str(), "70")] {
        let out = ctl.ok(&[
            "engagement",
            "add",
            "--commissioner",
            "FIN",
            "--evaluated-party",
            "D01",
            "--kind",
            "evaluation",
            "--agency",
            code,
            "--started-on",
            "2026-01-10",
            "--ended-on",
            "2026-03-31",
        ]);
        assert!(out.contains(&format!("已登记委托 {id}：")), "{out}");
        let scores: Vec<String> = ["QUALITY", "TIMELINESS", "CONDUCT", "SATISFACTION"]
            .iter()
            .map(|c| format!("{c}={score}"))
            .collect();
        let mut rate = vec!["engagement", "rate", id, "--expected-version", "1"];
        for s in &scores {
            rate.extend(["--score", s.as_str()]);
        }
        let out = ctl.ok(&rate);
        assert!(out.contains(&format!("得分 {score}（")), "{out}");
    }
    // The 70's grade (C) warns its agency: the service's consumer of the rating applies it just
    // after the answer (docs/AGENCY.md "Ratings").
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let shown: serde_json::Value =
            serde_json::from_str(&ctl.ok(&["agency", "show", &code_b, "--json"])).unwrap();
        if shown["status"] == "warned" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never warned: {shown}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Draw one of the two, weighted by rating: the weight is the agency's rating.
    let drawn = json_of(
        &ctl,
        &[
            "draw",
            "agencies",
            "--task",
            "EV-2026-01",
            "--count",
            "1",
            "--evaluated-party",
            "D07",
            "--kind",
            "evaluation",
            "--weighted",
            "--request-id",
            "cli-agency-draw-1",
            "--json",
        ],
    );
    assert_eq!(drawn["subject"], "agencies");
    assert_eq!(drawn["weighted_by_rating"], true);
    assert_eq!(drawn["eligible"], 2);
    assert_eq!(drawn["drawn"].as_array().unwrap().len(), 0);
    let members = drawn["drawn_agencies"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (&members[0]["round"], &members[0]["answer"]),
        (&serde_json::json!(0), &serde_json::json!("pending"))
    );
    let picked = members[0]["credit_code"].as_str().unwrap().to_owned();
    let other = if picked == CODE_A {
        code_b.clone()
    } else {
        CODE_A.to_owned()
    };
    assert_eq!(drawn["rounds"][0]["picked_agencies"][0], picked.as_str());
    let rating = json_of(
        &ctl,
        &["engagement", "explain", "--agency", &picked, "--json"],
    );
    assert!(members[0]["weight"].is_string(), "a decimal is a string");
    assert_eq!(members[0]["weight"], rating["final_score"]);
    let draw_id = drawn["id"].as_i64().unwrap().to_string();
    // The same request id again is the same draw.
    let again = json_of(
        &ctl,
        &[
            "draw",
            "agencies",
            "--task",
            "EV-2026-01",
            "--count",
            "1",
            "--evaluated-party",
            "D07",
            "--kind",
            "evaluation",
            "--weighted",
            "--request-id",
            "cli-agency-draw-1",
            "--json",
        ],
    );
    assert_eq!(again["id"], drawn["id"]);

    let shown = ctl.ok(&["draw", "show", &draw_id]);
    let line = |text: &str, start: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start} in\n{text}"))
            .to_owned()
    };
    assert!(line(&shown, "抽取对象 subject").ends_with("机构 agencies"));
    assert!(line(&shown, "按评分加权 weighted").contains("是 yes"));
    let row = line(&shown, &picked);
    assert!(
        row.contains("待确认") && row.contains(rating["final_score"].as_str().unwrap()),
        "{row}"
    );

    // Exactly one respondent (usage, exit 2); an agency draw is answered by --agency.
    let both = ctl.run_as(
        "finance_admin",
        &[
            "draw",
            "respond",
            &draw_id,
            "--expected-version",
            "1",
            "--expert",
            "1",
            "--agency",
            &picked,
            "--accept",
        ],
    );
    assert_eq!(both.code, 2, "{}", both.stderr);
    let neither = ctl.run_as(
        "finance_admin",
        &[
            "draw",
            "respond",
            &draw_id,
            "--expected-version",
            "1",
            "--accept",
        ],
    );
    assert_eq!(neither.code, 2, "{}", neither.stderr);
    let run = ctl.fails(
        "finance_admin",
        &[
            "draw",
            "respond",
            &draw_id,
            "--expected-version",
            "1",
            "--expert",
            "1",
            "--accept",
        ],
    );
    assert!(
        run.stderr.contains("原因 reason: AGENCY_REQUIRED")
            && run.stderr.contains("字段 agency_credit_code: "),
        "{}",
        run.stderr
    );

    // The drawn agency declines: the other is drawn in round 1.
    let out = ctl.ok(&[
        "draw",
        "respond",
        &draw_id,
        "--expected-version",
        "1",
        "--agency",
        &picked,
        "--decline",
        "--reason",
        "人手不足",
    ]);
    assert!(
        out.contains(&format!("已记录机构 {picked} 的答复：不参加")),
        "{out}"
    );
    assert!(out.contains(&format!("第 1 轮补抽: 机构 {other}")), "{out}");
    assert!(line(&out, &picked).contains("人手不足"), "{out}");

    // The replay matches the record, round by round.
    let out = ctl.ok(&["draw", "replay", &draw_id]);
    assert!(
        line(&out, "核对结果 matches").ends_with("一致 yes"),
        "{out}"
    );
    assert!(line(&out, "抽取对象 subject").ends_with("机构 agencies"));
    assert!(
        out.lines()
            .any(|l| l.starts_with('1') && l.contains(other.as_str()) && l.ends_with('是')),
        "{out}"
    );
    let replay = json_of(&ctl, &["draw", "replay", &draw_id, "--json"]);
    assert_eq!(replay["matches"], true);
    assert_eq!(
        replay["candidates_fingerprint"],
        drawn["candidates_fingerprint"]
    );
    assert_eq!(replay["replayed"][0]["picked_agencies"][0], picked.as_str());
    assert_eq!(replay["replayed"][1]["picked_agencies"][0], other.as_str());
    assert_eq!(replay["draw"]["version"], 2);
    assert_eq!(replay["draw"]["drawn_agencies"][0]["answer"], "declined");

    // An expert's violation, recorded and listed by expert id; it is not the agency's.
    let v = json_of(
        &ctl,
        &[
            "expert",
            "violation",
            "add",
            "1",
            "--on",
            "2026-02-01",
            "--severity",
            "major",
            "--description",
            "评审中泄露评审信息",
            "--json",
        ],
    );
    assert_eq!(
        (&v["expert_id"], &v["credit_code"]),
        (&1.into(), &"".into())
    );
    assert_eq!(v["severity"], "major");
    let table = ctl.ok(&["expert", "violation", "list", "1"]);
    assert!(
        line(&table, &v["id"].to_string()).contains("评审中泄露评审信息") && table.contains("严重"),
        "{table}"
    );
    let listed = json_of(&ctl, &["expert", "violation", "list", "1", "--json"]);
    assert_eq!(listed["violations"].as_array().unwrap().len(), 1);
    assert_eq!(listed["violations"][0]["expert_id"], 1);
    let listed = json_of(&ctl, &["agency", "violation", "list", CODE_A, "--json"]);
    assert_eq!(listed["violations"], serde_json::json!([]));
    let run = ctl.fails(
        "finance_admin",
        &[
            "expert",
            "violation",
            "add",
            "99",
            "--on",
            "2026-02-01",
            "--severity",
            "minor",
            "--description",
            "x",
        ],
    );
    assert!(run.stderr.contains("NotFound"), "{}", run.stderr);

    // A major violation of the 70-rated agency after its rating: the recompute lowers it and
    // its grade acts.
    ctl.ok(&[
        "agency",
        "violation",
        "add",
        &code_b,
        "--on",
        "2026-05-01",
        "--severity",
        "major",
        "--description",
        "报告抄袭",
    ]);
    let out = ctl.ok(&["engagement", "recompute", "--request-id", "cli-recompute-1"]);
    assert_eq!(
        out.lines().next(),
        Some("已重算截至 2026-06-01 的动态评分（2026年度全国默认规则）"),
        "{out}"
    );
    // A (95, shrunk toward the pool mean) ranks first, as ExplainRating rates it.
    let a_score = json_of(
        &ctl,
        &["engagement", "explain", "--agency", CODE_A, "--json"],
    )["final_score"]
        .as_str()
        .unwrap()
        .to_owned();
    let a_row = line(&out, &format!("1     {CODE_A}  {a_score}  "));
    let b_row = line(&out, &format!("2     {code_b}"));
    assert!(a_row.contains('是') && !a_row.contains('→'), "{a_row}");
    assert!(
        b_row.contains("暂停") && b_row.contains("警告 → 暂停") && b_row.contains('否'),
        "{b_row}"
    );
    assert!(
        out.find(&b_row) < out.find("专家排名"),
        "agencies first: {out}"
    );
    // The same request id again: the same recompute, as JSON.
    let first = json_of(
        &ctl,
        &[
            "engagement",
            "recompute",
            "--request-id",
            "cli-recompute-1",
            "--json",
        ],
    );
    assert_eq!(first["as_of"], "2026-06-01");
    assert_eq!(
        (&first["agencies_rated"], &first["experts_rated"]),
        (&2.into(), &1.into())
    );
    let order: Vec<&str> = first["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agency_credit_code"].as_str().unwrap())
        .collect();
    assert_eq!(order, [CODE_A, code_b.as_str()], "best first");
    assert_eq!(first["agencies"][0]["final_score"], a_score.as_str());
    assert_eq!(first["agencies"][0]["engagements"], 1);
    let b = &first["agencies"][1];
    assert!(b["final_score"].is_string(), "{b}");
    assert_eq!(
        (&b["status_from"], &b["status_to"], &b["selectable"]),
        (&"warned".into(), &"suspended".into(), &false.into())
    );
    // The expert has no engagement but a major violation: ranked, not selectable, and a
    // warning does not change an expert's status.
    let e = &first["experts"][0];
    assert_eq!(
        (
            &e["expert_id"],
            &e["engagements"],
            &e["selectable"],
            &e["status_to"]
        ),
        (&1.into(), &0.into(), &false.into(), &"".into())
    );
    assert_eq!(first["status_changes"], 1, "only B's");
    let changed = first["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .chain(first["experts"].as_array().unwrap())
        .filter(|s| s["status_to"] != "")
        .count();
    assert_eq!(first["status_changes"], changed);
    assert!(
        line(&out, "状态变更 status changes").ends_with(&format!(" {changed}")),
        "{out}"
    );
    // A new recompute finds nothing more to change.
    let again = json_of(
        &ctl,
        &["engagement", "recompute", "--as-of", "2026-06-01", "--json"],
    );
    assert_eq!(again["status_changes"], 0);
    assert_eq!(again["agencies"][1]["final_score"], b["final_score"]);
    // A date after today is refused, naming the field.
    let run = ctl.fails(
        "finance_admin",
        &["engagement", "recompute", "--as-of", "2027-01-01"],
    );
    assert!(
        run.stderr.contains("原因 reason: AS_OF_IN_FUTURE") && run.stderr.contains("字段 as_of: "),
        "{}",
        run.stderr
    );
}

/// The headers of `expert import|export`, in the order the test writes them.
const EXPERT_HEADERS: [&str; 13] = [
    "专家编号",
    "姓名",
    "身份证号",
    "手机号",
    "职称",
    "从业年限",
    "出生日期",
    "专业领域",
    "专业领域名称",
    "工作单位",
    "工作经历",
    "关联关系",
    "状态",
];

fn expert_columns() -> Vec<pbm_xlsx::Column> {
    EXPERT_HEADERS
        .into_iter()
        .map(|header| pbm_xlsx::Column {
            header,
            required: false,
            width: 14.0,
        })
        .collect()
}

/// One expert row (no 专家编号, 出生日期, field names, employment, relations or status: import
/// does not need them).
fn expert_row(
    name: &str,
    id: &str,
    phone: &str,
    title: &str,
    years: &str,
    fields: &str,
) -> Vec<String> {
    let mut row = vec![String::new(); EXPERT_HEADERS.len()];
    for (i, text) in [
        (1, name),
        (2, id),
        (3, phone),
        (4, title),
        (5, years),
        (7, fields),
        (9, "山西某大学"),
    ] {
        row[i] = text.to_owned();
    }
    row
}

fn write_experts(dir: &Path, name: &str, rows: &[Vec<String>]) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        pbm_xlsx::write_table("专家库", &expert_columns(), rows).unwrap(),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// Every expert's `spec`, birth date and status as `expert list --all --json` prints them.
fn expert_specs(ctl: &Ctl) -> Vec<serde_json::Value> {
    json_of(ctl, &["expert", "list", "--all", "--json"])["experts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::json!([e["spec"], e["birth_date"], e["status"]]))
        .collect()
}

#[test]
fn imports_and_exports_experts_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = Ctl::serve(dir.path(), Some("2026-06-01"));
    let (id_a, id_b, id_c) = (
        id_number("14050219700315123"),
        id_number("14052219800101456"),
        id_number("14050219650720789"),
    );
    let mut with_lists = expert_row("张专家", &id_a, "13900001111", "副高级", "15", "LAW、ACCT");
    with_lists[10] =
        r#"[{"organization":"山西某大学","position":"教授","from":"2005-09-01","to":""}]"#.into();
    with_lists[11] = r#"[{"party_code":"DEPT-WATER","kind":"任职","from":"2018-01-01","to":"2020-12-31","note":"借调"}]"#.into();
    let good = vec![
        with_lists,
        expert_row("王专家", &id_b, "13900002222", "中级", "10", "审计"),
        expert_row("赵专家", &id_c, "13900003333", "full_senior", "30", "IT"),
    ];

    // One bad row among good ones: every bad cell reported, nothing registered, exit 1.
    let wrong_check = format!(
        "{}{}",
        &id_c[..17],
        if id_c.ends_with('0') { '1' } else { '0' }
    );
    let mut bad_rows = good.clone();
    let mut bad_row = expert_row(
        "钱专家",
        &wrong_check,
        "13900004444",
        "教授",
        "十",
        "LAW、MAGIC",
    );
    bad_row[10] = r#"[{"organization":"某单位","from":"2020-13-01"}]"#.into();
    bad_rows.push(bad_row);
    let bad = write_experts(dir.path(), "bad-experts.xlsx", &bad_rows);
    let run = ctl.fails("finance_admin", &["expert", "import", &bad]);
    for expected in [
        "第5行「身份证号」: 身份证号「140***********",
        "校验码错误",
        "第5行「职称」: 职称「教授」无效，应为：初级、中级、副高级、正高级",
        "第5行「从业年限」",
        "第5行「专业领域」: 专业领域「MAGIC」无效",
        "第5行「工作经历」: [0].from: 日期「2020-13-01」无效",
        "有 5 处问题，未导入任何专家",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    assert!(
        !run.stderr.contains(&wrong_check),
        "ID numbers are masked in messages"
    );
    assert!(expert_specs(&ctl).is_empty(), "nothing was registered");

    // The good file registers every row; running it again registers nothing more.
    let good_file = write_experts(dir.path(), "experts.xlsx", &good);
    let out = ctl.ok(&["expert", "import", &good_file]);
    assert!(out.contains("新增 3，已存在 0，失败 0"), "{out}");
    assert!(
        out.contains("140***********") && !out.contains(&id_a),
        "{out}"
    );
    let again = json_of(&ctl, &["expert", "import", &good_file, "--json"]);
    assert_eq!(
        (
            &again["created"],
            &again["already_existed"],
            &again["failed"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(3),
            &serde_json::json!(0)
        ),
        "{again}"
    );
    assert_eq!(again["rows"][0]["expert_id"], 1);
    assert!(
        again["rows"][0]["note"]
            .as_str()
            .unwrap()
            .contains("expert-import-"),
        "{again}"
    );
    let pool = expert_specs(&ctl);
    assert_eq!(pool.len(), 3, "no duplicates");
    assert_eq!(pool[0][0]["fields"], serde_json::json!(["LAW", "ACCT"]));
    assert_eq!(pool[0][0]["relations"][0]["kind"], "worked_for");
    assert_eq!(pool[1][0]["fields"], serde_json::json!(["AUDIT"]));
    assert_eq!(pool[2][0]["title"], "full_senior");

    // Another file: a person already in the pool (the server's EXPERT_EXISTS) and one the
    // entry rules refuse (初级) — reported row by row, exit 1.
    let mut known = good[1].clone();
    known[9] = "晋城某研究院".into();
    let junior = expert_row(
        "孙专家",
        &id_number("14050219900101234"),
        "13900005555",
        "初级",
        "20",
        "LAW",
    );
    let mixed = write_experts(dir.path(), "mixed.xlsx", &[known, junior]);
    let run = ctl.run_as("finance_admin", &["expert", "import", &mixed, "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["rows"][0]["result"], "already_existed");
    assert_eq!(report["rows"][0]["reason"], "EXPERT_EXISTS");
    assert_eq!(report["rows"][0]["expert_id"], 2);
    assert_eq!(report["rows"][1]["result"], "failed");
    assert_eq!(report["rows"][1]["reason"], "ENTRY_RULES_NOT_MET");
    assert!(
        report["rows"][1]["error"]
            .as_str()
            .unwrap()
            .contains("不符合专家入库条件"),
        "{report}"
    );
    let run = ctl.fails("finance_admin", &["expert", "import", &mixed]);
    assert!(
        run.stdout.contains("EXPERT_EXISTS") && run.stdout.contains("新增 0，已存在 1，失败 1"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("1 行导入失败"), "{}", run.stderr);
    assert_eq!(expert_specs(&ctl).len(), 3);

    // Export: every expert, masked, with field names and the lists as JSON.
    ctl.ok(&[
        "expert",
        "status",
        "3",
        "under-review",
        "--reason",
        "年度考评",
    ]);
    let exported = dir.path().join("export.xlsx");
    let out = ctl.ok(&["expert", "export", exported.to_str().unwrap()]);
    assert!(out.contains("已导出 3 位专家"), "{out}");
    let rows = pbm_xlsx::read_table(&std::fs::read(&exported).unwrap(), &expert_columns()).unwrap();
    assert_eq!(rows.len(), 3);
    let first = &rows[0].cells;
    assert_eq!(first[0], "1");
    assert_eq!(first[2], format!("140***********{}", &id_a[14..]));
    assert_eq!(first[3], "139****1111");
    assert_eq!(first[4], "副高级");
    assert_eq!(first[6], "", "no birth date beside the masked 身份证号");
    assert_eq!(first[7], "LAW、ACCT");
    assert_eq!(first[8], "法律、财务会计");
    assert!(
        first[10].contains("\"organization\":\"山西某大学\""),
        "{}",
        first[10]
    );
    assert!(first[11].contains("\"worked_for\""), "{}", first[11]);
    assert_eq!(rows[2].cells[12], "考评");
    for row in &rows {
        for id in [&id_a, &id_b, &id_c] {
            assert!(!row.cells.iter().any(|c| c.contains(id.as_str())), "masked");
        }
    }

    // Read back into the same server: every masked row matches its expert; nothing is sent.
    let out = ctl.ok(&["expert", "import", exported.to_str().unwrap()]);
    assert!(out.contains("新增 0，已存在 3，失败 0"), "{out}");
    assert_eq!(expert_specs(&ctl).len(), 3);

    // Into a fresh server: masked rows cannot register anyone; with the full numbers filled in
    // (the export's only gap), the pool is rebuilt as it was.
    let dir2 = tempfile::tempdir().unwrap();
    let fresh = Ctl::serve(dir2.path(), Some("2026-06-01"));
    let run = fresh.fails(
        "finance_admin",
        &["expert", "import", exported.to_str().unwrap()],
    );
    assert!(
        run.stdout.contains("新增 0，已存在 0，失败 3") && run.stdout.contains("已脱敏"),
        "{}",
        run.stdout
    );
    assert!(expert_specs(&fresh).is_empty());
    let filled: Vec<Vec<String>> = rows
        .iter()
        .zip([
            (&id_a, "13900001111"),
            (&id_b, "13900002222"),
            (&id_c, "13900003333"),
        ])
        .map(|(row, (id, phone))| {
            let mut cells = row.cells.clone();
            cells[2] = id.to_string();
            cells[3] = phone.to_owned();
            cells
        })
        .collect();
    let filled = write_experts(dir2.path(), "filled.xlsx", &filled);
    let out = fresh.ok(&["expert", "import", &filled]);
    assert!(out.contains("新增 3，已存在 0，失败 0"), "{out}");
    let (before, after) = (expert_specs(&ctl), expert_specs(&fresh));
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a[0], b[0], "the same spec");
        assert_eq!(a[1], b[1], "the same birth date");
    }
    // 状态 is not imported: everyone enters the new pool as 入库.
    assert_eq!(before[2][2], "under_review");
    assert_eq!(after[2][2], "active");
}
