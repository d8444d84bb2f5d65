//! `pbm-evaluation`: performance evaluation as its own process (one container per service). It
//! calls the goal service at `PBM_GOAL_URL`, the monitoring service at `PBM_MONITORING_URL` and
//! the agency service at `PBM_AGENCY_URL`.

fn main() -> anyhow::Result<()> {
    pbm_server::run::main::<pbm_evaluation::Evaluation>()
}
