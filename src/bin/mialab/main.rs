//! `mialab`: audit an ONNX model for membership leakage from the command line.
//!
//! The commands are thin: they read files, call the library, and print. Every error is
//! printed with its chain of causes, and a hint naming the flag that fixes it where there is
//! one, and exits with status 2.

mod audit_cmd;
mod encode_cmd;
mod hints;
mod inputs;
mod list_cmd;
mod progress_bar;
mod provided_cmd;
mod settings_args;
mod signals_cmd;
mod train_cmd;
mod zoo_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mialab",
    version,
    about = "Membership-inference attack lab: measure what a model leaks about its training records"
)]
struct Cli {
    /// Threads to spread record batches and bootstrap resamples over (default: every core).
    /// The results are the same bit for bit whatever the number.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run membership-inference attacks against a model on an audit set and measure them.
    Audit(Box<audit_cmd::AuditArgs>),
    /// Train reference models of the target's architecture here, on halves of the audit
    /// records, and write them as ONNX files with their keep-mask.
    TrainReferences(Box<train_cmd::TrainArgs>),
    /// Run the models once and write every signal the attacks read to an .npz file.
    Signals(Box<signals_cmd::SignalsArgs>),
    /// Write the membership-encoded queries of records (NDSS 2025 code-poisoning attack).
    Encode(Box<encode_cmd::EncodeArgs>),
    /// List the attacks with their papers and descriptions.
    Attacks(list_cmd::AttacksArgs),
    /// Show a model's inputs, outputs, operators and parameter count.
    Inspect(list_cmd::InspectArgs),
    /// List the bundled model zoo, or audit every target in it (--audit).
    Zoo(zoo_cmd::ZooArgs),
    /// Print the audit settings the flags resolve to, as JSON (the page sends the same).
    Settings(Box<settings_args::SettingsArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(threads) = cli.threads
        && let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global()
    {
        eprintln!("error: cannot start {threads} threads: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Audit(args) => audit_cmd::run(&args),
        Command::TrainReferences(args) => train_cmd::run(&args),
        Command::Signals(args) => signals_cmd::run(&args),
        Command::Encode(args) => encode_cmd::run(&args),
        Command::Attacks(args) => list_cmd::attacks(&args),
        Command::Inspect(args) => list_cmd::inspect(&args),
        Command::Zoo(args) => zoo_cmd::run(&args),
        Command::Settings(args) => settings_args::print(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if let Some(hint) = hints::hint(&error) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}
