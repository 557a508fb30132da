//! Who makes each request. On TCP the bearer token names an identity of the `--tokens` file
//! (or the `--token-file` admin); no known token, 401. On the unix socket (mode 0600, so only
//! its owner connects) every request is an admin's. The identity rides along in the
//! request's extensions, where every handler reads it to authorize what it is asked.

use super::AppState;
use crate::error::ApiError;
use admission::access::Identity;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Puts the request's [`Identity`] in its extensions, or answers 401.
pub(crate) async fn auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let identity = match &state.identities {
        None => Identity::admin("unix socket"),
        Some(identities) => {
            let sent = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            match identities.identify(sent.as_bytes()) {
                Some(identity) => identity,
                None => return unauthorized(),
            }
        }
    };
    tracing::Span::current().record("identity", identity.name.as_str());
    req.extensions_mut().insert(identity);
    next.run(req).await
}

fn unauthorized() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "missing or wrong bearer token: pass --token-file",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    // Close after answering: a client without a known token must not keep the connection
    // (and the server's descriptor) for another try.
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}
