//! `pbm-load seed` and `pbm-load import`: a realistic indicator library as .xlsx, imported with
//! `ImportIndicators`.
//!
//! Names combine a scope (全市, 农村, …), a subject (饮水, 道路, 学生, 医疗, 就业, 农田, 垃圾处理,
//! …) and a measure fitting the frame node (数量, 覆盖率, 完成率, 达标率, 受益人口数量, 满意度, …),
//! so a search for any subject or measure has thousands of partial matches in a 100,000-row
//! library, and about a third of the explanations mention a second subject (explanation-only
//! matches). Rows are deterministic for a given `--rng-seed`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_proto::indicator::v1::{ImportIndicatorsRequest, ImportIndicatorsResponse};
use pbm_xlsx::Column;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tonic::transport::Channel;

use crate::run::{code_name, connect};

/// Largest gRPC message either way (the server accepts 64 MiB imports).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

const fn col(header: &'static str) -> Column {
    Column {
        header,
        required: false,
        width: 14.0,
    }
}

/// The first 24 columns of services/indicator/src/convert/excel.rs `COLUMNS`, in the same order
/// (the 25th, 版本, is export-only). Import matches columns by header text.
const COLUMNS: [Column; 24] = [
    col("指标编码"),
    col("预算年度"),
    col("一级指标"),
    col("二级指标"),
    col("三级指标名称"),
    col("指标类型"),
    col("所属部门"),
    col("行业标签"),
    col("领域标签"),
    col("层次标签"),
    col("指标方向"),
    col("计量单位"),
    col("指标解释"),
    col("计算公式"),
    col("评分规则"),
    col("指标值设定依据"),
    col("设定依据说明"),
    col("参考指标值"),
    col("上年值"),
    col("前年值"),
    col("是否固化"),
    col("启用起始年度"),
    col("启用截止年度"),
    col("状态"),
];

