//! The agency service as key monitoring calls it ([`Pool`]): draw one agency and record its
//! engagement (docs/DOMAIN.md "Random draws", "What may be commissioned": finance's key
//! monitoring is commissioned as evaluation work, 财预〔2021〕6号). The client is the platform's
//! ([`pbm_server::calls::agency`]); monitoring keeps its own words and reason codes.

use std::time::Duration;

use pbm_server::calls::agency::{AgencyPool, Commissioner};

pub use pbm_server::calls::agency::DrawnAgency;

/// A lazily connected client of the agency service (draws and engagements).
pub type Pool = AgencyPool<Monitoring>;

/// Monitoring as it commissions key monitoring through the agency service.
pub struct Monitoring;

impl Commissioner for Monitoring {
    const TIMEOUT: Duration = super::CALL_TIMEOUT;
    const UNAVAILABLE: &'static str = "第三方机构库服务暂时无法访问，无法委托重点监控；请稍后重试（未做任何修改）（AGENCY_SERVICE_UNAVAILABLE）";
    const OTHER_REASON: &'static str = "POOL_REFUSED";

    fn refused(message: &str, reason: &str) -> String {
        format!("第三方机构库未完成抽取或委托：{message}（{reason}）")
    }
}
