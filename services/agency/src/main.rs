//! `pbm-agency`: the agency and expert pool as its own process (one container per service).

fn main() -> anyhow::Result<()> {
    pbm_server::run::main::<pbm_agency::Agency>()
}
