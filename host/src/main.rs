//! The `gauntlet` binary: parses the command line and dispatches. Errors are
//! printed as one line and mapped to the documented exit codes here.

use clap::Parser;
use gauntlet::commands::Cli;

fn main() -> std::process::ExitCode {
    restore_sigpipe();
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

/// Rust ignores SIGPIPE, so printing into a closed pipe
/// (`gauntlet diff x.wasm --json | head`) would panic. Like any Unix filter,
/// gauntlet should just stop: restore the default action.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
