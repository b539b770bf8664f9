//! `keyturn`: the operator's and auditor's command line.
//!
//! Reads configuration from the environment (`KEYTURN_*`, and the standard
//! `AWS_*` variables, `AWS_ENDPOINT_URL` included), exactly like the Lambdas.

#[macro_use]
mod out;

mod approvers;
mod audit;
mod changes;
mod connector;
mod dev;
mod inventory;
mod local;
mod render;
mod scan;
mod seed;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keyturn_domain::timefmt::parse_instant;
use time::OffsetDateTime;

#[derive(Parser)]
#[command(
    name = "keyturn",
    version,
    about = "Rotate expiring SCIM and API keys under change control",
    long_about = "Rotate expiring SCIM and API keys under change control.\n\n\
        keyturn reads its tables and state machine from the environment:\n  \
        KEYTURN_CONNECTORS_TABLE, KEYTURN_CHANGES_TABLE, KEYTURN_AUDIT_TABLE (default keyturn-*),\n  \
        KEYTURN_STATE_MACHINE_ARN, KEYTURN_DUE_WITHIN_DAYS (45), KEYTURN_GROUPING (org),\n  \
        and the standard AWS_* variables (AWS_ENDPOINT_URL points it at the local stack).\n\n\
        Against the local stack: `make up`, then `set -a; . dev/local.env; set +a`.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, load and list the connector inventory
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Find due keys and start one approval workflow per change
    ///
    /// Reads only connectors expiring within the due window (sparse expiry
    /// index), validates each, skips those already rotating, needing manual
    /// intervention or held by a running change, groups the rest into changes
    /// and starts one Step Functions execution per change, named after the
    /// change id so a second scan never starts a duplicate.
    Scan(ScanArgs),
    /// The tamper-evident audit trail: show, verify and query exports, sign digests
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Where everything stands: connectors by state, next expiries, open changes, manual interventions
    Status {
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// The changes keyturn opened: status, workflow step, approvers, votes, audit events
    #[command(subcommand)]
    Changes(changes::ChangesCommand),
    /// Day-2 work on one connector (resolve a manual intervention)
    #[command(subcommand)]
    Connector(connector::ConnectorCommand),
    /// Who approves which approver group, and where they are told
    #[command(subcommand)]
    Approvers(approvers::ApproversCommand),
    /// The key that signs approval links
    #[command(subcommand)]
    Links(approvers::LinksCommand),
    /// Print a shell completion script, e.g. `keyturn completions bash > ~/.local/share/bash-completion/completions/keyturn`
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Local development: set up the local stack, generate sample inventories, read captured email
    #[command(subcommand)]
    Dev(dev::DevCommand),
}

