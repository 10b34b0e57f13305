//! stdin and stdout without std's locking and line buffering: the adapter
//! buffers itself, and `Stdout` would flush at every newline byte of our
//! binary frames. The file descriptors are duplicated, which needs no
//! `unsafe`; elsewhere, or if that fails, the std handles are used.

use std::io::{self, Read, Write};

#[cfg(unix)]
pub(crate) fn input() -> Box<dyn Read> {
    use std::os::fd::AsFd;
    match io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdin()),
    }
}

#[cfg(unix)]
pub(crate) fn output() -> Box<dyn Write> {
    use std::os::fd::AsFd;
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdout()),
    }
}

#[cfg(not(unix))]
pub(crate) fn input() -> Box<dyn Read> {
    Box::new(io::stdin())
}

#[cfg(not(unix))]
pub(crate) fn output() -> Box<dyn Write> {
    Box::new(io::stdout())
}
