//! The agency service as a commissioned review calls it ([`Pool`]): draw one agency for
//! 评价结果复核 and record its engagement (docs/DOMAIN.md "What may be commissioned",
//! "Independence", "Random draws"). The client is the platform's
//! ([`pbm_server::calls::agency`]); evaluation keeps its own words and reason codes.

use std::time::Duration;

use pbm_server::calls::agency::{AgencyPool, Commissioner};

pub use pbm_server::calls::agency::DrawnAgency;

/// A lazily connected client of the agency service (draws and engagements).
pub type Pool = AgencyPool<Evaluation>;

/// Evaluation as it commissions reviews through the agency service.
pub struct Evaluation;

impl Commissioner for Evaluation {
    const TIMEOUT: Duration = Duration::from_secs(10);
    const UNAVAILABLE: &'static str =
        "第三方机构库服务暂时无法访问，无法委托复核；请稍后重试（未做任何修改）";
    const OTHER_REASON: &'static str = "POOL_REFUSED";

    fn refused(message: &str, _reason: &str) -> String {
        format!("第三方机构库未完成抽取或委托：{message}")
    }
}
