//! Runs the fake API server standalone: `cargo run -p fake-kube -- [--port N]`, then
//! `KUBECONFIG=<printed path> kubectl get pods`. Request counters: `GET /_fake/requests`.

use std::io::Write;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = fake_kube::Config::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--port" => {
                config.port = iter
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| std::io::Error::other("--port needs a number"))?;
            }
            "-h" | "--help" => {
                writeln!(
                    std::io::stdout(),
                    "usage: fake-kube [--port N]\nPrints the kubeconfig path and URL, serves until Ctrl-C."
                )?;
                return Ok(());
            }
            other => return Err(std::io::Error::other(format!("unknown argument {other}"))),
        }
    }
    let fake = fake_kube::FakeKube::start(config).await?;
    let mut out = std::io::stdout();
    writeln!(out, "KUBECONFIG={}", fake.kubeconfig().display())?;
    writeln!(out, "URL={}", fake.url())?;
    writeln!(out, "requests: {}/_fake/requests", fake.url())?;
    out.flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
