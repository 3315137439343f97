//! `platform-emulator`: see the library docs (`platform_emulator`) for what
//! it emulates, its command line and its APIs.

use clap::Parser;
use platform_emulator::cli::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("platform-emulator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(platform_emulator::app::run(args));
    // Connection tasks still running are dropped without waiting.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("platform-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
