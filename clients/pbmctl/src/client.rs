//! The connection to the server: global options, the bearer token (given, or minted with the
//! development key exactly as `pbm token` does), request ids, and how failures are reported.

use std::path::PathBuf;
use std::time::Duration;

use pbm_auth::{Claims, Role};
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_proto::audit::v1::audit_service_client::AuditServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// Largest response accepted (a page of 500 agencies is far below).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

#[derive(clap::Args, Debug)]
#[command(next_help_heading = "全局选项 / Global options")]
pub struct GlobalArgs {
    /// 服务器地址 / gRPC server URL.
    #[arg(
        long,
        global = true,
        env = "PBM_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,

    /// 访问令牌（`pbm token` 打印的令牌）/ Bearer token, e.g. from `pbm token`.
    #[arg(long, global = true, env = "PBM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// 开发用：用 --data-dir 中的开发密钥签发该角色的令牌（同 `pbm token`，优先于 --token）/
    /// Development: mint a token for ROLE with the development key in --data-dir, as
    /// `pbm token` does (takes precedence over --token). finance_admin, auditor, province,
    /// agency (with --dev-agency), expert (with --dev-expert), public.
    #[arg(long, global = true, value_name = "ROLE")]
    pub dev_role: Option<Role>,

    /// 开发用：agency 角色的统一社会信用代码 / Agency id for --dev-role agency.
    #[arg(long, global = true, value_name = "CREDIT_CODE")]
    pub dev_agency: Option<String>,

    /// 开发用：expert 角色的专家编号 / Expert id for --dev-role expert.
    #[arg(long, global = true, value_name = "ID")]
    pub dev_expert: Option<String>,

    /// 开发密钥所在的数据目录（同 `pbm serve --data-dir`）/ Data directory holding the
    /// development key (the server's --data-dir).
    #[arg(long, global = true, env = "PBM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// 令牌的财政区划代码 / Region (财政区划) of the minted token.
    #[arg(
        long,
        global = true,
        env = "PBM_MOF_DIV_CODE",
        default_value = "140500"
    )]
    pub mof_div_code: String,

    /// 以 JSON 输出（供脚本使用）/ Print the response as JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,

    /// 每个请求的超时秒数 / Per-request timeout in seconds.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    pub timeout_secs: u64,

    /// https:// 服务器所信任的 CA 证书（PEM）/ PEM CA trusted for an https:// --server.
    #[arg(long, global = true, env = "PBM_TLS_CA", value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,

    /// 双向 TLS 的客户端证书（PEM）/ PEM client certificate, for a server requiring mutual TLS.
    #[arg(long, global = true, env = "PBM_TLS_CLIENT_CERT", value_name = "PEM")]
    pub tls_client_cert: Option<PathBuf>,

    /// 客户端证书的私钥（PEM）/ PEM private key of --tls-client-cert.
    #[arg(long, global = true, env = "PBM_TLS_CLIENT_KEY", value_name = "PEM")]
    pub tls_client_key: Option<PathBuf>,
}

/// Why a command did not succeed, and so the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Wrong use of the command line (exit 2).
    Usage(String),
    /// The server refused or failed the call (exit 1).
    Status(tonic::Status),
    /// A mutating call whose outcome is unknown (timeout, lost connection): the request id is
    /// printed so that the same call can be retried safely with `--request-id` (exit 1).
    Unsettled {
        status: tonic::Status,
        request_id: String,
    },
    /// The server could not be reached (exit 1).
    Connect { server: String, detail: String },
    /// Any other error, already phrased for the user (exit 1).
    Message(String),
    /// The problems were already printed (exit 1).
    Reported,
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        Failure::Status(status)
    }
}

pub type Outcome<T = ()> = Result<T, Failure>;

pub fn fail<T>(message: impl Into<String>) -> Outcome<T> {
    Err(Failure::Message(message.into()))
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            _ => 1,
        }
    }

    /// Prints the failure to stderr: `错误: <message>`, then the reason code and each field
    /// violation of the status details.
    pub fn report(&self, server: &str) {
        match self {
            Failure::Usage(m) => eprintln!("错误: {m}\n（pbmctl --help 查看用法）"),
            Failure::Message(m) => eprintln!("错误: {m}"),
            Failure::Reported => {}
            Failure::Connect { server, detail } => eprintln!(
                "错误: 无法连接服务器 {server}（{detail}）\n\
                 请确认服务器正在运行（pbm serve），或用 --server / PBM_SERVER 指定地址"
            ),
            Failure::Status(status) => eprint!("{}", describe_status(status, server)),
            Failure::Unsettled { status, request_id } => {
                eprint!("{}", describe_status(status, server));
                eprintln!(
                    "  请求编号 request_id: {request_id}\n  \
                     不确定服务器是否已执行；重试时加 --request-id {request_id}，\
                     已执行的请求只返回第一次的结果，不会重复执行"
                );
            }
        }
    }
}

