//! The `gpurec` command line: `info`, `train`.

mod commands;

use clap::{Parser, Subcommand};

/// Train and serve recommender models on the GPU (wgpu) or the CPU.
#[derive(Parser)]
#[command(name = "gpurec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the adapters found and show the chosen one's limits and features.
    Info(commands::InfoArgs),
    /// Train a model (on the embedded synthetic dataset unless --data is given) and evaluate it.
    Train(commands::TrainArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Info(a)) => commands::info(&a),
        Some(Command::Train(a)) => commands::train(&a),
        None => commands::train(&commands::TrainArgs::default()),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
