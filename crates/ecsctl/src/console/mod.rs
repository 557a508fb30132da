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
pub mod insights;
pub mod live;
pub mod pages;

use crate::client::{Client, objects_path};
use crate::error::ApiError;
use auth::Auth;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
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
    (
        "service_charts.html",
        include_str!("templates/service_charts.html"),
    ),
    (
        "service_targets.html",
        include_str!("templates/service_targets.html"),
    ),
    (
        "service_timeline.html",
        include_str!("templates/service_timeline.html"),
    ),
    ("task.html", include_str!("templates/task.html")),
    ("taskdef.html", include_str!("templates/taskdef.html")),
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
const LOGS_JS: &str = include_str!("static/logs.js");

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
        .route("/clusters/{cluster}/tasks/{id}", get(task))
        .route("/clusters/{cluster}/tasks/{id}/logs", get(task_logs))
        .route("/taskdefinitions/{family}", get(taskdef))
        .route("/events", get(events))
        .merge(actions::routes())
        .route("/static/console.css", get(|| static_file("text/css", CSS)))
        .route(
            "/static/console.js",
            get(|| static_file("text/javascript", JS)),
        )
        .route(
            "/static/logs.js",
            get(|| static_file("text/javascript", LOGS_JS)),
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

/// The not-found page saying `what`, with `status` (404, or 400 for a bad query).
fn not_found(c: &Console, what: &str, status: StatusCode) -> PageError {
    let heading = if status == StatusCode::NOT_FOUND {
        "Not found"
    } else {
        "Bad request"
    };
    let ctx = serde_json::json!({ "what": what, "heading": heading });
    match page(c, "not_found.html", &ctx, "*", None) {
        Ok(html) => PageError(html.0, status),
        Err(e) => e,
    }
}

/// `Err(e)` of a lookup: whether the server said it does not exist.
fn is_not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>()
        .is_some_and(ApiError::is_not_found)
}

async fn list(c: &Console, kind: api::Kind, cluster: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let list: api::wire::ObjectList<Value> = c
        .client
        .get(&objects_path(kind, None, cluster, None))
        .await?;
    Ok(list.items)
}

/// The tasks (of `cluster`, with the label `selector`) as the overview and the service
/// page read them: [`pages::TaskSummary`], each as an object.
async fn task_summaries(
    c: &Console,
    cluster: Option<&str>,
    selector: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let list: api::wire::ObjectList<pages::TaskSummary> = c
        .client
        .get(&objects_path(api::Kind::Task, None, cluster, selector))
        .await?;
    Ok(list
        .items
        .into_iter()
        .map(pages::TaskSummary::into_value)
        .collect())
}

