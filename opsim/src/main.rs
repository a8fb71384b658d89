//! The `opsim` binary: serve the simulated Events API, or mint a demo token.

mod cli;

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use opsim::{
    AppendRate, Fault, FaultPlan, RateLimits, SimConfig, Simulator, Stream, TokenClaims,
    TokenGrant, append_steadily,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Serve(args) => serve(args).await,
        cli::Command::Pull(args) => pull(args).await,
        cli::Command::MintToken(args) => {
            for feature in &args.features {
                feature
                    .parse::<Stream>()
                    .with_context(|| format!("--features {feature:?}"))?;
            }
            let now = chrono::Utc::now().timestamp();
            let features: Vec<&str> = args.features.iter().map(String::as_str).collect();
            let claims = TokenClaims {
                exp: args.expires_in_days.map(|days| now + days * 86_400),
                ..TokenClaims::new(&args.host, &features, now)
            };
            println!("{}", opsim::mint_token(&claims));
            Ok(())
        }
    }
}

async fn serve(args: cli::ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.fault_rate),
        "--fault-rate must be between 0 and 1, got {}",
        args.fault_rate
    );
    let append_streams = args
        .append_streams
        .iter()
        .map(|name| name.parse::<Stream>())
        .collect::<Result<Vec<_>, _>>()
        .context("--append-streams")?;
    let append_rate = if args.append_per_second == 0.0 {
        None
    } else {
        Some(AppendRate::per_second(args.append_per_second).context("--append-per-second")?)
    };
    let mut config = SimConfig::new(args.seed)
        .with_events(Stream::AuditEvents, args.audit_events)
        .with_events(Stream::SignInAttempts, args.signin_attempts)
        .with_events(Stream::ItemUsages, args.item_usages)
        .with_history(Duration::from_secs(args.history_minutes * 60))
        .with_page_delay(Duration::from_millis(args.page_delay_ms));
    for token in args.tokens {
        // A minted token gets its own features and expiry; any other text gets every feature.
        config = config.with_token(TokenGrant::from_token(token));
    }
    if args.rate_limit {
        config = config
            .with_rate_limits(RateLimits::REAL)
            .with_retry_after(args.retry_after.into());
    }
    if args.page_quirks {
        config = config.with_page_quirks();
    }
    if args.fault_rate > 0.0 {
        let kinds = vec![
            Fault::TooManyRequests {
                retry_after: Some(1),
            },
            Fault::TooManyRequests { retry_after: None },
            Fault::ServerError(500),
            Fault::ServerError(503),
            Fault::CutBody,
            Fault::MalformedJson,
        ];
        config = config.with_faults(FaultPlan::random(args.seed, args.fault_rate, kinds));
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let sim = Simulator::start_on(config, addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "opsim listening on {}", sim.base_url())?;
    stdout.flush()?;
    let appending = append_rate.map(|rate| append_steadily(&sim, &append_streams, rate));
    let _ = tokio::signal::ctrl_c().await;
    if let Some(task) = appending {
        task.abort();
    }
    sim.shutdown().await;
    Ok(())
}

/// Drains a stream, keeping nothing but counts.
async fn pull(args: cli::PullArgs) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        cursor: String,
        has_more: bool,
        #[serde(borrow)]
        items: Option<Vec<&'a serde_json::value::RawValue>>,
    }
    let http = reqwest::Client::new();
    let url = format!("{}/api/v2/{}", args.base.trim_end_matches('/'), args.stream);
    let mut body =
        serde_json::json!({"limit": args.page_size, "start_time": "2000-01-01T00:00:00Z"})
            .to_string();
    let (mut events, mut pages, mut bytes) = (0usize, 0usize, 0usize);
    let started = std::time::Instant::now();
    loop {
        let response = http
            .post(&url)
            .bearer_auth(&args.token)
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        let data = response.bytes().await?;
        let page: Page<'_> = serde_json::from_slice(&data).context("malformed page")?;
        pages += 1;
        events += page.items.map_or(0, |items| items.len());
        bytes += data.len();
        if !page.has_more {
            break;
        }
        body = serde_json::json!({"cursor": page.cursor}).to_string();
    }
    println!(
        "pulled {events} events in {pages} pages ({bytes} bytes) in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
