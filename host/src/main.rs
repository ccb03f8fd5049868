//! The `gauntlet` binary: parses the command line and dispatches. Errors are
//! printed as one line and mapped to the documented exit codes here.

use clap::Parser;
use gauntlet::commands::Cli;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GAUNTLET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.execute() {
        Ok(code) => std::process::ExitCode::from(code as u8),
        Err(e) => {
            anstream::eprintln!("error: {e}");
            std::process::ExitCode::from(e.exit_code() as u8)
        }
    }
}
