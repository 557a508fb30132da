//! `ecsctl console`: a local web server over the ecsctl server's API.
//!
//! It reads through the usual [`Client`] (unix socket, or TCP with token/TLS), renders pages
//! on the server side and streams the server's watch to the pages as server-sent events.
//! Every request needs the session cookie that the one-time URL printed at start sets
//! ([`auth`]).
//!
//! Templates: minijinja, not askama. Its templates are read at run time from strings
//! compiled into the binary, so they need no proc-macro build step (this machine's build
//! time is the scarce thing), and its autoescape for `.html` names keeps object names and
//! event messages from becoming markup.

pub mod actions;
pub mod auth;
pub mod live;
pub mod pages;

use crate::client::{Client, objects_path};
use crate::error::ApiError;
use auth::Auth;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::Environment;
use serde::Serialize;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio_stream::wrappers::ReceiverStream;

/// The templates, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("service.html", include_str!("templates/service.html")),
    ("not_found.html", include_str!("templates/not_found.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    (
        "action_error.html",
        include_str!("templates/action_error.html"),
    ),
];
/// The 401 page: how to get in.
const UNAUTHORIZED: &str = include_str!("templates/unauthorized.html");
const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// What every handler shares.
#[derive(Debug)]
struct Console {
    client: Client,
    auth: Auth,
    templates: Environment<'static>,
}

type Shared = Arc<Console>;

/// The template environment with every page (autoescaping HTML).
fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    // A name as one segment of a path (`/clusters/{{ c|urlencode }}/...`), as the pages' links.
    env.add_filter("urlencode", |s: String| crate::client::encode(&s));
    for (name, source) in TEMPLATES {
        // The templates are part of the binary: one that does not parse is a bug, and the
        // unit test `every_template_parses` catches it first.
        if let Err(e) = env.add_template(name, source) {
            panic!("console template {name}: {e}");
        }
    }
    env
}

/// Serves the console on `listener` until Ctrl-C; `token` opens the first session.
pub async fn serve(client: Client, listener: TcpListener, token: String) -> anyhow::Result<()> {
    let console = Arc::new(Console {
        client,
        auth: Auth::new(token),
        templates: templates(),
    });
    axum::serve(listener, router(console))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn router(console: Shared) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/clusters/{cluster}/services/{name}", get(service))
        .route("/events", get(events))
        .merge(actions::routes())
        .route("/static/console.css", get(|| static_file("text/css", CSS)))
        .route(
            "/static/console.js",
            get(|| static_file("text/javascript", JS)),
        )
        .layer(middleware::from_fn_with_state(console.clone(), session))
        .with_state(console)
}

/// Lets through requests with the session cookie; trades `/?token=T` for a session
/// (redirecting to `/` without the token); refuses the rest with 401.
async fn session(State(c): State<Shared>, req: Request, next: Next) -> Response {
    let cookie = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok());
    if c.auth.allows(cookie) {
        let mut answer = next.run(req).await;
        // No page of the console inside another site's frame (clicks on its actions).
        answer
            .headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        return answer;
    }
    let token = (req.uri().path() == "/")
        .then(|| req.uri().query())
        .flatten()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("token=")));
    if let Some(session) = token.and_then(|t| c.auth.redeem(t)) {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, HeaderValue::from_static("/"));
        if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&session)) {
            headers.insert(header::SET_COOKIE, v);
        }
        return (StatusCode::SEE_OTHER, headers).into_response();
    }
    (StatusCode::UNAUTHORIZED, Html(UNAUTHORIZED)).into_response()
}

async fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A page that could not be made: its status and a short text.
#[derive(Debug)]
struct PageError(String, StatusCode);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        (self.1, Html(self.0)).into_response()
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        let status = match e.downcast_ref::<ApiError>() {
            Some(a) if a.is_not_found() => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_GATEWAY,
        };
        PageError(
            format!(
                "<!doctype html><title>ecsctl console</title><h1>The ecsctl server did not answer</h1><p>{}</p>",
                minijinja::HtmlEscape(&format!("{e:#}"))
            ),
            status,
        )
    }
}

/// Renders a template with `ctx`.
fn render(env: &Environment<'static>, name: &str, ctx: &Value) -> Result<String, String> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("console template {name}: {e:#}"))
}

/// A page: the model's fields and `watch` (what the page's script refreshes for); with the
/// request's `Cookie` header, also its session's anti-forgery token (`csrf`, for the action
/// forms) and flash message (`flash`, shown once).
fn page<M: Serialize>(
    c: &Console,
    name: &str,
    model: &M,
    watch: &str,
    session: Option<&str>,
) -> Result<Html<String>, PageError> {
    let mut ctx = serde_json::to_value(model)
        .map_err(|e| PageError(e.to_string(), StatusCode::INTERNAL_SERVER_ERROR))?;
    ctx["watch"] = Value::String(watch.to_string());
    if session.is_some() {
        ctx["csrf"] = serde_json::json!(c.auth.csrf(session));
        ctx["flash"] = serde_json::json!(c.auth.take_flash(session));
    }
    render(&c.templates, name, &ctx)
        .map(Html)
        .map_err(|e| PageError(e, StatusCode::INTERNAL_SERVER_ERROR))
}

async fn list(c: &Console, kind: api::Kind, cluster: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let list: api::wire::ObjectList<Value> = c
        .client
        .get(&objects_path(kind, None, cluster, None))
        .await?;
    Ok(list.items)
}

