//! The `n2k-dbus` command line: thin glue over the library.
#![forbid(unsafe_code)]

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let daemon = matches!(args.command, cli::Command::Run(_));
    cli::init_logging(args.verbose, daemon);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("n2k-dbus: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
