//! `pbm-indicator`: the indicator library as its own process (one container per service).

fn main() -> anyhow::Result<()> {
    pbm_server::run::main::<pbm_indicator::Indicator>()
}
