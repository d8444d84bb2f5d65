//! `pbm-goal`: goal management as its own process (one container per service). It calls the
//! indicator service at `PBM_INDICATOR_URL` and the agency service at `PBM_AGENCY_URL`.

fn main() -> anyhow::Result<()> {
    pbm_server::run::main::<pbm_goal::Goal>()
}
