//! The `gpurec` command line: `info`, `train`, `recommend`, `eval`, `bench`.

mod cli;
mod config;

use clap::{Parser, Subcommand};

/// Train and serve recommender models on the GPU (wgpu) or the CPU.
///
/// Every subcommand also takes `--config FILE`: a TOML file whose keys are its
/// long flags (e.g. `epochs = 50`); flags on the command line win.
#[derive(Parser)]
#[command(name = "gpurec", version, about, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the adapters found and show the chosen one's limits and features.
    Info(cli::info::InfoArgs),
    /// Train a model (on the embedded synthetic dataset unless --data is given) and evaluate it.
    Train(cli::train::TrainArgs),
    /// Top-K items for given users from a saved model, excluding what they have seen.
    Recommend(cli::serve::RecommendArgs),
    /// The items most similar to given items, by a saved model's item representation.
    Similar(cli::serve::SimilarArgs),
    /// Evaluate a saved model on the test part of its data.
    Eval(cli::serve::EvalArgs),
    /// Refit a saved embedding model's users (or items) to new interactions, adding new ones, without retraining.
    Update(cli::serve::UpdateArgs),
    /// Time training epochs and full-ranking evaluation per model on each backend, with work counts.
    Bench(cli::bench::BenchArgs),
}

fn main() {
    // Headless Vulkan drivers (Mesa's WSI) complain when XDG_RUNTIME_DIR is unset;
    // gpurec never presents, so point it somewhere harmless before any thread starts.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    // The CPU backend's per-op buffers: reused, not mapped and faulted in each time.
    gpurec::cpu::keep_freed_memory();
    if let Err(e) = gpurec::cpu::threads_from_env() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    let argv = match config::expand(std::env::args().collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            std::process::exit(2);
        }
    };
    let cli = Cli::parse_from(argv);
    let result = match cli.command {
        Some(Command::Info(a)) => cli::info::info(&a),
        Some(Command::Train(a)) => cli::train::train(&a),
        Some(Command::Recommend(a)) => cli::serve::recommend(&a),
        Some(Command::Eval(a)) => cli::serve::eval(&a),
        Some(Command::Similar(a)) => cli::serve::similar(&a),
        Some(Command::Update(a)) => cli::serve::update(&a),
        Some(Command::Bench(a)) => cli::bench::bench(&a),
        None => cli::train::train(&cli::train::TrainArgs::default()),
    };
    if let Err(e) = result {
        eprintln!("error: {}", report(&e));
        std::process::exit(1);
    }
}

/// The error and its causes, each cause once: gpurec's errors already print
/// their source (e.g. "path: No such file"), so a cause whose text is already
/// shown is not repeated.
fn report(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let m = cause.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
    }
    out
}
