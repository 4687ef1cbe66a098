//! `shenas`: the command-line tool. It talks to readers directly through PC/SC, with or
//! without a running `shenasd`.

use std::process::ExitCode;

fn main() -> ExitCode {
    shenas_daemon::cli::main(std::env::args_os())
}
