//! The `provision` binary: parses the command line, then runs one small function per command,
//! which calls the library (`provisioner::commands` and friends) and prints what it returns.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use provisioner::commands::{self, apply, check_token, deploy, destroy, init, plan, render};
use provisioner::config::{self, Config};
use provisioner::{cost, feed, ops, token};
use serde::Serialize;

use cli::{Command, Format};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match &cli.command {
        Command::Init(args) => cmd_init(args),
        Command::Render(args) => cmd_render(args),
        Command::Preflight(args) => cmd_preflight(args),
        Command::Plan(args) => cmd_plan(args),
        Command::Cost(args) => cmd_cost(args),
        Command::Apply(args) => cmd_apply(args),
        Command::Destroy(args) => cmd_destroy(args),
        Command::Deploy(args) => cmd_deploy(args),
        Command::Verify(args) => cmd_verify(args),
        Command::Status(args) => cmd_status(args),
        Command::SetToken(args) => cmd_set_token(args),
        Command::CheckToken(args) => cmd_check_token(args),
        Command::FeedInstructions(args) => cmd_feed_instructions(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}

/// Prints `value` as pretty JSON, or as `text` renders it.
fn print<T: Serialize>(format: Format, value: &T, text: fn(&T) -> String) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Format::Text => print!("{}", text(value)),
    }
    Ok(())
}

/// Says what is wrong on standard error and exits with `code`.
fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn load(arg: &cli::ConfigArg) -> anyhow::Result<Config> {
    Ok(commands::load(&arg.config)?)
}

fn cmd_init(args: &cli::InitArgs) -> anyhow::Result<ExitCode> {
    let path = &args.config.config;
    init::init(path, args.force)?;
    println!(
        "wrote {}: set project_id, region and bucket.name, then run `provision check-token`",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_render(args: &cli::RenderArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.config)?;
    let (engine, out) = (args.engine.into(), &args.out);
    if args.check {
        match render::check(&config, engine, out) {
            Ok(files) => println!("{files} files in {} match the config", out.display()),
            Err(error) => {
                // The differences go to standard output, the verdict to standard error.
                if let render::CheckError::Drift { diff, .. } = &error {
                    print!("{diff}");
                }
                return Err(error.into());
            }
        }
    } else {
        for path in render::render(&config, engine, out)? {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_preflight(args: &cli::PreflightArgs) -> anyhow::Result<ExitCode> {
    if args.print_permissions {
        print!("{}", provisioner::preflight::permissions::markdown());
        return Ok(ExitCode::SUCCESS);
    }
    let config = load(&args.format.config)?;
    let report = provisioner::preflight::run(
        &config,
        &provisioner::preflight::Options {
            engine: args.engine.into(),
            build: args.build,
            tokens: commands::preflight::tokens_from_environment(&config),
            client: onepassword_events::ClientOptions::default(),
        },
    );
    print(args.format.format, &report, provisioner::preflight::to_text)?;
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cmd_plan(args: &cli::RunArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.config)?;
    plan::plan(&config, args.engine.into(), &args.out, args.skip_preflight)?;
    let estimate = cost::shipped_estimate(&config, cost::Options::default())?;
    print!("\n{}", cost::text(&estimate));
    Ok(ExitCode::SUCCESS)
}

fn cmd_cost(args: &cli::CostArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.format.config)?;
    let options = cost::Options {
        event_driven_feed: args.event_driven_feed,
    };
    let estimate = cost::shipped_estimate(&config, options)?;
    print(args.format.format, &estimate, cost::text)?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_apply(args: &cli::ApplyArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.run.config)?;
    let options = apply::ApplyOptions {
        engine: args.run.engine.into(),
        out: args.run.out.clone(),
        source: args.source.clone(),
        tokens: if args.keep_token {
            apply::Tokens::Keep
        } else if let Some(name) = &args.account {
            apply::Tokens::Only(config.chosen_account(Some(name))?)
        } else {
            apply::Tokens::Every
        },
        build: args.build,
        skip_preflight: args.run.skip_preflight,
    };
    let instructions = apply::apply(&config, &options)?;
    println!("{}", feed::to_text(&instructions));
    Ok(ExitCode::SUCCESS)
}

fn cmd_destroy(args: &cli::DestroyArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.run.config)?;
    let options = destroy::DestroyOptions {
        engine: args.run.engine.into(),
        out: args.run.out.clone(),
        delete_events: args.delete_events,
    };
    print!("{}", destroy::destroy(&config, &options)?.to_text());
    Ok(ExitCode::SUCCESS)
}

fn cmd_deploy(args: &cli::DeployArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.config)?;
    let rollout = if args.build {
        deploy::Rollout::Build {
            source: args.source.clone(),
            tag: args.tag.clone(),
        }
    } else {
        deploy::Rollout::Release {
            version: args.version.clone(),
        }
    };
    let deployed = deploy::deploy(&config, &rollout)?;
    print(args.format, &deployed, deploy::Deployed::to_text)?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_verify(args: &cli::VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.format.config)?;
    let accounts = config.chosen_accounts(args.account.as_deref())?;
    let result = ops::verify::verify(
        &config,
        &accounts,
        &ops::Gcloud::new(&config),
        Duration::from_secs(args.timeout),
        Duration::from_secs(args.poll),
    )?;
    print(args.format.format, &result, ops::verify::to_text)?;
    Ok(if result.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cmd_status(args: &cli::StatusArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.format.config)?;
    let accounts = config.chosen_accounts(args.account.as_deref())?;
    let status = ops::status::status(
        &config,
        &accounts,
        &ops::Gcloud::new(&config),
        chrono::Utc::now(),
    )?;
    print(args.format.format, &status, ops::status::to_text)?;
    Ok(if status.has_checkpoint_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_set_token(args: &cli::SetTokenArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.format.config)?;
    let account = config.chosen_account(args.account.as_deref())?;
    let secret = token::read_token()?;
    let timeout = Duration::from_secs(args.timeout);
    let rotation = ops::set_token::set_token(
        &config,
        &account,
        &ops::Gcloud::new(&config),
        secret,
        args.api_base.clone(),
        timeout,
        Duration::from_secs(args.poll),
    )?;
    print(args.format.format, &rotation, ops::set_token::to_text)?;
    Ok(
        match ops::set_token::unconfirmed(&rotation, &config, timeout) {
            Some(message) => fail(1, &message),
            None => ExitCode::SUCCESS,
        },
    )
}

fn cmd_check_token(args: &cli::CheckTokenArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.as_deref().map(config::load).transpose()?;
    let account = config
        .as_ref()
        .map(|c| c.chosen_account(args.account.as_deref()))
        .transpose()?;
    let secret = token::read_token()?;
    // A different --api-base is the operator's override: say so, whatever the outcome.
    let api_base = args.api_base.as_deref();
    if let Some(note) = api_base.and_then(|base| token::override_note(base, &secret)) {
        eprintln!("{note}");
    }
    let with_path = args.config.as_deref().zip(account.as_ref());
    let checked = check_token::check_token(with_path, api_base, &secret)?;
    if let Some(warning) = &checked.warning {
        eprintln!("warning: {warning}");
    }
    print(args.format, &checked.report, token::to_text)?;
    Ok(match checked.refusal() {
        Some(message) => fail(2, &message),
        None => ExitCode::SUCCESS,
    })
}

fn cmd_feed_instructions(args: &cli::FeedArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args.format.config)?;
    let instructions = feed::instructions(&config, args.engine.into());
    print(args.format.format, &instructions, feed::to_text)?;
    Ok(ExitCode::SUCCESS)
}
