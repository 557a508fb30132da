//! Amazon ECS's own API for ecsctl (issue 15), the parts that need no server: AWS JSON 1.1
//! errors as ECS shapes them ([`error`]), SigV4 verification ([`sigv4`]), access keys in the
//! AWS shared-credentials format ([`credentials`]) and ECS ARNs ([`arn`]). The server wires
//! them to its store and admission chain.
#![forbid(unsafe_code)]

pub mod arn;
pub mod credentials;
pub mod error;
pub mod sigv4;

pub use error::EcsError;

/// The `X-Amz-Target` prefix of ECS's operations.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
/// The content type of AWS JSON 1.1.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The account id ARNs carry unless `--aws-account-id` says otherwise.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
/// Where the server keeps the key it makes for itself, in its data directory.
pub const GENERATED_CREDENTIALS: &str = "aws-credentials";
/// Where the server leaves the ECS API's URL (with the port it bound), in its data
/// directory, for `ecsctl aws-env`.
pub const ENDPOINT_FILE: &str = "aws-api-endpoint";