#[derive(Subcommand)]
enum InventoryCommand {
    /// Check an inventory file (CSV, JSON or YAML) and write nothing
    ///
    /// Every problem is listed, each naming the file, the record (CSV row,
    /// JSON/YAML record number) and the field. Exit status 1 if any record is bad.
    Validate {
        /// The inventory file: .csv, .json, .yaml or .yml
        file: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Validate a whole file, then write it to the connectors table
    ///
    /// If any record is bad, nothing is written. New connectors are created,
    /// changed ones updated (keyturn keeps their status, lease and history),
    /// unchanged ones left alone, so importing the same file twice is free.
    Import {
        file: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
    /// Write a DRAFT inventory from what vendors say exists
    ///
    /// Atlassian (--atlassian-org): the organization's user directories and
    /// API keys (with their expiry) through the Admin APIs, authenticated with
    /// an organization API key taken from an environment variable (never from
    /// the command line). Entra (--entra): every app registration's client
    /// secrets, with their expiry and owner. Okta (--okta): every OAuth app's
    /// client secrets (which carry no expiry: see --okta-max-age). --self:
    /// keyturn's own Entra app's client secret. The draft leaves what the
    /// vendors do not know as TODOs for a person: nothing is imported.
    Discover {
        /// The Atlassian organization id (from the admin.atlassian.com URL)
        #[arg(long, value_name = "ORG")]
        atlassian_org: Option<String>,
        /// Every Entra app registration's client secrets, with their expiry and
        /// owner (Graph, with keyturn's own app: KEYTURN_ENTRA_SECRET)
        #[arg(long)]
        entra: bool,
        /// Every Okta OAuth app's client secrets (keyturn's Okta API token: KEYTURN_OKTA_SECRET)
        #[arg(long)]
        okta: bool,
        /// keyturn's own credentials that can be connectors: its Entra app's client secret
        #[arg(long = "self")]
        own: bool,
        /// Okta client secrets carry no expiry: a drafted one expires this many days after it was created
        #[arg(long, value_name = "DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
        okta_max_age: u32,
        /// Where to write the draft (YAML)
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// Environment variable holding an organization API key with read access
        #[arg(long, value_name = "VAR", default_value = "ATLASSIAN_ADMIN_API_KEY")]
        api_key_env: String,
        /// Environment variable holding a directory's SCIM API key: every listed
        /// directory is probed with it, and only one that answers gets its id
        /// written as `directory_id` (the admin API's ids are not known to be SCIM ids)
        #[arg(long, value_name = "VAR")]
        scim_key_env: Option<String>,
        /// Overwrite FILE if it exists
        #[arg(long)]
        force: bool,
    },
    /// List connectors, soonest expiry first
    List {
        /// Only connectors expiring within this many days (expired ones included)
        #[arg(long, value_name = "DAYS")]
        due_within: Option<u32>,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        clock: ClockArgs,
    },
}

#[derive(Args)]
struct ScanArgs {
    /// Decide everything, write nothing, start nothing
    #[arg(long)]
    dry_run: bool,
    /// Only connectors whose id starts with this, e.g. `atlassian/acme/` (a targeted run)
    #[arg(long, value_name = "ID_PREFIX")]
    only: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    clock: ClockArgs,
}

#[derive(Args, Clone, Copy)]
struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Args, Clone)]
struct ClockArgs {
    /// Act as if it were this time (RFC 3339, e.g. 2026-11-24T09:00:00Z): rehearse a future scan
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<OffsetDateTime>,
}

impl ClockArgs {
    fn now(&self) -> OffsetDateTime {
        self.now.unwrap_or_else(OffsetDateTime::now_utc)
    }
}

fn parse_now(raw: &str) -> Result<OffsetDateTime, String> {
    parse_instant(raw).ok_or_else(|| format!("{raw:?} is not an RFC 3339 time such as 2026-11-24T09:00:00Z"))
}

/// A failure already explained to the user on stderr; exit non-zero quietly.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported")
    }
}