/// For a mutating call sent with `request_id`: a refusal as is, but an unknown outcome
/// (deadline, unavailable, cancelled, unknown) as [`Failure::Unsettled`], naming the request id
/// to retry with.
pub fn unsettled(request_id: &str) -> impl FnOnce(tonic::Status) -> Failure + '_ {
    move |status| match status.code() {
        tonic::Code::DeadlineExceeded
        | tonic::Code::Unavailable
        | tonic::Code::Cancelled
        | tonic::Code::Unknown => Failure::Unsettled {
            status,
            request_id: request_id.to_owned(),
        },
        _ => Failure::Status(status),
    }
}

/// The text printed for a refused call.
pub fn describe_status(status: &tonic::Status, server: &str) -> String {
    let mut out = format!("错误: {}\n", status_message(status));
    out.push_str(&format!("  gRPC: {:?}\n", status.code()));
    if let Some(info) = status.get_details_error_info() {
        out.push_str(&format!("  原因 reason: {}\n", info.reason));
    }
    let mut fields: Vec<(String, String)> = status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        fields = status
            .get_details_precondition_failure()
            .map(|p| {
                p.violations
                    .into_iter()
                    .map(|v| (v.subject, v.description))
                    .collect()
            })
            .unwrap_or_default();
    }
    for (field, description) in fields {
        out.push_str(&format!("  字段 {field}: {description}\n"));
    }
    match status.code() {
        tonic::Code::Unavailable => out.push_str(&format!(
            "  服务器 {server} 不可用，请确认它正在运行（pbm serve）\n"
        )),
        tonic::Code::DeadlineExceeded => {
            out.push_str("  请求超时，可用 --timeout-secs 延长\n");
        }
        tonic::Code::Unauthenticated => out.push_str(
            "  令牌无效或已过期：用 --token 传入有效令牌，或用 --dev-role 并让 --data-dir 与服务器一致\n",
        ),
        _ => {}
    }
    out
}

/// The status message, or the code when the server sent none.
pub fn status_message(status: &tonic::Status) -> String {
    if status.message().is_empty() {
        format!("{:?}", status.code())
    } else {
        status.message().to_owned()
    }
}

/// The reason code of a status (`google.rpc.ErrorInfo`), or `""`.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// Every item of a paged list, from the page `start` on: `page` gets each page token and returns
/// the items and the `next_page_token`; an empty one ends the list.
pub async fn all_pages<T, F, Fut>(start: String, mut page: F) -> Outcome<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Outcome<(Vec<T>, String)>>,
{
    let mut all = Vec::new();
    let mut token = start;
    loop {
        let (items, next) = page(token).await?;
        all.extend(items);
        if next.is_empty() {
            return Ok(all);
        }
        token = next;
    }
}

/// A fresh request id for a mutating call: `pbmctl-` and 32 random hex digits.
pub fn request_id() -> String {
    format!("pbmctl-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// The request id given with `--request-id` (trimmed; to retry a call whose outcome is
/// unknown), else a fresh one.
pub fn request_id_or_fresh(given: Option<String>) -> Outcome<String> {
    match given.map(|g| g.trim().to_owned()) {
        Some(g) if g.is_empty() => Err(Failure::Usage("--request-id 不能为空".into())),
        Some(g) => Ok(g),
        None => Ok(request_id()),
    }
}

/// A connected channel with the caller's token; one client per gRPC service of the pool.
pub struct Ctx {
    channel: Channel,
    authorization: MetadataValue<Ascii>,
    pub json: bool,
}

impl Ctx {
    /// Resolves the token (usage errors before any network traffic), then connects.
    pub async fn connect(args: &GlobalArgs) -> Outcome<Ctx> {
        let token = token(args)?;
        let authorization = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
            Failure::Usage("令牌含有无效字符 / the token has invalid characters".into())
        })?;
        let timeout = Duration::from_secs(args.timeout_secs.max(1));
        let tls = ClientTlsFiles {
            ca: args.tls_ca.clone(),
            cert: args.tls_client_cert.clone(),
            key: args.tls_client_key.clone(),
        };
        let endpoint = tls
            .endpoint(&args.server)
            .map_err(|e| Failure::Usage(format!("--server「{}」: {e}", args.server)))?
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout);
        let channel = endpoint.connect().await.map_err(|e| Failure::Connect {
            server: args.server.clone(),
            detail: connect_detail(&e),
        })?;
        Ok(Ctx {
            channel,
            authorization,
            json: args.json,
        })
    }

    /// The registry client (`AgencyRegistryService`; cheap to make, calls need `&mut`).
    pub fn api(&self) -> AgencyRegistryServiceClient<Channel> {
        AgencyRegistryServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// The engagements and ratings client (`EngagementService`).
    pub fn engagements(&self) -> EngagementServiceClient<Channel> {
        EngagementServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// The draws client (`DrawService`).
    pub fn draws(&self) -> DrawServiceClient<Channel> {
        DrawServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// The audit trail client (`pbm.audit.v1.AuditService`, served by every PBM server).
    pub fn audits(&self) -> AuditServiceClient<Channel> {
        AuditServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// A request carrying the bearer token.
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request
    }
}

/// Why connecting failed, in words: "连接被拒绝 (connection refused)" or the error chain.
fn connect_detail(error: &(dyn std::error::Error + 'static)) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut chain = Vec::new();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "连接被拒绝 / connection refused".into();
                }
                std::io::ErrorKind::TimedOut => return "连接超时 / connection timed out".into(),
                _ => {}
            }
        }
        let text = e.to_string();
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        source = e.source();
    }
    chain.join(": ")
}

