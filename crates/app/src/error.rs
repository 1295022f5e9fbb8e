use soxctl_store::StoreError;

/// Why a step was not taken. Each message says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The input is malformed or names something that does not exist in the
    /// way it must (HTTP 400, exit 2).
    #[error("{0}")]
    Invalid(String),
    /// A policy or a built-in rule forbids it (HTTP 403, exit 1).
    #[error("{0}")]
    Refused(String),
    /// No such request, grant or delegation (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The request is not in a state that allows it (decided, expired…) (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, WorkflowError>;

pub(crate) fn invalid(message: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid(message.into())
}

pub(crate) fn refused(message: impl Into<String>) -> WorkflowError {
    WorkflowError::Refused(message.into())
}

pub(crate) fn conflict(message: impl Into<String>) -> WorkflowError {
    WorkflowError::Conflict(message.into())
}

/// Checks a free-text field: present when required, not too long.
pub(crate) fn text(name: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(invalid(format!("the {name} may not be empty: say why")));
    }
    if value.len() > crate::MAX_TEXT_LEN {
        return Err(invalid(format!(
            "the {name} is longer than {} bytes: shorten it",
            crate::MAX_TEXT_LEN
        )));
    }
    soxctl_model::text::check_paragraph(name, value, crate::MAX_TEXT_LEN)
        .map_err(|e| invalid(e.to_string()))
}
