//! `sluice-mock-upstream --listen ADDR`: the tests' mock OpenAI-compatible API as a
//! process, for the benchmark, the Python SDK test and the docker-compose demo.

use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mock = sluice_testkit::mock::MockUpstream::start_on(args.listen).await;
    eprintln!("mock upstream listening on {}", mock.addr);
    let _ = tokio::signal::ctrl_c().await;
}
