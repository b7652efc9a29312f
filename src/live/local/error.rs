//! The local cluster's error: a gRPC-style code and the server's message, mapped to
//! [`LiveError`] in-process and to `tonic::Status` by the server.

use crate::live::{ErrorCode, LiveError};

/// The status codes the local cluster returns (the ones the real server uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    NotFound,
    AlreadyExists,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    FailedPrecondition,
    Internal,
}

/// A refused or failed local-cluster operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: Code,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(Code::PermissionDenied, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }

    /// As a [`LiveError`] for `operation`.
    pub fn into_live(self, operation: impl Into<String>) -> LiveError {
        let code = match self.code {
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists => ErrorCode::AlreadyExists,
            Code::InvalidArgument => ErrorCode::InvalidArgument,
            Code::PermissionDenied => ErrorCode::PermissionDenied,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::FailedPrecondition => ErrorCode::FailedPrecondition,
            Code::Internal => ErrorCode::Other,
        };
        LiveError::new(code, operation, self.message)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("local store: {e}"))
    }
}

impl From<prost::DecodeError> for ApiError {
    fn from(e: prost::DecodeError) -> Self {
        ApiError::internal(format!("local store holds an undecodable object: {e}"))
    }
}

/// Shorthand for local-cluster results.
pub type ApiResult<T> = Result<T, ApiError>;
