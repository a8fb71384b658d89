//! Command-line interface of `provision` (clap types only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// One YAML file to the whole Google Cloud deployment of the 1Password -> SecOps collector.
#[derive(Debug, Parser)]
#[command(
    name = "provision",
    version = buildinfo::LONG,
    after_help = "Start with `provision init`, then `provision check-token`, `provision apply`, `provision feed-instructions`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter config.
    ///
    /// Example: provision init --config onepassword-secops.yaml
    Init(InitArgs),
    /// Render Terraform (default) or a gcloud script from the config.
    ///
    /// Examples: provision render --out deploy; provision render --engine gcloud --check
    Render(RenderArgs),
    /// Render, then `terraform init` and `terraform plan` (gcloud: check the script's syntax).
    ///
    /// Example: provision plan --config onepassword-secops.yaml
    Plan(RunArgs),
    /// The monthly cost of the configured accounts, streams, schedule and size, before deploying:
    /// per-run units measured by scripts/measure-run-cost.sh times the runs the schedule makes,
    /// priced from the dated table in provisioner/data/prices.yaml, free tiers noted.
    ///
    /// Examples: provision cost; provision cost --format json; provision cost --event-driven-feed
    Cost(CostArgs),
    /// Check, read-only, everything known to stop a deployment half-way, and report it all with fixes.
    ///
    /// The caller's IAM permissions for each phase (Resource Manager testIamPermissions), billing,
    /// the APIs, organisation policies (resource locations, domain-restricted sharing, workload
    /// identity pool providers, Cloud Run ingress), and, with several accounts whose
    /// OP_BEARER_TOKEN_NAME are set, two accounts of one 1Password account. Exit status 1 when
    /// something blocks. `apply` and `plan` run it first.
    ///
    /// Examples: provision preflight; provision preflight --format json; provision preflight --print-permissions
    Preflight(PreflightArgs),
    /// Render, create every resource, store the bearer token in Secret Manager, print the feed settings.
    ///
    /// The token is read from OP_BEARER_TOKEN, standard input, or a prompt without echo; it goes to
    /// `gcloud secrets versions add --data-file=-` on standard input and nowhere else.
    ///
    /// Examples: provision apply; provision apply --engine gcloud; provision apply --keep-token
    Apply(ApplyArgs),
    /// Remove the deployed resources, alerting included. The bucket and the events in it are kept
    /// (security evidence) unless --delete-events is given.
    ///
    /// Examples: provision destroy; provision destroy --delete-events
    Destroy(DestroyArgs),
    /// Roll the Cloud Run service to a released collector image (pinned by digest), or with --build
    /// to an image built from a checkout with Cloud Build (no local Docker, tagged with the git
    /// commit); prints the image, the revision and the digest.
    ///
    /// Examples: provision deploy; provision deploy --version 0.3.0; provision deploy --build --tag v1.2.3 --source .
    Deploy(DeployArgs),
    /// Force a run and check the live pipeline end to end: a verdict, diagnosis and next step per
    /// stream, and the objects that run created; exit status 0 only when every stream works.
    ///
    /// Example: provision verify --format json
    Verify(VerifyArgs),
    /// Per stream: events collected, newest event's age, cursor age, pending batch, last run (from
    /// the last 7 days of logs); and the token's expiry. Exit status 1 when a checkpoint exists but
    /// cannot be read.
    ///
    /// Example: provision status
    Status(StatusArgs),
    /// Rotate the bearer token: check it, add it as a new secret version (from OP_BEARER_TOKEN,
    /// standard input or a prompt; never argv), wait for a successful run whose summary names the
    /// new token, then disable the old versions.
    ///
    /// Example: provision set-token < new-token.txt
    SetToken(SetTokenArgs),
    /// Check a bearer token with the Events API: features, integration and account, expiry.
    ///
    /// The token is read from OP_BEARER_TOKEN, standard input, or a prompt without echo (never an
    /// argument, so it stays out of shell history and process lists). It fails (exit 2), as the
    /// collector would refuse to start, when the token's claims or the API lack a configured stream.
    #[command(
        after_help = "Examples:\n  provision check-token < token.txt\n  provision check-token --config onepassword-secops.yaml --format json < token.txt"
    )]
    CheckToken(CheckTokenArgs),
    /// Print what to enter in Google SecOps for each stream's feed, and the bucket grant it needs.
    ///
    /// Example: provision feed-instructions --format json
    FeedInstructions(FeedArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(long, short, default_value = "onepassword-secops.yaml")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EngineArg {
    Terraform,
    Gcloud,
}

impl From<EngineArg> for provisioner::render::Engine {
    fn from(arg: EngineArg) -> Self {
        match arg {
            EngineArg::Terraform => Self::Terraform,
            EngineArg::Gcloud => Self::Gcloud,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Which tool to render for.
    #[arg(long, value_enum, default_value = "terraform")]
    pub engine: EngineArg,
    /// Output folder.
    #[arg(long, default_value = "deploy")]
    pub out: PathBuf,
    /// Do not write; fail with a diff when the files on disk differ from a fresh render.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Which tool to run.
    #[arg(long, value_enum, default_value = "terraform")]
    pub engine: EngineArg,
    /// Folder the files are rendered into and run from.
    #[arg(long, default_value = "deploy")]
    pub out: PathBuf,
    /// Emergencies only: do not run the preflight checks first (permissions, billing, APIs,
    /// organisation policies, accounts). A deployment they would have stopped can then fail
    /// half-way, after creating some resources.
    #[arg(long)]
    pub skip_preflight: bool,
}

#[derive(Debug, Args)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// The tool `apply` will run (the gcloud script needs other permissions than Terraform).
    #[arg(long, value_enum, default_value = "terraform")]
    pub engine: EngineArg,
    /// Check for `apply --build` (Cloud Build) instead of the released image.
    #[arg(long)]
    pub build: bool,
    /// Print the permissions each phase needs (the README's table) and check nothing.
    #[arg(long)]
    pub print_permissions: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The repository checkout to build the first image from, when the config sets no
    /// collector.image.
    #[arg(long, default_value = ".")]
    pub source: PathBuf,
    /// Do not ask for a token; keep the secret's current versions (every account's, with several).
    #[arg(long, conflicts_with = "account")]
    pub keep_token: bool,
    /// With several accounts: store only this account's token (an account just added) and keep
    /// the others' secrets as they are.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Build the first image from the checkout (--source) with Cloud Build, instead of deploying
    /// the released image of collector.version (default: this provisioner's version).
    #[arg(long)]
    pub build: bool,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Delete the bucket too, with every event and checkpoint in it (all object versions). Without
    /// it the bucket is kept and left out of Terraform's state.
    #[arg(long)]
    pub delete_events: bool,
}

#[derive(Debug, Args)]
pub struct CheckTokenArgs {
    /// The config file (optional: without it, the host comes from the token's aud claim).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Events API base URL, overriding the config and the token's aud claim (a different host is
    /// reported as this override's doing, not the token's).
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,
    /// With several accounts in the config: the account whose streams and host the token is
    /// checked for.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub account: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// Count the bucket notifications of an event-driven SecOps feed (one per object written).
    #[arg(long)]
    pub event_driven_feed: bool,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The released version to roll out (default: collector.version, else this provisioner's
    /// version); pinned by digest through the remote repository.
    #[arg(long, conflicts_with_all = ["build", "tag"])]
    pub version: Option<String>,
    /// Build the checkout (--source) with Cloud Build and roll that out instead of a release.
    #[arg(long)]
    pub build: bool,
    /// The repository checkout to build (its Dockerfile), with --build.
    #[arg(long, default_value = ".")]
    pub source: PathBuf,
    /// Image tag with --build; default: the checkout's commit (`git rev-parse --short=12 HEAD`).
    #[arg(long, requires = "build")]
    pub tag: Option<String>,
    /// Output format of the result.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// The engine used to deploy (only Terraform creates the feeds themselves).
    #[arg(long, value_enum, default_value = "terraform")]
    pub engine: EngineArg,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// With several accounts: only this account's streams (default: every account's).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// With several accounts: judge only this account's streams (default: every account's).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Seconds to wait for the forced run's summary.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Seconds between looks at the logs.
    #[arg(long, default_value_t = 10)]
    pub poll: u64,
}

#[derive(Debug, Args)]
pub struct SetTokenArgs {
    #[command(flatten)]
    pub format: FormatArgs,
    /// With several accounts: the account whose token this is (its secret, streams and host).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Events API base URL, overriding the config.
    #[arg(long)]
    pub api_base: Option<String>,
    /// Seconds to wait for a run with the new token.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Seconds between looks at the logs.
    #[arg(long, default_value_t = 10)]
    pub poll: u64,
}
