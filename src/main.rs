use std::process::ExitCode;

use appconfigd::cli;
use clap::{Parser, Subcommand};

/// A self-hosted, wire-compatible AWS AppConfig. Point the AWS SDKs, the AWS CLI or Terraform
/// at it with `--endpoint-url http://127.0.0.1:2772`.
#[derive(Parser)]
#[command(name = "appconfigd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the AppConfig server.
    Serve(Box<appconfigd::server::ServeConfig>),
    /// Write every resource of the account (content included) to a JSON file.
    Export(appconfigd::cli::export::ExportArgs),
    /// Create every resource of an export file on a server (new ids; references mapped).
    Import(appconfigd::cli::export::ImportArgs),
    /// Show live deployments with progress bars (`--watch` until none is live).
    Status(appconfigd::cli::status::StatusArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // appconfigd is self-hosted: asking the EC2 instance-metadata service for a region or
    // credentials only delays extension calls and reaches outside the machine. Users on EC2
    // can opt back in with AWS_EC2_METADATA_DISABLED=false. (Set before any thread starts.)
    if std::env::var_os("AWS_EC2_METADATA_DISABLED").is_none() {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("appconfigd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(cfg) => runtime.block_on(appconfigd::server::serve(*cfg)),
        Command::Export(a) => return cli::exit(runtime.block_on(cli::export::run_export(a))),
        Command::Import(a) => return cli::exit(runtime.block_on(cli::export::run_import(a))),
        Command::Status(a) => return cli::exit(runtime.block_on(cli::status::run(a))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appconfigd: {e}");
            ExitCode::FAILURE
        }
    }
}
