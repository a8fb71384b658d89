//! The `provision` binary.

mod cli;

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser as _;
use provisioner::config::{self, Config};
use provisioner::render::{self, Engine};
use std::time::Duration;

use provisioner::{feed, ops, runner, steps, token};

fn engine(arg: cli::EngineArg) -> Engine {
    match arg {
        cli::EngineArg::Terraform => Engine::Terraform,
        cli::EngineArg::Gcloud => Engine::Gcloud,
    }
}

fn load(arg: &cli::ConfigArg) -> anyhow::Result<Config> {
    if !arg.config.exists() {
        bail!(
            "{} does not exist; create it with `provision init --config {}`",
            arg.config.display(),
            arg.config.display()
        );
    }
    Ok(config::load(&arg.config)?)
}

fn render_into(config: &Config, run: &cli::RunArgs) -> anyhow::Result<()> {
    let files = render::render(config, engine(run.engine))?;
    render::write(&run.out, &files)
        .with_context(|| format!("cannot write into {}", run.out.display()))?;
    eprintln!("rendered {} files into {}", files.len(), run.out.display());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(cli::Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        cli::Command::Init(args) => {
            let path = &args.config.config;
            if path.exists() && !args.force {
                bail!("{} exists; pass --force to overwrite it", path.display());
            }
            std::fs::write(path, config::STARTER)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "wrote {}: set project_id, region and bucket.name, then run `provision check-token`",
                path.display()
            );
        }
        cli::Command::Render(args) => {
            let config = load(&args.config)?;
            let files = render::render(&config, engine(args.engine))?;
            if args.check {
                let drift = render::drift(&args.out, &files);
                if !drift.is_empty() {
                    print!("{drift}");
                    bail!(
                        "the files in {} differ from a fresh render; run `provision render` to update them",
                        args.out.display()
                    );
                }
                println!(
                    "{} files in {} match the config",
                    files.len(),
                    args.out.display()
                );
            } else {
                render::write(&args.out, &files)
                    .with_context(|| format!("cannot write into {}", args.out.display()))?;
                for file in &files {
                    println!("{}", args.out.join(&file.path).display());
                }
            }
        }
        cli::Command::Plan(args) => {
            let config = load(&args.config)?;
            render_into(&config, &args)?;
            runner::run(&steps::plan(engine(args.engine), &args.out))?;
        }
        cli::Command::Apply(args) => {
            let config = load(&args.run.config)?;
            let secret = if args.keep_token {
                None
            } else {
                Some(token::read_token()?)
            };
            render_into(&config, &args.run)?;
            runner::run(&steps::apply(
                engine(args.run.engine),
                &args.run.out,
                &config,
                secret,
                &args.source,
            ))?;
            println!(
                "{}",
                feed::to_text(&feed::instructions(&config, engine(args.run.engine)))
            );
        }
        cli::Command::Destroy(args) => {
            let config = load(&args.config)?;
            render_into(&config, &args)?;
            runner::run(&steps::destroy(engine(args.engine), &args.out))?;
        }
        cli::Command::Deploy(args) => {
            let config = load(&args.config)?;
            let tag = match &args.tag {
                Some(tag) => tag.clone(),
                None => runner::capture("git", &["rev-parse", "--short=12", "HEAD"], &args.source)
                    .context("cannot read the commit to tag the image with; pass --tag")?,
            };
            if tag.is_empty()
                || !tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                bail!("{tag:?} is not an image tag (letters, digits, '.', '_', '-')");
            }
            let image = steps::image_for(&config, &tag);
            runner::run(&steps::deploy(&config, &args.source, &image))?;
            let revision = runner::capture(
                "gcloud",
                &[
                    "run",
                    "services",
                    "describe",
                    &config.collector.service_name,
                    "--project",
                    &config.project_id,
                    "--region",
                    &config.region,
                    "--format",
                    "value(status.latestReadyRevisionName)",
                ],
                &args.source,
            )?;
            let digest = runner::capture(
                "gcloud",
                &[
                    "artifacts",
                    "docker",
                    "images",
                    "describe",
                    &image,
                    "--format",
                    "value(image_summary.digest)",
                ],
                &args.source,
            )?;
            match args.format {
                cli::Format::Json => println!(
                    "{}",
                    serde_json::json!({"image": image, "revision": revision, "digest": digest})
                ),
                cli::Format::Text => {
                    println!("deployed {image}\nrevision: {revision}\ndigest:   {digest}")
                }
            }
        }
        cli::Command::Verify(args) => {
            let config = load(&args.format.config)?;
            let gcloud = ops::Gcloud::new(&config);
            let result = ops::verify::verify(
                &config,
                &gcloud,
                Duration::from_secs(args.timeout),
                Duration::from_secs(args.poll),
            )?;
            match args.format.format {
                cli::Format::Json => println!("{}", serde_json::to_string_pretty(&result)?),
                cli::Format::Text => print!("{}", ops::verify::to_text(&result)),
            }
            if !result.ok {
                return Ok(ExitCode::from(1));
            }
        }
        cli::Command::Status(args) => {
            let config = load(&args.config)?;
            let status =
                ops::status::status(&config, &ops::Gcloud::new(&config), chrono::Utc::now())?;
            match args.format {
                cli::Format::Json => println!("{}", serde_json::to_string_pretty(&status)?),
                cli::Format::Text => print!("{}", ops::status::to_text(&status)),
            }
            if status.has_checkpoint_errors() {
                return Ok(ExitCode::from(1));
            }
        }
        cli::Command::SetToken(args) => {
            let config = load(&args.format.config)?;
            let secret = token::read_token()?;
            let gcloud = ops::Gcloud::new(&config);
            let (timeout, poll) = (
                Duration::from_secs(args.timeout),
                Duration::from_secs(args.poll),
            );
            let rotation = ops::set_token::set_token(
                &config,
                &gcloud,
                secret,
                args.api_base.clone(),
                timeout,
                poll,
            )
            .await?;
            match args.format.format {
                cli::Format::Json => println!("{}", serde_json::to_string_pretty(&rotation)?),
                cli::Format::Text => {
                    match (&rotation.token.expires_at, rotation.token.days_left) {
                        (Some(at), Some(days)) => {
                            println!("new token stored; it expires at {at} ({days} days left)")
                        }
                        _ => println!("new token stored; it does not expire"),
                    }
                    if rotation.collector_confirmed {
                        println!(
                            "a run succeeded with it; disabled old versions: {}",
                            if rotation.disabled_versions.is_empty() {
                                "none".to_owned()
                            } else {
                                rotation.disabled_versions.join(", ")
                            }
                        );
                    }
                }
            }
            if !rotation.collector_confirmed {
                let hint = if rotation.runs_with_another_token > 0 {
                    format!(
                        " ({} run(s) since then still used the previous token: a running instance keeps the token it read at start; once {} starts a new instance, run `provision set-token` again)",
                        rotation.runs_with_another_token, config.collector.service_name
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "error: no successful run with the new token within {} s{hint}; the old versions ({}) stay enabled. Run `provision verify`, then `provision set-token` again",
                    args.timeout,
                    rotation.previous_versions.join(", ")
                );
                return Ok(ExitCode::from(1));
            }
        }
        cli::Command::CheckToken(args) => {
            let config = args.config.as_deref().map(config::load).transpose()?;
            let streams = config
                .as_ref()
                .map_or_else(|| vec!["auditevents".to_owned()], |c| c.streams.clone());
            let base = args
                .api_base
                .clone()
                .or_else(|| config.as_ref().and_then(Config::explicit_events_base_url));
            let secret = token::read_token()?;
            let report = token::check(&secret, base, &streams).await?;
            match args.format {
                cli::Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                cli::Format::Text => {
                    println!("events API:   {}", report.events_api);
                    if let Some(config) = &config
                        && config.events_base_url() != report.events_api
                    {
                        eprintln!(
                            "warning: the collector would be deployed with {}, but the token belongs to {}; set events_api in {}",
                            config.events_base_url(),
                            report.events_api,
                            args.config
                                .as_deref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default()
                        );
                    }
                    println!("features:     {}", report.features.join(", "));
                    println!("integration:  {}", report.integration_uuid);
                    println!(
                        "account:      {}",
                        report.account_uuid.as_deref().unwrap_or("(not reported)")
                    );
                    println!("issued at:    {}", report.issued_at);
                    match (&report.expires_at, report.days_left) {
                        (Some(at), Some(days)) => println!("expires at:   {at} ({days} days left)"),
                        _ => println!("expires at:   never (or not a JWT)"),
                    }
                }
            }
            if !report.missing_features.is_empty() {
                eprintln!(
                    "error: the token cannot read {}; issue a token with those events selected (1Password: Integrations > Events Reporting)",
                    report.missing_features.join(", ")
                );
                return Ok(ExitCode::from(2));
            }
        }
        cli::Command::FeedInstructions(args) => {
            let config = load(&args.format.config)?;
            let instructions = feed::instructions(&config, engine(args.engine));
            match args.format.format {
                cli::Format::Json => println!("{}", serde_json::to_string_pretty(&instructions)?),
                cli::Format::Text => print!("{}", feed::to_text(&instructions)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
