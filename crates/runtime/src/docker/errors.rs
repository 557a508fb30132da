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
            Subject::Container(id) => {
                RuntimeError::NotFound(what_is_missing(&message, "container", id))
            }
            Subject::Network(n) => RuntimeError::NotFound(what_is_missing(&message, "network", n)),
            Subject::Volume(v) => RuntimeError::NotFound(what_is_missing(&message, "volume", v)),
            Subject::Create { .. } | Subject::Engine => {
                RuntimeError::NotFound(what_is_missing(&message, "", ""))
            }
        },
        // 403: Docker's "has active endpoints" and "pre-defined network" refusals.
        403 | 409 => match subject {
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

/// What a 404 says is missing: Docker's "No such container: X" and "network X not found"
/// become "container X" and "network X" (starting a container can fail on the container
/// whose namespace it joins, or on its network, not only on itself).
fn what_is_missing(message: &str, kind: &str, name: &str) -> String {
    if let Some(rest) = message.strip_prefix("No such container: ") {
        return format!("container {rest}");
    }
    if let Some(rest) = message.strip_suffix(" not found") {
        return rest.to_owned();
    }
    if kind.is_empty() {
        message.to_owned()
    } else {
        format!("{kind} {name}")
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
            map(server(404, "network nonet not found"), Subject::Container("abc")),
            RuntimeError::NotFound(m) if m == "network nonet"
        ));
        assert!(matches!(
            map(server(404, "get v1: no such volume"), Subject::Volume("v1")),
            RuntimeError::NotFound(m) if m == "volume v1"
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
