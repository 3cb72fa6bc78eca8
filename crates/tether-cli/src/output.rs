//! Printing that outlives its reader. `print!` panics (exit 101) when stdout is a
//! closed pipe (`tether schema URL | head -1`, or `| dot` without Graphviz); here a
//! reader that went away is not an error: the text is dropped and the command goes on
//! to its own exit code (a sync that copied and verified still exits 0).

use std::io::Write;

/// Writes `text` to stdout; a closed or failing stdout is ignored.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// Writes `text` to stderr; a closed or failing stderr is ignored.
pub fn err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `print!` that ignores a closed stdout.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::out(&format!($($arg)*)) };
}

/// `println!` that ignores a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::out(&format!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::err(&format!("{}\n", format_args!($($arg)*))) };
}
