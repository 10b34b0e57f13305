//! The ingest node of the reference pipeline (events.raw → events.parsed):
//! see the crate documentation in lib.rs and README.md.

fn main() {
    sluice_node::run("ingest", env!("CARGO_PKG_VERSION"), ingest::Ingest)
}
