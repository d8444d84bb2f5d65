//! Authentication for every PBM RPC.
//!
//! # Layout
//! * [`Role`], [`Caller`] – who is calling (docs/DOMAIN.md "Regions and roles").
//! * [`token`] – signed bearer tokens (JWT: EdDSA/Ed25519 or 国密 SM2) behind the
//!   [`TokenVerifier`] trait.
//! * [`dev`] – the local development signing key of an embedded deployment.
//! * [`layer`] – [`AuthLayer`]: verifies the token and attaches the [`Caller`] to the request.
//! * [`standing`] – where a [`Caller`] stands at one region's deployment, the start of every
//!   service's access rules.

pub mod dev;
pub mod layer;
pub mod standing;
pub mod token;

use std::fmt;
use std::str::FromStr;

use pbm_types::DivisionCode;

pub use layer::AuthLayer;
pub use token::{
    Claims, Ed25519Verifier, JwtVerifier, Sm2TokenSigner, TokenError, TokenSigner, TokenVerifier,
};

/// What a caller may do is decided by its role (docs/DOMAIN.md "Regions and roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 财政局绩效科: owns the library, reviews goals, manages agencies.
    FinanceAdmin,
    /// 主管部门: its own units only.
    Department,
    /// 预算单位: its own unit only.
    BudgetUnit,
    /// 第三方机构: only its engagements.
    Agency,
    /// 专家: only its draws and reviews.
    Expert,
    /// 审计局 / 人大: read-only.
    Auditor,
    /// 省级平台: statistics, library sync, read-only.
    Province,
    /// 社会公众: published information only.
    Public,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::FinanceAdmin,
        Role::Department,
        Role::BudgetUnit,
        Role::Agency,
        Role::Expert,
        Role::Auditor,
        Role::Province,
        Role::Public,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::FinanceAdmin => "finance_admin",
            Role::Department => "department",
            Role::BudgetUnit => "budget_unit",
            Role::Agency => "agency",
            Role::Expert => "expert",
            Role::Auditor => "auditor",
            Role::Province => "province",
            Role::Public => "public",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role `{s}`; one of {}",
                    Role::ALL.map(Role::as_str).join(", ")
                )
            })
    }
}

/// Why a service's access rules refuse a caller: the one refusal type of every service's pure
/// `domain::access` rules (`pbm-server` turns it into UNAUTHENTICATED / PERMISSION_DENIED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No valid token.
    Unauthenticated,
    /// A known caller without the right: a stable reason and a Chinese message.
    Permission {
        reason: &'static str,
        message: String,
    },
}

impl Denied {
    /// The stable reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            Denied::Unauthenticated => "UNAUTHENTICATED",
            Denied::Permission { reason, .. } => reason,
        }
    }

    /// A caller without the right, for `reason`.
    pub fn permission(reason: &'static str, message: impl Into<String>) -> Denied {
        Denied::Permission {
            reason,
            message: message.into(),
        }
    }
}

/// The authenticated caller of an RPC, attached to the request by [`AuthLayer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token subject (a user or system account).
    pub subject: String,
    pub role: Role,
    /// Region (财政区划) the caller belongs to.
    pub mof_div_code: DivisionCode,
    /// Budget unit code (AGENCY_CODE) for budget_unit callers.
    pub unit: Option<String>,
    /// Department code for department callers (and the department of a unit).
    pub department: Option<String>,
    /// Agency id (统一社会信用代码) for agency callers.
    pub agency: Option<String>,
    /// Expert id for expert callers.
    pub expert: Option<String>,
    /// False for a request that carried no token at all.
    pub authenticated: bool,
}

impl Caller {
    /// A request without a token: a member of the public, of no region.
    pub fn anonymous() -> Caller {
        Caller {
            subject: "anonymous".into(),
            role: Role::Public,
            mof_div_code: DivisionCode::parse("000000").expect("valid code"),
            unit: None,
            department: None,
            agency: None,
            expert: None,
            authenticated: false,
        }
    }
}

/// Returns the caller attached by [`AuthLayer`]. A request that bypassed the layer is refused.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, tonic::Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| tonic::Status::unauthenticated("未认证的请求 (UNAUTHENTICATED)"))
}