/// The GitOps sources' status; `None` when the console's identity may not read it (403: it
/// spans every cluster).
async fn sources(c: &Console) -> anyhow::Result<Option<Vec<api::wire::SyncStatus>>> {
    match c.client.get::<api::wire::SyncList>("/v1/syncs").await {
        Ok(list) => Ok(Some(list.items)),
        Err(e)
            if e.downcast_ref::<ApiError>()
                .is_some_and(|a| a.status == StatusCode::FORBIDDEN.as_u16()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
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
        task_summaries(&c, None, None),
        list(&c, api::Kind::ContainerInstance, None),
    )?;
    let state = pages::overview::State {
        clusters,
        services,
        tasks,
        instances,
        sources: sources(&c).await?,
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
        Err(e) if is_not_found(&e) => {
            let what = format!("There is no service {name} in cluster {cluster}.");
            return Err(not_found(&c, &what, StatusCode::NOT_FOUND));
        }
        Err(e) => return Err(e.into()),
    };
    let selector = format!("ecsctl.service={name}");
    let tasks = task_summaries(&c, Some(&cluster), Some(&selector)).await?;
    let now = OffsetDateTime::now_utc();
    let model = pages::service::view(&svc, &tasks, now);
    let fetched = insights::fetch(&c.client, &cluster, &name, &svc, now).await;
    let model = ServicePage {
        model,
        insights: pages::service_insights::view(&svc, &tasks, &fetched, now),
    };
    page(
        &c,
        "service.html",
        &model,
        &format!("{cluster}/{name}"),
        cookie_of(&headers),
    )
}

#[tracing::instrument(skip_all, fields(cluster = %cluster, task = %id))]
async fn task(
    State(c): State<Shared>,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let path = objects_path(api::Kind::Task, Some(&id), Some(&cluster), None);
    let task: Value = match c.client.get(&path).await {
        Ok(v) => v,
        Err(e) if is_not_found(&e) => {
            let what = format!("There is no task {id} in cluster {cluster}.");
            return Err(not_found(&c, &what, StatusCode::NOT_FOUND));
        }
        Err(e) => return Err(e.into()),
    };
    let model = pages::task::view(&task, OffsetDateTime::now_utc());
    page(
        &c,
        "task.html",
        &model,
        &format!("task:{cluster}/{id}"),
        cookie_of(&headers),
    )
}

/// `GET /clusters/C/tasks/ID/logs`: the task's logs as SSE, the last
/// [`pages::task::LOG_TAIL`] lines of each container then the lines as they are printed:
/// `line` events ([`pages::task::LogEvent`]), and a last `end` event
/// ([`pages::task::LogEnd`]: the containers stopped, or the server's error), after which the
/// page stops listening (a reconnect would start over from the tail).
#[tracing::instrument(skip_all, fields(cluster = %cluster, task = %id))]
async fn task_logs(
    State(c): State<Shared>,
    Path((cluster, id)): Path<(String, String)>,
) -> Response {
    let path = format!(
        "/v1/tasks/{}/logs?cluster={}&follow=true&tail={}",
        crate::client::encode(&id),
        crate::client::encode(&cluster),
        pages::task::LOG_TAIL
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(256);
    let end = |e: pages::task::LogEnd| {
        Event::default()
            .event("end")
            .json_data(&e)
            .unwrap_or_else(|_| Event::default().event("end"))
    };
    match c.client.stream(&path).await {
        Err(e) => {
            // The page shows why (no such task, no containers yet) instead of retrying.
            let _ = tx.try_send(Ok(end(pages::task::LogEnd::failed(format!("{e:#}")))));
        }
        Ok(mut lines) => {
            let several = lines
                .header(api::wire::CONTAINERS_HEADER)
                .is_some_and(|names| names.split(',').count() > 1);
            tokio::spawn(async move {
                let why = loop {
                    let next = tokio::select! {
                        next = lines.next::<api::wire::LogLine>() => next,
                        () = tx.closed() => return,
                    };
                    let line = match next {
                        Ok(Some(line)) => line,
                        Ok(None) => break pages::task::LogEnd::stopped(),
                        Err(e) => break pages::task::LogEnd::failed(format!("{e:#}")),
                    };
                    let event = pages::task::log_event(&line, several);
                    let Ok(sse) = Event::default().event("line").json_data(&event) else {
                        continue;
                    };
                    if tx.send(Ok(sse)).await.is_err() {
                        return;
                    }
                };
                let _ = tx.send(Ok(end(why))).await;
            });
        }
    }
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[tracing::instrument(skip_all, fields(family = %family))]
async fn taskdef(
    State(c): State<Shared>,
    Path(family): Path<String>,
    Query(query): Query<pages::taskdef::Query>,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let (revisions, services) = tokio::try_join!(
        list(&c, api::Kind::TaskDefinition, None),
        list(&c, api::Kind::Service, None),
    )?;
    let model = pages::taskdef::view(
        &family,
        &revisions,
        &services,
        &query,
        OffsetDateTime::now_utc(),
    );
    match model {
        Ok(model) => page(
            &c,
            "taskdef.html",
            &model,
            &format!("taskdef:{family}"),
            cookie_of(&headers),
        ),
        Err(pages::taskdef::PageError::NotFound(what)) => {
            Err(not_found(&c, &what, StatusCode::NOT_FOUND))
        }
        Err(pages::taskdef::PageError::BadRequest(what)) => {
            Err(not_found(&c, &what, StatusCode::BAD_REQUEST))
        }
    }
}

/// The service page's model: its objects and its pictures (charts, targets, timeline).
#[derive(Serialize)]
struct ServicePage {
    #[serde(flatten)]
    model: pages::service::Model,
    #[serde(flatten)]
    insights: pages::service_insights::Insights,
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

    #[test]
    fn the_service_page_draws_charts_targets_and_the_timeline() {
        use pages::service_insights::tests::{fetched, service};
        let svc = service();
        let page = ServicePage {
            model: pages::service::view(&svc, &[], pages::tests::now()),
            insights: pages::service_insights::view(&svc, &[], &fetched(), pages::tests::now()),
        };
        let html = rendered(
            "service.html",
            serde_json::to_value(page).unwrap(),
            "default/web",
        );
        for id in ["chart-cpu", "chart-memory", "chart-requests"] {
            assert!(
                html.contains(&format!(r#"<figure class="chart" id="{id}" tabindex="0""#)),
                "{id}: {html}"
            );
        }
        assert!(
            html.contains(r#"data-at="2026-01-01T00:09:01Z" data-value="60.0""#)
                || html.contains(r#"data-value="60""#),
            "{html}"
        );
        assert!(
            html.contains("<text x=\"58.0\""),
            "value labels left of the plot: {html}"
        );
        assert!(
            html.contains(">-5m</text>") && html.contains(">now</text>"),
            "{html}"
        );
        // The decision is a focusable mark with its words, escaped.
        assert!(
            html.contains(r#"<g class="mark" id="chart-cpu-mark-1" tabindex="0" aria-label="scaled from 1 to 3: CPU 90% &gt; target 50% (autoscaler web-cpu).">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<tr data-target="t1"><td><code>t1</code></td><td class="addr">172.17.0.5:80</td><td class="health unhealthy">unhealthy</td><td>Health checks failed</td><td class="requests">12</td>"#),
            "{html}"
        );
        assert!(
            !html.contains(r#"data-target="other""#),
            "another service's target"
        );
        assert!(
            html.contains(r#"<li class="lane primary" data-deployment="ecs-svc&#x2f;1">"#),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<li class="step started">created (web:1) <time datetime="2026-01-01T00:07:00Z""#
            ),
            "{html}"
        );
    }

    #[test]
    fn the_task_page_shows_containers_escaped_and_the_log_box() {
        let task = serde_json::json!({
            "metadata": {"name": "abc", "cluster": "shop", "labels": {"ecsctl.service": "web"}},
            "status": {"taskDefinition": "web:2", "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                       "healthStatus": "UNKNOWN", "stopCode": "EssentialContainerExited",
                       "stoppedAt": "2026-01-01T00:09:00Z",
                       "containers": [{"name": "app", "image": "i", "lastStatus": "STOPPED", "exitCode": 2,
                                       "reason": "<img src=x onerror=alert(1)>", "healthStatus": "UNKNOWN",
                                       "essential": true}]}});
        let model = pages::task::view(&task, pages::tests::now());
        let html = rendered(
            "task.html",
            serde_json::to_value(model).unwrap(),
            "task:shop/abc",
        );
        assert!(
            html.contains(r#"<td class="status stopped">STOPPED</td><td class="exit-code">2</td>"#),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x"), "{html}");
        assert!(
            html.contains(r#"<a href="&#x2f;taskdefinitions&#x2f;web?b=2">web:2</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="&#x2f;clusters&#x2f;shop&#x2f;services&#x2f;web">web</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<div id="logs" data-keep data-src="&#x2f;clusters&#x2f;shop&#x2f;tasks&#x2f;abc&#x2f;logs">"#),
            "{html}"
        );
        assert!(html.contains(r#"<script src="/static/logs.js" defer>"#));
        assert!(html.contains(r#"<time datetime="2026-01-01T00:09:00Z" title="2026-01-01T00:09:00Z">60s ago</time>"#), "{html}");
        assert!(
            html.contains(r#"data-watch="task:shop&#x2f;abc""#),
            "{html}"
        );
    }

    #[test]
    fn the_taskdef_page_marks_changed_lines_with_a_sign() {
        let td = |rev: u64, image: &str| {
            serde_json::json!({"metadata": {"name": "web", "revision": rev},
                               "spec": {"containerDefinitions": [{"name": "main", "image": image}]}})
        };
        let model = pages::taskdef::view(
            "web",
            &[td(1, "app:<v1>"), td(2, "app:v2")],
            &[],
            &pages::taskdef::Query::default(),
            pages::tests::now(),
        )
        .unwrap();
        let html = rendered(
            "taskdef.html",
            serde_json::to_value(model).unwrap(),
            "taskdef:web",
        );
        assert!(
            html.contains(
                r#"<td class="code del"><span class="sign">-</span>- image: app:&lt;v1&gt;</td>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<td class="code add"><span class="sign">+</span>- image: app:v2</td>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"<tr data-revision="2" class="shown">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<option value="1" selected>1</option>"#),
            "{html}"
        );
        assert!(html.contains("1 line removed (−)"), "{html}");
    }
}