/// The token to send: minted with `--dev-role`, else `--token` / `PBM_TOKEN`.
fn token(args: &GlobalArgs) -> Outcome<String> {
    if let Some(role) = args.dev_role {
        return dev_token(args, role);
    }
    match args.token.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t.to_owned()),
        _ => Err(Failure::Usage(
            "需要访问令牌：用 --token（或环境变量 PBM_TOKEN）传入 `pbm token` 打印的令牌，\
             或用 --dev-role ROLE 以开发密钥签发\n\
             (a token is required: --token / PBM_TOKEN, or --dev-role ROLE to mint one with the \
             development key)"
                .into(),
        )),
    }
}

/// A development token, signed and shaped exactly as `pbm token` signs it.
fn dev_token(args: &GlobalArgs, role: Role) -> Outcome<String> {
    let code = args.mof_div_code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::Usage(format!(
            "--mof-div-code「{code}」无效：财政区划代码为 6 位数字"
        )));
    }
    let (agency, expert) = match role {
        Role::Agency => match &args.dev_agency {
            Some(a) => (Some(a.clone()), None),
            None => return Err(Failure::Usage("--dev-role agency 需要 --dev-agency".into())),
        },
        Role::Expert => match &args.dev_expert {
            Some(e) => (None, Some(e.clone())),
            None => return Err(Failure::Usage("--dev-role expert 需要 --dev-expert".into())),
        },
        Role::Department | Role::BudgetUnit => {
            return Err(Failure::Usage(format!(
                "--dev-role {role}: 请用 `pbm token --role {role} …` 签发令牌并以 --token 传入"
            )));
        }
        _ => (None, None),
    };
    let existed = pbm_auth::dev::key_path(&args.data_dir).exists();
    let signer = pbm_auth::dev::load_or_create(&args.data_dir).map_err(|e| {
        Failure::Message(format!(
            "无法读取或创建开发密钥（{}）: {e}",
            args.data_dir.display()
        ))
    })?;
    if !existed {
        eprintln!(
            "注意: 在 {} 新建了开发密钥；服务器须使用同一数据目录（--data-dir / PBM_DATA_DIR），否则会拒绝此令牌",
            args.data_dir.display()
        );
    }
    Ok(signer.sign(
        &Claims::new(format!("dev-{role}"), role, code, 3600)
            .with_agency(agency.as_deref())
            .with_expert(expert.as_deref()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_outcome_names_the_request_id_to_retry_with() {
        let lost = unsettled("pbmctl-1")(tonic::Status::deadline_exceeded("timeout"));
        assert!(
            matches!(&lost, Failure::Unsettled { request_id, .. } if request_id == "pbmctl-1"),
            "{lost:?}"
        );
        assert_eq!(lost.exit_code(), 1);
        let refused = unsettled("pbmctl-1")(tonic::Status::failed_precondition("no"));
        assert!(matches!(refused, Failure::Status(_)), "{refused:?}");
    }

    #[test]
    fn a_given_request_id_is_kept_else_a_fresh_one() {
        assert_eq!(
            request_id_or_fresh(Some(" retry-7 ".into())).unwrap(),
            "retry-7"
        );
        assert!(matches!(
            request_id_or_fresh(Some("  ".into())),
            Err(Failure::Usage(_))
        ));
        let fresh = request_id_or_fresh(None).unwrap();
        assert!(fresh.starts_with("pbmctl-") && fresh.len() == 39, "{fresh}");
        assert_ne!(fresh, request_id_or_fresh(None).unwrap());
    }
}
