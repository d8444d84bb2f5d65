//! `pbm-monitoring`: performance monitoring as its own process (one container per service). It
//! calls the goal service at `PBM_GOAL_URL` and the agency service at `PBM_AGENCY_URL`.

fn main() -> anyhow::Result<()> {
    pbm_server::run::main::<pbm_monitoring::Monitoring>()
}