/// Where a measure may go, 一级指标 / 二级指标 of the national default frame
/// (services/indicator/src/domain/frame.rs), what the text says it reflects, and its measures:
/// (measure, unit, direction, reference value).
struct Node {
    level1: &'static str,
    level2: &'static str,
    aspect: &'static str,
    measures: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

const NODES: &[Node] = &[
    Node {
        level1: "产出指标",
        level2: "数量指标",
        aspect: "产出数量",
        measures: &[
            ("数量", "个", "≥", "120"),
            ("人数", "人", "≥", "3500"),
            ("覆盖人数", "人", "≥", "20000"),
            ("建设面积", "亩", "≥", "800"),
            ("建设里程", "公里", "≥", "45"),
            ("服务次数", "次", "≥", "600"),
        ],
    },
    Node {
        level1: "产出指标",
        level2: "质量指标",
        aspect: "建设质量",
        measures: &[
            ("达标率", "%", "≥", "95"),
            ("合格率", "%", "≥", "98"),
            ("覆盖率", "%", "≥", "90"),
        ],
    },
    Node {
        level1: "产出指标",
        level2: "时效指标",
        aspect: "实施进度",
        measures: &[
            ("完成率", "%", "≥", "100"),
            ("按时完成率", "%", "≥", "95"),
            ("资金支付及时率", "%", "≥", "90"),
        ],
    },
    Node {
        level1: "产出指标",
        level2: "成本指标",
        aspect: "成本控制",
        measures: &[
            ("成本控制率", "%", "≤", "100"),
            ("单位建设成本", "元", "≤", "1500"),
        ],
    },
    Node {
        level1: "效益指标",
        level2: "经济效益指标",
        aspect: "经济效益",
        measures: &[("带动增收金额", "万元", "≥", "300")],
    },
    Node {
        level1: "效益指标",
        level2: "社会效益指标",
        aspect: "社会效益",
        measures: &[
            ("受益人口数量", "人", "≥", "50000"),
            ("受益率", "%", "≥", "85"),
        ],
    },
    Node {
        level1: "效益指标",
        level2: "生态效益指标",
        aspect: "生态效益",
        measures: &[("节能减排率", "%", "≥", "10")],
    },
    Node {
        level1: "效益指标",
        level2: "可持续影响指标",
        aspect: "可持续影响",
        measures: &[("长效管护机制健全率", "%", "≥", "100")],
    },
    Node {
        level1: "满意度指标",
        level2: "服务对象满意度指标",
        aspect: "服务对象满意度",
        measures: &[("满意度", "%", "≥", "90"), ("群众满意度", "%", "≥", "85")],
    },
];

/// (subject, industry tag, field tag).
const SUBJECTS: &[(&str, &str, &str)] = &[
    ("饮水", "水利", "民生保障"),
    ("农村饮水安全", "水利", "民生保障"),
    ("水利工程", "水利", "基础设施"),
    ("农田灌溉", "农业", "乡村振兴"),
    ("道路", "交通", "基础设施"),
    ("农村公路", "交通", "基础设施"),
    ("公共交通", "交通", "民生保障"),
    ("学生", "教育", "教育"),
    ("义务教育学生资助", "教育", "教育"),
    ("学生营养餐", "教育", "教育"),
    ("校舍改造", "教育", "基础设施"),
    ("医疗", "卫生健康", "民生保障"),
    ("基层医疗服务", "卫生健康", "民生保障"),
    ("疫苗接种", "卫生健康", "公共卫生"),
    ("就业", "人力资源社会保障", "民生保障"),
    ("职业技能培训", "人力资源社会保障", "民生保障"),
    ("高校毕业生就业", "人力资源社会保障", "民生保障"),
    ("农田", "农业", "乡村振兴"),
    ("高标准农田", "农业", "乡村振兴"),
    ("垃圾处理", "生态环境", "生态环境"),
    ("生活垃圾分类", "生态环境", "生态环境"),
    ("污水处理", "生态环境", "生态环境"),
    ("空气质量监测", "生态环境", "生态环境"),
    ("养老服务", "民政", "民生保障"),
    ("困难群众救助", "民政", "民生保障"),
    ("保障性住房", "住房城乡建设", "民生保障"),
    ("城市绿化", "住房城乡建设", "生态环境"),
    ("集中供暖", "住房城乡建设", "民生保障"),
    ("公共文化服务", "文化旅游", "文化"),
    ("全民健身", "体育", "文化"),
    ("森林防火", "林业草原", "安全生产"),
    ("食品安全抽检", "市场监管", "公共安全"),
];

const SCOPES: &[&str] = &[
    "",
    "全市",
    "市本级",
    "县域",
    "乡镇",
    "农村",
    "城区",
    "社区",
    "重点",
    "新增",
    "年度",
];
const LEVELS: &[&str] = &["市级", "县级", "乡镇级"];
const STANDARDS: &[&str] = &["计划标准", "行业标准", "历史标准", "其他"];

/// Generates `count` rows with codes `{prefix}{n:06}` (n from 1).
pub fn rows(count: usize, prefix: &str, fiscal_year: i32, rng_seed: u64) -> Vec<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    (1..=count)
        .map(|n| {
            let node = NODES.choose(&mut rng).expect("nodes");
            let &(measure, unit, direction, reference) =
                node.measures.choose(&mut rng).expect("measures");
            let &(subject, industry, field) = SUBJECTS.choose(&mut rng).expect("subjects");
            let scope = SCOPES.choose(&mut rng).expect("scopes");
            let name = format!("{scope}{subject}{measure}");
            let mut explanation = format!(
                "反映{scope}{subject}项目{measure}情况，用于衡量项目{}。",
                node.aspect
            );
            if rng.gen_bool(0.35) {
                let &(other, _, _) = SUBJECTS.choose(&mut rng).expect("subjects");
                explanation.push_str(&format!("统筹考虑{other}等相关工作。"));
            }
            let formula = if unit == "%" {
                format!("{measure}=实际完成值/计划值×100%")
            } else {
                format!("统计期内{subject}{measure}累计值")
            };
            let last_year = if unit == "%" {
                format!("{}.{}", rng.gen_range(80..100), rng.gen_range(0..10))
            } else {
                rng.gen_range(10..100_000).to_string()
            };
            vec![
                format!("{prefix}{n:06}"),
                fiscal_year.to_string(),
                node.level1.to_owned(),
                node.level2.to_owned(),
                name,
                "共性".to_owned(),
                String::new(),
                industry.to_owned(),
                field.to_owned(),
                LEVELS.choose(&mut rng).expect("levels").to_string(),
                direction.to_owned(),
                unit.to_owned(),
                explanation,
                formula,
                "完成指标值得满分；每低于指标值1个百分点扣0.5分，扣完为止".to_owned(),
                STANDARDS.choose(&mut rng).expect("standards").to_string(),
                "依据年度工作计划和行业标准确定".to_owned(),
                reference.to_owned(),
                last_year,
                String::new(),
                "否".to_owned(),
                fiscal_year.to_string(),
                String::new(),
                "启用".to_owned(),
            ]
        })
        .collect()
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Server URL, e.g. http://127.0.0.1:50051 (not needed with --write-xlsx).
    #[arg(long)]
    target: Option<String>,
    #[command(flatten)]
    tls: crate::run::TlsArgs,
    /// Bearer token of a finance_admin (`pbm token --role finance_admin`).
    #[arg(long, env = "PBM_TOKEN")]
    token: Option<String>,
    /// Indicators to generate.
    #[arg(long, default_value_t = 100_000)]
    count: usize,
    /// Fiscal year of every indicator (its frame must exist; default: the current year, which
    /// `pbm serve` seeds).
    #[arg(long)]
    fiscal_year: Option<i32>,
    /// Code prefix: codes are {prefix}{n:06}.
    #[arg(long, default_value = "BM")]
    code_prefix: String,
    /// Rows per ImportIndicators call.
    #[arg(long, default_value_t = 10_000)]
    batch_size: usize,
    /// Seed of the random choices (same seed, same library).
    #[arg(long, default_value_t = 42)]
    rng_seed: u64,
    /// Only write the workbook to this file; import nothing.
    #[arg(long)]
    write_xlsx: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Server URL, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    target: String,
    #[command(flatten)]
    tls: crate::run::TlsArgs,
    /// Bearer token of a finance_admin.
    #[arg(long, env = "PBM_TOKEN")]
    token: String,
    /// The .xlsx file to import.
    #[arg(long)]
    file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn client(channel: Channel) -> IndicatorServiceClient<Channel> {
    IndicatorServiceClient::new(channel)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
}

/// One ImportIndicators call; the elapsed time covers sending the workbook and the server's
/// validation, write and index update.
async fn import_once(
    client: &mut IndicatorServiceClient<Channel>,
    token: &str,
    workbook: Vec<u8>,
) -> Result<(ImportIndicatorsResponse, Duration), tonic::Status> {
    let request_id = format!(
        "pbm-load-{}-{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        rand::random::<u32>()
    );
    let mut request = tonic::Request::new(ImportIndicatorsRequest {
        request_id,
        workbook,
        validate_only: false,
    });
    let auth = format!("Bearer {token}")
        .parse()
        .map_err(|_| tonic::Status::invalid_argument("--token is not a valid header value"))?;
    request.metadata_mut().insert("authorization", auth);
    let start = Instant::now();
    let response = client.import_indicators(request).await?.into_inner();
    Ok((response, start.elapsed()))
}

fn describe(status: &tonic::Status) -> String {
    format!("{}: {}", code_name(status.code()), status.message())
}

/// `pbm-load seed`. Returns false when an import was refused.
pub async fn seed(args: SeedArgs) -> anyhow::Result<bool> {
    let year = args
        .fiscal_year
        .unwrap_or_else(|| chrono::Datelike::year(&chrono::Utc::now()));
    anyhow::ensure!(
        args.count > 0 && args.batch_size > 0,
        "--count and --batch-size must be positive"
    );
    let started = Instant::now();
    let all = rows(args.count, &args.code_prefix, year, args.rng_seed);
    if let Some(path) = &args.write_xlsx {
        let bytes = pbm_xlsx::write_table("绩效指标库", &COLUMNS, &all)?;
        std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "wrote {} rows ({} bytes) to {}",
            all.len(),
            bytes.len(),
            path.display()
        );
        return Ok(true);
    }
    let target = args
        .target
        .as_deref()
        .context("--target is required unless --write-xlsx is given")?;
    let token = args
        .token
        .as_deref()
        .context("--token is required unless --write-xlsx is given")?;
    let mut client = client(connect(target, 1, &args.tls).await?.remove(0));
    let mut created = 0;
    for (i, batch) in all.chunks(args.batch_size).enumerate() {
        let workbook = pbm_xlsx::write_table("绩效指标库", &COLUMNS, batch)?;
        match import_once(&mut client, token, workbook).await {
            Ok((r, elapsed)) => {
                created += r.created;
                println!(
                    "batch {:>3}: {} rows in {:.2} s (created {}, updated {}, unchanged {})",
                    i + 1,
                    r.rows,
                    elapsed.as_secs_f64(),
                    r.created,
                    r.updated,
                    r.unchanged
                );
            }
            Err(status) => {
                eprintln!("batch {}: import refused: {}", i + 1, describe(&status));
                return Ok(false);
            }
        }
    }
    println!(
        "seeded {} indicators ({created} new) in {:.1} s",
        all.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}

/// `pbm-load import`. Returns false when the import was refused.
pub async fn import(args: ImportArgs) -> anyhow::Result<bool> {
    let workbook = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let bytes = workbook.len();
    let mut client = client(connect(&args.target, 1, &args.tls).await?.remove(0));
    let (ok, report) = match import_once(&mut client, &args.token, workbook).await {
        Ok((r, elapsed)) => (
            true,
            serde_json::json!({
                "file": args.file.display().to_string(),
                "bytes": bytes,
                "status": "OK",
                "elapsed_secs": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                "rows": r.rows,
                "created": r.created,
                "updated": r.updated,
                "unchanged": r.unchanged,
            }),
        ),
        Err(status) => (
            false,
            serde_json::json!({
                "file": args.file.display().to_string(),
                "bytes": bytes,
                "status": code_name(status.code()),
                "message": status.message(),
            }),
        ),
    };
    if args.json {
        println!("{report}");
    } else if ok {
        println!(
            "imported {} ({} bytes): {} rows in {} s (created {}, updated {}, unchanged {})",
            report["file"].as_str().unwrap_or_default(),
            bytes,
            report["rows"],
            report["elapsed_secs"],
            report["created"],
            report["updated"],
            report["unchanged"]
        );
    } else {
        eprintln!(
            "import refused: {}",
            report["message"].as_str().unwrap_or_default()
        );
    }
    Ok(ok)
}
