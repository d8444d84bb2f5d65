//! The calls a commissioned review makes to the agency service ([`Pool`]): draw one agency for
//! 评价结果复核 and record its engagement (docs/DOMAIN.md "What may be commissioned",
//! "Independence", "Random draws"). Written with the spot checks (ops/spot_checks.rs).

#[allow(unused_imports)]
use super::Pool;