impl std::error::Error for Reported {}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYTURN_LOG")
                // The SDK's credential chain warns for each source it tries;
                // the one error that matters is reported below, with a hint.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,aws_config=error")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inventory(InventoryCommand::Validate { file, out, clock }) => {
            inventory::validate(&file, out.format, clock.now())
        }
        Command::Inventory(InventoryCommand::Import { file, out, clock }) => {
            inventory::import(&file, out.format, clock.now()).await
        }
        Command::Inventory(InventoryCommand::Discover {
            atlassian_org,
            entra,
            okta,
            own,
            okta_max_age,
            out,
            api_key_env,
            scim_key_env,
            force,
        }) => {
            let sources = inventory::Sources {
                atlassian_org,
                api_key_env,
                scim_key_env,
                entra,
                okta,
                own,
                okta_max_age: time::Duration::days(i64::from(okta_max_age)),
            };
            inventory::discover(&sources, &out, force).await
        }
        Command::Inventory(InventoryCommand::List { due_within, out, clock }) => {
            inventory::list(due_within, out.format, clock.now()).await
        }
        Command::Scan(args) => scan::run(args.dry_run, args.only, args.out.format, args.clock.now()).await,
        Command::Audit(cmd) => audit::run(cmd).await,
        Command::Status { out, clock } => status::run(out.format, clock.now()).await,
        Command::Changes(cmd) => changes::run(cmd).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "keyturn", &mut std::io::stdout());
            Ok(())
        }
        Command::Connector(cmd) => connector::run(cmd).await,
        Command::Approvers(cmd) => approvers::run(cmd).await,
        Command::Links(cmd) => approvers::run_links(cmd).await,
        Command::Dev(cmd) => dev::run(cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Reported>() => ExitCode::FAILURE,
        // Output written through a writer (CSV, JSON) rather than outln!
        // reports the closed pipe as an error: the same quiet end.
        Err(e) if out::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote what they refused (a file's header, an id, an answer).
            let text = render::safe_lines(&format!("{e:#}")).into_owned();
            match no_credentials(&text) {
                Some(short) => eprintln!(
                    "error: {short}\n\
                     hint: keyturn found no AWS credentials and AWS_ENDPOINT_URL is not set.\n  \
                     the local stack (make up):  set -a; . dev/local.env; set +a\n  \
                     AWS:  AWS_PROFILE (or aws sso login / access keys) and AWS_REGION"
                ),
                None => eprintln!("error: {text}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// The readable head of an SDK error that could not load credentials (its
/// full text is a page of nested debug output), when that is what it is.
fn no_credentials(text: &str) -> Option<&str> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        return None;
    }
    let markers = ["loading credentials", "no credentials found", "no providers in chain"];
    markers.iter().find(|m| text.contains(**m))?;
    // The first line, without the provider list or the debug dump after it.
    let line = text.lines().next().unwrap_or_default();
    let line = line.split(" (").next().unwrap_or(line);
    Some(line.trim_end_matches(" Attempted:"))
}

/// The docs cannot rot: every `keyturn …` line in a shell block of the README
/// and docs/ must parse with this CLI (what each command does is proven by
/// the end-to-end tests).
#[cfg(test)]
mod docs {
    use clap::Parser;

    /// Shell words, honouring '…' and "…" (enough for documentation lines).
    fn words(line: &str) -> Vec<String> {
        let (mut out, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => cur.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    any = true;
                }
                (None, c) if c.is_whitespace() => {
                    if any || !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    any = false;
                }
                (None, c) => cur.push(c),
            }
        }
        if any || !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    /// `keyturn …` commands in ```sh / ```bash / ```console blocks, up to a
    /// pipe, redirection, `&&` or comment.
    fn commands(markdown: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut in_shell = false;
        for line in markdown.lines() {
            let t = line.trim();
            if let Some(lang) = t.strip_prefix("```") {
                in_shell = !in_shell && matches!(lang, "sh" | "bash" | "console" | "shell");
                continue;
            }
            let t = t.trim_start_matches("$ ");
            if in_shell && t.starts_with("keyturn ") {
                let cut = [" |", " >", " &&", " #", " 2>"].iter().filter_map(|m| t.find(m)).min().unwrap_or(t.len());
                out.push(t[..cut].trim().to_owned());
            }
        }
        out
    }

    #[test]
    fn every_documented_command_parses() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut files = vec![format!("{root}/README.md"), format!("{root}/infra/README.md")];
        for entry in std::fs::read_dir(format!("{root}/docs")).expect("docs/") {
            let path = entry.expect("a docs entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path.display().to_string());
            }
        }
        let mut checked = 0;
        let mut bad = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("a readable doc");
            for cmd in commands(&text) {
                checked += 1;
                use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
                match super::Cli::try_parse_from(words(&cmd)) {
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), DisplayHelp | DisplayVersion) => {}
                    Err(e) => bad.push(format!("{file}: `{cmd}`: {}", e.kind())),
                }
            }
        }
        assert!(checked >= 20, "only {checked} documented commands found: is the extraction broken?");
        assert!(bad.is_empty(), "documented commands this CLI rejects:\n{}", bad.join("\n"));
    }

    #[test]
    fn shell_words_and_command_extraction() {
        assert_eq!(
            words(r#"keyturn connector resolve a/b --note "fixed it" ''"#),
            ["keyturn", "connector", "resolve", "a/b", "--note", "fixed it", ""]
        );
        let md = "```sh\nkeyturn status --format json | jq .\n$ keyturn scan  # daily\n```\nkeyturn not-in-a-block\n";
        assert_eq!(commands(md), ["keyturn status --format json", "keyturn scan"]);
    }
}
