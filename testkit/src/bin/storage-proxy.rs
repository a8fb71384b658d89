//! `storage-proxy`: a delay in front of a storage emulator, for the benchmark.
//!
//! Usage: storage-proxy --upstream http://127.0.0.1:PORT [--port N] [--delay-ms N] [--request-log FILE]
//! With --request-log, each request is appended to FILE as `METHOD PATH?QUERY BODY_BYTES`
//! (scripts/measure-run-cost.sh counts Cloud Storage operations from it). Prints `storage-proxy listening on http://127.0.0.1:PORT`, then forwards every request to the
//! upstream after the delay until it is stopped.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: storage-proxy --upstream http://127.0.0.1:PORT [--port N] [--delay-ms N] [--request-log FILE]";

/// The command line.
struct Args {
    upstream: String,
    port: u16,
    delay: u64,
    request_log: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut upstream, mut port, mut delay, mut request_log) = (None, 0u16, 0u64, None);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
        match flag.as_str() {
            "--upstream" => upstream = Some(value),
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("--port must be a port number, got {value:?}"))?;
            }
            "--delay-ms" => {
                delay = value
                    .parse()
                    .map_err(|_| format!("--delay-ms must be whole milliseconds, got {value:?}"))?;
            }
            "--request-log" => request_log = Some(value),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    let upstream = upstream.ok_or_else(|| format!("--upstream is required; {USAGE}"))?;
    Ok(Args {
        upstream,
        port,
        delay,
        request_log,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args {
        upstream,
        port,
        delay,
        request_log,
    } = match parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("storage-proxy: {message}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let proxy = match testkit::StorageProxy::start_on(&upstream, addr).await {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!("storage-proxy: {e}");
            return ExitCode::from(1);
        }
    };
    proxy.set_delay(Duration::from_millis(delay));
    if let Some(path) = request_log {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(file) => proxy.set_request_log(file),
            Err(e) => {
                eprintln!("storage-proxy: cannot open the request log {path}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "storage-proxy listening on {}", proxy.endpoint());
    let _ = stdout.flush();
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
