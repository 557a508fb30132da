//! Turning bollard's errors into [`RuntimeError`]s.
//!
//! The engine's HTTP status says what kind of failure it was; the message says what it was
//! about (Docker answers 404 both for "No such image" and "No such container").

use bollard::errors::Error as BollardError;

use crate::error::RuntimeError;

/// What the failing call was about, so a 404 names the right thing.
#[derive(Debug, Clone, Copy)]
pub(super) enum Subject<'a> {
    /// A call on one container.
    Container(&'a str),
    /// Creating a container from an image.
    Create { name: &'a str, image: &'a str },
    /// A call on a network.
    Network(&'a str),
    /// A call on a volume.
    Volume(&'a str),
    /// A call on an exec instance or the engine itself.
    Engine,
}

/// Maps a bollard error. [`RuntimeError::Unavailable`] means the connection failed (the
/// caller drops its client so the next call reconnects).
pub(super) fn map(err: BollardError, subject: Subject<'_>) -> RuntimeError {
    match err {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => map_status(status_code, message, subject),
        BollardError::IOError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::HyperLegacyError { .. }
        | BollardError::RequestTimeoutError
        | BollardError::SocketNotFoundError(_)
        | BollardError::APIVersionParseError {} => RuntimeError::Unavailable(err.to_string()),
        other => RuntimeError::Other(other.to_string()),
    }
}

fn map_status(status: u16, message: String, subject: Subject<'_>) -> RuntimeError {
    let lower = message.to_ascii_lowercase();
    match status {
        404 => match subject {
            Subject::Create { image, .. } if lower.contains("no such image") => {
                RuntimeError::ImageNotFound(image.to_owned())
            }
            Subject::Create { .. } => RuntimeError::NotFound(message),
            Subject::Container(id) => RuntimeError::NotFound(format!("container {id}")),
            Subject::Network(n) => RuntimeError::NotFound(format!("network {n}")),
            Subject::Volume(v) => RuntimeError::NotFound(format!("volume {v}")),
            Subject::Engine => RuntimeError::NotFound(message),
        },
        409 => match subject {
            Subject::Create { name, .. } if lower.contains("already in use") => {
                RuntimeError::Conflict(format!("container name {name} is already in use"))
            }
            _ => RuntimeError::Conflict(message),
        },
        400 => match subject {
            Subject::Create { .. } => RuntimeError::InvalidSpec(message),
            _ => RuntimeError::Other(message),
        },
        _ => RuntimeError::Other(format!("engine answered {status}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn missing_image_names_the_image() {
        let subject = Subject::Create {
            name: "web",
            image: "nope:1",
        };
        let err = map(server(404, "No such image: nope:1"), subject);
        assert_eq!(err, RuntimeError::ImageNotFound("nope:1".into()));
    }

    #[test]
    fn statuses_become_kinds() {
        let create = Subject::Create {
            name: "web",
            image: "img",
        };
        assert!(matches!(
            map(server(409, "Conflict. The container name \"/web\" is already in use"), create),
            RuntimeError::Conflict(m) if m.contains("web")
        ));
        assert!(matches!(
            map(server(404, "No such container: abc"), Subject::Container("abc")),
            RuntimeError::NotFound(m) if m == "container abc"
        ));
        assert!(matches!(
            map(server(400, "invalid mount"), create),
            RuntimeError::InvalidSpec(_)
        ));
        assert!(matches!(
            map(BollardError::RequestTimeoutError, Subject::Engine),
            RuntimeError::Unavailable(_)
        ));
    }
}
