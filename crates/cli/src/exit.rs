//! The exit-code contract.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// The check ran and failed (verify found tampering, gate denied).
    CheckFailed = 1,
    /// Usage or input error.
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// An error with the exit code it maps to.
pub struct Failure {
    pub code: Exit,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: Exit::Usage,
            error: e.into(),
        }
    }
}

pub type CmdResult = Result<Exit, Failure>;

pub fn failed(code: Exit, error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code,
        error: error.into(),
    }
}

/// `bail!` for command functions: a usage or input error (exit 2).
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::exit::Failure::from(anyhow::anyhow!($($arg)*)))
    };
}
pub(crate) use usage;