/// The request's `Cookie` header.
fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::COOKIE).and_then(|v| v.to_str().ok())
}

#[tracing::instrument(skip_all)]
async fn overview(State(c): State<Shared>, headers: HeaderMap) -> Result<Html<String>, PageError> {
    let (clusters, services, tasks, instances) = tokio::try_join!(
        list(&c, api::Kind::Cluster, None),
        list(&c, api::Kind::Service, None),
        list(&c, api::Kind::Task, None),
        list(&c, api::Kind::ContainerInstance, None),
    )?;
    let state = pages::overview::State {
        clusters,
        services,
        tasks,
        instances,
    };
    let model = pages::overview::view(&state, OffsetDateTime::now_utc());
    page(&c, "overview.html", &model, "*", cookie_of(&headers))
}

#[tracing::instrument(skip_all, fields(cluster = %cluster, service = %name))]
async fn service(
    State(c): State<Shared>,
    Path((cluster, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let path = objects_path(api::Kind::Service, Some(&name), Some(&cluster), None);
    let svc: Value = match c.client.get(&path).await {
        Ok(v) => v,
        Err(e)
            if e.downcast_ref::<ApiError>()
                .is_some_and(ApiError::is_not_found) =>
        {
            let what = format!("There is no service {name} in cluster {cluster}.");
            let html = page(
                &c,
                "not_found.html",
                &serde_json::json!({ "what": what }),
                "*",
                None,
            )?;
            return Err(PageError(html.0, StatusCode::NOT_FOUND));
        }
        Err(e) => return Err(e.into()),
    };
    let selector = format!("ecsctl.service={name}");
    let tasks: api::wire::ObjectList<Value> = c
        .client
        .get(&objects_path(
            api::Kind::Task,
            None,
            Some(&cluster),
            Some(&selector),
        ))
        .await?;
    let model = pages::service::view(&svc, &tasks.items, OffsetDateTime::now_utc());
    page(
        &c,
        "service.html",
        &model,
        &format!("{cluster}/{name}"),
        cookie_of(&headers),
    )
}

/// `GET /events`: the server's watch from now on, as SSE `change` events (see
/// [`live::Change`]), until the page goes away or the watch ends.
async fn events(State(c): State<Shared>) -> Result<Response, PageError> {
    let from = c
        .client
        .get::<api::wire::Health>("/v1/health")
        .await?
        .revision;
    // Opened before the answer starts: every write after `from` reaches the page.
    let mut watch = c.client.watch(from).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(64);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                next = watch.next::<Value>() => next,
                () = tx.closed() => return,
            };
            let event = match next {
                Ok(Some(ev)) => ev,
                Ok(None) => return,
                Err(e) => {
                    tracing::info!(error = %e, "console: the watch ended");
                    return;
                }
            };
            let Some(change) = live::change_of(&event) else {
                continue;
            };
            let Ok(sse) = Event::default().event("change").json_data(&change) else {
                continue;
            };
            if tx.send(Ok(sse)).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let env = templates();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }

    // minijinja's HTML escape writes `/` as `&#x2f;` (browsers read it back as `/`).
    fn rendered(name: &str, model: Value, watch: &str) -> String {
        let mut ctx = model;
        ctx["watch"] = Value::String(watch.into());
        render(&templates(), name, &ctx).unwrap()
    }

    #[test]
    fn the_overview_shows_services_escaped() {
        let state = pages::overview::State {
            services: vec![serde_json::json!({
                "metadata": {"name": "web", "cluster": "default"},
                "status": {"desiredCount": 2, "runningCount": 2, "pendingCount": 0,
                           "deployments": [pages::tests::deployment("ecs-svc/1", "PRIMARY", "COMPLETED", 2, 2)],
                           "events": [{"id": "1", "createdAt": "2026-01-01T00:05:00Z",
                                       "message": "<script>alert(1)</script>"}]}
            })],
            ..Default::default()
        };
        let model = pages::overview::view(&state, pages::tests::now());
        let html = rendered("overview.html", serde_json::to_value(model).unwrap(), "*");
        assert!(
            html.contains(
                r#"<a href="&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web">web</a>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="badge steady">steady</span>"#),
            "{html}"
        );
        assert!(html.contains(r#"<time datetime="2026-01-01T00:05:00Z" title="2026-01-01T00:05:00Z">5m ago</time>"#), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)"),
            "the event is listed: {html}"
        );
        assert!(html.contains(r#"data-watch="*""#));
    }

    #[test]
    fn the_service_page_shows_deployment_bars() {
        let svc = serde_json::json!({
            "metadata": {"name": "web", "cluster": "default"},
            "status": {"desiredCount": 2, "runningCount": 1, "pendingCount": 1,
                       "deployments": [pages::tests::deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", 1, 2)]}});
        let model = pages::service::view(&svc, &[], pages::tests::now());
        let html = rendered(
            "service.html",
            serde_json::to_value(model).unwrap(),
            "default/web",
        );
        assert!(html.contains(r#"<span class="ratio">1/2</span>"#), "{html}");
        assert!(html.contains(r#"style="width: 50%""#), "{html}");
        assert!(html.contains("IN_PROGRESS"), "{html}");
        assert!(html.contains(r#"data-watch="default&#x2f;web""#));
    }
}
