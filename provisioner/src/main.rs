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
    render_image_into(config, run, None)
}

fn render_image_into(
    config: &Config,
    run: &cli::RunArgs,
    image: Option<&str>,
) -> anyhow::Result<()> {
    let files = render::render_with_image(config, engine(run.engine), image)?;
    render::write(&run.out, &files)?;
    eprintln!("rendered {} files into {}", files.len(), run.out.display());
    Ok(())
}

/// `provision apply`: the foundation, the image (pinned release, build, or as named), the rest.
fn apply(args: &cli::ApplyArgs) -> anyhow::Result<()> {
    let config = load(&args.run.config)?;
    let engine = engine(args.run.engine);
    let image = steps::ImageSource::of(&config, args.build);
    if image == steps::ImageSource::Build {
        steps::check_build_source(&args.source)?;
    }
    let secret = if args.keep_token {
        None
    } else {
        Some(token::read_token()?)
    };
    render_into(&config, &args.run)?;
    let plan = steps::apply(engine, &args.run.out, &config, secret, &args.source, &image);
    let total = plan.foundation.len() + plan.service.len();
    runner::run_part(&plan.foundation, 1, total)?;
    if let steps::ImageSource::Release { version } = &image {
        let pinned = steps::pin_release(&config, version, &args.run.out)?;
        eprintln!("collector {version}: {pinned}");
        // The service is created with the pinned image (still through the remote repository,
        // which stays in the render); later applies leave images to `deploy`.
        render_image_into(&config, &args.run, Some(&pinned))?;
    }
    runner::run_part(&plan.service, plan.foundation.len() + 1, total)?;
    println!("{}", feed::to_text(&feed::instructions(&config, engine)));
    Ok(())
}

/// `provision deploy`: roll the service to a pinned release, the configured image, or a build.
fn deploy(args: &cli::DeployArgs) -> anyhow::Result<()> {
    let config = load(&args.config)?;
    let cwd = std::path::Path::new(".");
    let image = if args.build {
        steps::check_build_source(&args.source)?;
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
        image
    } else {
        let image = match (&args.version, &config.collector.image) {
            (None, Some(image)) => image.clone(),
            (version, _) => {
                let version = version.clone().unwrap_or_else(|| config.release_version());
                steps::pin_release(&config, &version, cwd)?
            }
        };
        runner::run(&[steps::roll(&config, &image, cwd)])?;
        image
    };
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
        cwd,
    )?;
    let digest = match image.split_once('@') {
        Some((_, digest)) => digest.to_owned(),
        None => runner::capture(
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
            cwd,
        )?,
    };
    match args.format {
        cli::Format::Json => println!(
            "{}",
            serde_json::json!({"image": image, "revision": revision, "digest": digest})
        ),
        cli::Format::Text => println!("deployed {image}\nrevision: {revision}\ndigest:   {digest}"),
    }
    Ok(())
}

/// `provision destroy`: everything but the bucket, or everything with `--delete-events`.
fn destroy(args: &cli::DestroyArgs) -> anyhow::Result<()> {
    let config = load(&args.run.config)?;
    render_into(&config, &args.run)?;
    let engine = engine(args.run.engine);
    let bucket_in_state = match engine {
        Engine::Terraform => {
            runner::run(&[steps::destroy_init(&args.run.out)])?;
            runner::capture(
                "terraform",
                &["state", "list"],
                &args.run.out.join("terraform"),
            )?
            .lines()
            .any(|address| address.trim() == steps::TF_BUCKET)
        }
        Engine::Gcloud => false,
    };
    runner::run(&steps::destroy(
        engine,
        &args.run.out,
        &config,
        bucket_in_state,
        args.delete_events,
    ))?;
    let bucket = &config.bucket.name;
    if engine == Engine::Gcloud {
        // destroy.sh said what it kept or deleted.
    } else if args.delete_events {
        println!("deleted gs://{bucket} with every event and checkpoint in it");
    } else {
        println!(
            "kept gs://{bucket} and its events (security evidence), no longer managed by Terraform; \
             to delete them too, once SecOps no longer needs them: provision destroy --delete-events"
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(cli::Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
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
                let drift = render::drift(&args.out, &files)
                    .with_context(|| format!("cannot read {}", args.out.display()))?;
                if !drift.is_empty() {
                    print!("{drift}");
                    bail!(
                        "the files in {out} differ from a fresh render; run `provision render --engine {engine} --out {out}` to update them (and remove the stray files it names)",
                        out = args.out.display(),
                        engine = engine(args.engine).name(),
                    );
                }
                println!(
                    "{} files in {} match the config",
                    files.len(),
                    args.out.display()
                );
            } else {
                render::write(&args.out, &files)?;
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
        cli::Command::Apply(args) => apply(&args)?,
        cli::Command::Destroy(args) => destroy(&args)?,
        cli::Command::Deploy(args) => deploy(&args)?,
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
            )?;
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
            let streams = config.as_ref().map_or_else(
                || vec![onepassword_events::Stream::AuditEvents],
                Config::streams,
            );
            let base = args
                .api_base
                .clone()
                .or_else(|| config.as_ref().and_then(Config::explicit_events_base_url));
            let secret = token::read_token()?;
            // A different --api-base is the operator's override: say so, whatever the outcome.
            if let Some(note) = args
                .api_base
                .as_deref()
                .and_then(|api_base| token::override_note(api_base, &secret))
            {
                eprintln!("{note}");
            }
            let report = token::check(&secret, base, &streams)?;
            // The deployment uses the config's host: compare it with the token's own, not with an
            // override.
            if let (Some(config), Some(own)) = (&config, &report.token_events_api)
                && config.events_base_url() != *own
            {
                eprintln!(
                    "warning: the collector would be deployed with {}, but the token names {own} (its aud claim); set events_api in {}",
                    config.events_base_url(),
                    args.config
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
            }
            match args.format {
                cli::Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                cli::Format::Text => {
                    println!("events API:   {}", report.events_api);
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
                    "error: the token lacks the {} feature, so the collector would refuse to start with these streams; issue a token with those events selected (1Password: Integrations > Events Reporting)",
                    report.missing_list()
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
