//! The console's actions: scale a service, force a new deployment, roll back, stop a task.
//! Each does what the CLI does, through the same function of [`crate::actions`].
//!
//! Every action is a `POST` of a plain HTML form (no script needed) and goes in two steps:
//! the form from the page asks, the console answers with a confirmation saying exactly what
//! will happen (for a rollback, the revision it goes to), and only the confirmation's form
//! (`confirm=yes`) acts. The page's script shows that answer in a modal `<dialog>` over the
//! page; without script it is a page of its own. Afterwards the browser is sent back (303) to the page with a flash
//! message saying what was done; a failure shows the server's answer (e.g. a viewer's 403).
//!
//! Who may act: the session cookie (checked by the console's middleware: 401 without it),
//! the session's anti-forgery token in the form (403 when missing or wrong, compared in
//! constant time), and a request from the console's own origin when the browser says where
//! it came from (`Origin`, `Sec-Fetch-Site`; 403 otherwise). A refused action changes nothing.

use super::auth::{self, Flash};
use super::pages::{service_href, task_href, task_service};
use super::{Shared, cookie_of, page};
use crate::actions::{self, NothingToRollBackTo, Stop};
use crate::client::objects_path;
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// The stop reason of a task stopped from the console.
pub const STOP_REASON: &str = "Stopped from the console";

/// The form field that turns the request into the action itself (the confirmation page's).
const CONFIRM_FIELD: &str = "confirm";

/// What the templates' `watch` is on pages that have nothing to follow live.
const WATCH_NOTHING: &str = "-";

/// The action routes (merged into the console's router, behind its session check).
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/clusters/{cluster}/services/{name}/scale", post(scale))
        .route(
            "/clusters/{cluster}/services/{name}/force-deployment",
            post(force_deployment),
        )
        .route(
            "/clusters/{cluster}/services/{name}/rollback",
            post(rollback),
        )
        .route("/clusters/{cluster}/tasks/{id}/stop", post(stop_task))
}

/// Why an action was refused before anything was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The browser says the request comes from another site.
    CrossSite,
    /// No anti-forgery token, or not this session's.
    Csrf,
    /// The body is no form.
    NotAForm,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Refusal::CrossSite => {
                "The request came from another site (its Origin or Sec-Fetch-Site header says so). Actions are taken only from the console's own pages."
            }
            Refusal::Csrf => {
                "The form's anti-forgery token is missing or is not this session's. Reload the page and try again."
            }
            Refusal::NotAForm => {
                "The request's body is not a form (application/x-www-form-urlencoded)."
            }
        }
    }
}

/// Checks the request's origin when the browser names it: `Sec-Fetch-Site` must be
/// `same-origin`, and `Origin` must be this console (`scheme://` + the `Host` header).
pub fn check_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
    {
        return Err(Refusal::CrossSite);
    }
    if let Some(origin) = text(header::ORIGIN) {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        let host = text(header::HOST);
        match (authority, host) {
            (Some(a), Some(h)) if a.eq_ignore_ascii_case(h) => {}
            _ => return Err(Refusal::CrossSite),
        }
    }
    Ok(())
}

/// An action's form: its fields (the last of each name).
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Form, Refusal> {
        if std::str::from_utf8(body).is_err() {
            return Err(Refusal::NotAForm);
        }
        Ok(Form(form_urlencoded::parse(body).into_owned().collect()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether this is the confirmation page's form.
    pub fn confirmed(&self) -> bool {
        self.get(CONFIRM_FIELD) == Some("yes")
    }
}

/// A desired count as typed: a whole number from 0 up.
pub fn parse_count(given: Option<&str>) -> Result<u32, String> {
    let given = given.map(str::trim).unwrap_or_default();
    if given.is_empty() {
        return Err("Give the desired number of tasks (a whole number from 0 up).".into());
    }
    given.parse::<u32>().map_err(|_| {
        format!("The desired number of tasks must be a whole number from 0 up, not {given:?}.")
    })
}

/// A confirmation page: what will happen, and the form that does it.
#[derive(Debug, Serialize, PartialEq)]
pub struct Confirm {
    pub heading: String,
    /// What will happen, a paragraph each.
    pub says: Vec<String>,
    /// Where the form posts.
    pub action: String,
    /// Hidden fields (besides the anti-forgery token and `confirm=yes`).
    pub fields: Vec<(String, String)>,
    pub button: String,
    /// Where "Cancel" goes.
    pub back: String,
}

/// A page saying an action was refused or failed.
#[derive(Debug, Serialize)]
struct Problem {
    heading: String,
    message: String,
    back: String,
}

/// The page of a refused or failed action, with its status.
fn problem(c: &Shared, status: StatusCode, heading: &str, message: String, back: &str) -> Response {
    let model = Problem {
        heading: heading.to_string(),
        message,
        back: back.to_string(),
    };
    match page(c, "action_error.html", &model, WATCH_NOTHING, None) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The status and page of an action the server (or the action's own checks) turned down:
/// the server's own status for its 4xx answers (a viewer's 403, a 404, a 400 of a bad
/// value), 502 for its failures, 409 for what the service's state does not allow.
fn failed(c: &Shared, e: &anyhow::Error, back: &str) -> Response {
    let status = match e.downcast_ref::<ApiError>() {
        Some(a) if (400..500).contains(&a.status) => {
            StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        Some(_) => StatusCode::BAD_GATEWAY,
        None => StatusCode::CONFLICT,
    };
    let heading = if status == StatusCode::FORBIDDEN {
        "The server refused the action"
    } else {
        "The action failed"
    };
    tracing::info!(error = %format!("{e:#}"), %status, "console: an action failed");
    problem(
        c,
        status,
        heading,
        format!("{e:#}. Nothing was changed."),
        back,
    )
}

/// The checks every action passes first: the origin and the anti-forgery token. Returns the
/// form, or why it was refused ([`refused`] makes its page).
fn guard(c: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Form, Refusal> {
    check_origin(headers)?;
    let form = Form::parse(body)?;
    if !c
        .auth
        .check_csrf(cookie_of(headers), form.get(auth::CSRF_FIELD))
    {
        return Err(Refusal::Csrf);
    }
    Ok(form)
}

/// The page of a refused action: 403 (400 for a body that is no form).
fn refused(c: &Shared, r: Refusal, back: &str) -> Response {
    let status = if r == Refusal::NotAForm {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::FORBIDDEN
    };
    tracing::info!(refusal = ?r, "console: an action was refused");
    problem(
        c,
        status,
        "Action refused",
        format!("{} Nothing was changed.", r.message()),
        back,
    )
}

/// The confirmation page of `confirm`, with the session's anti-forgery token.
fn confirmation(c: &Shared, headers: &HeaderMap, confirm: &Confirm) -> Response {
    match page(
        c,
        "confirm.html",
        confirm,
        WATCH_NOTHING,
        cookie_of(headers),
    ) {
        Ok(html) => html.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Done: back (303) to `to`, with `message` for the next page.
fn done(c: &Shared, headers: &HeaderMap, to: &str, message: String) -> Response {
    tracing::info!(%message, "console: action done");
    c.auth.set_flash(cookie_of(headers), Flash { message });
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// The service's spec desiredCount (or, when unset, its status's), its running count and
/// the task definition its PRIMARY deployment runs.
async fn service_facts(
    c: &Shared,
    cluster: &str,
    name: &str,
) -> anyhow::Result<(u32, u32, String)> {
    let svc = actions::get_service(&c.client, cluster, name).await?;
    let spec = actions::service_spec(&svc)?;
    let st = actions::status_of(&svc);
    let desired = spec.desired_count.map_or(st.desired_count, |n| n.get());
    let td = st
        .primary()
        .map_or(spec.task_definition.clone(), |d| d.task_definition.clone());
    Ok((desired, st.running_count, td))
}

#[tracing::instrument(skip_all, fields(cluster = %cluster, service = %name))]
async fn scale(
    State(c): State<Shared>,
    Path((cluster, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let back = service_href(&cluster, &name);
    let form = match guard(&c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return refused(&c, r, &back),
    };
    let count = match parse_count(form.get("desired_count")) {
        Ok(n) => n,
        Err(msg) => {
            let msg = format!("{msg} Nothing was changed.");
            return problem(
                &c,
                StatusCode::BAD_REQUEST,
                "Not a number of tasks",
                msg,
                &back,
            );
        }
    };
    if !form.confirmed() {
        return match service_facts(&c, &cluster, &name).await {
            Ok((desired, _, _)) => confirmation(
                &c,
                &headers,
                &scale_confirm(&cluster, &name, desired, count),
            ),
            Err(e) => failed(&c, &e, &back),
        };
    }
    match actions::scale(&c.client, &cluster, &name, count).await {
        Ok(true) => done(
            &c,
            &headers,
            &back,
            format!("service {name} scaled to {count}"),
        ),
        Ok(false) => done(
            &c,
            &headers,
            &back,
            format!("service {name} already wanted {count} tasks: nothing changed"),
        ),
        Err(e) => failed(&c, &e, &back),
    }
}

pub fn scale_confirm(cluster: &str, name: &str, from: u32, to: u32) -> Confirm {
    let href = service_href(cluster, name);
    Confirm {
        heading: format!("Scale service/{name}?"),
        says: vec![
            format!("Desired tasks: from {from} to {to} (cluster {cluster})."),
            "The service starts or stops tasks at once (as ecsctl scale does).".into(),
        ],
        action: format!("{href}/scale"),
        fields: vec![("desired_count".into(), to.to_string())],
        button: format!("Scale to {to}"),
        back: href,
    }
}

#[tracing::instrument(skip_all, fields(cluster = %cluster, service = %name))]
async fn force_deployment(
    State(c): State<Shared>,
    Path((cluster, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let back = service_href(&cluster, &name);
    let form = match guard(&c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return refused(&c, r, &back),
    };
    if !form.confirmed() {
        return match service_facts(&c, &cluster, &name).await {
            Ok((_, running, td)) => {
                confirmation(&c, &headers, &force_confirm(&cluster, &name, running, &td))
            }
            Err(e) => failed(&c, &e, &back),
        };
    }
    match actions::force_new_deployment(&c.client, &cluster, &name).await {
        Ok(()) => done(
            &c,
            &headers,
            &back,
            format!("service {name}: a new deployment was forced; its tasks are being replaced"),
        ),
        Err(e) => failed(&c, &e, &back),
    }
}

pub fn force_confirm(cluster: &str, name: &str, running: u32, td: &str) -> Confirm {
    let href = service_href(cluster, name);
    Confirm {
        heading: format!("Force a new deployment of service/{name}?"),
        says: vec![
            format!(
                "A new deployment of {td} replaces every task of the service ({running} running now), within its rolling bounds."
            ),
            "The same as ecsctl rollout restart (ECS's --force-new-deployment).".into(),
        ],
        action: format!("{href}/force-deployment"),
        fields: vec![],
        button: "Force new deployment".into(),
        back: href,
    }
}

#[tracing::instrument(skip_all, fields(cluster = %cluster, service = %name))]
async fn rollback(
    State(c): State<Shared>,
    Path((cluster, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let back = service_href(&cluster, &name);
    let form = match guard(&c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return refused(&c, r, &back),
    };
    let plan = match actions::plan_rollback(&c.client, &cluster, &name, None).await {
        Ok(p) => p,
        Err(e) if e.downcast_ref::<NothingToRollBackTo>().is_some() => {
            return problem(
                &c,
                StatusCode::CONFLICT,
                "Nothing to roll back to",
                format!("{e}. Nothing was changed."),
                &back,
            );
        }
        Err(e) => return failed(&c, &e, &back),
    };
    if !form.confirmed() {
        return confirmation(&c, &headers, &rollback_confirm(&cluster, &name, &plan));
    }
    // The confirmation named a revision: act only if that is still where it goes.
    if form.get("to") != Some(plan.to.as_str()) {
        return problem(
            &c,
            StatusCode::CONFLICT,
            "The service changed",
            format!(
                "The confirmation was for a rollback to {}, but a rollback now goes to {}. Nothing was changed: look at the page again.",
                form.get("to").unwrap_or("(none)"),
                plan.to
            ),
            &back,
        );
    }
    match actions::roll_back(&c.client, &cluster, &name, &plan.to).await {
        Ok(true) => done(
            &c,
            &headers,
            &back,
            format!(
                "service {name} rolled back from {} to {}",
                plan.from, plan.to
            ),
        ),
        Ok(false) => done(
            &c,
            &headers,
            &back,
            format!("service {name} already runs {}: nothing changed", plan.to),
        ),
        Err(e) => failed(&c, &e, &back),
    }
}

pub fn rollback_confirm(cluster: &str, name: &str, plan: &actions::Rollback) -> Confirm {
    let href = service_href(cluster, name);
    Confirm {
        heading: format!("Roll back service/{name} to {}?", plan.to),
        says: vec![
            format!(
                "From {} to {}, the task definition deployed before.",
                plan.from, plan.to
            ),
            format!(
                "This pins {}: later revisions are not deployed until the service's task definition is changed again (as with ecsctl rollout undo).",
                plan.to
            ),
        ],
        action: format!("{href}/rollback"),
        fields: vec![("to".into(), plan.to.clone())],
        button: format!("Roll back to {}", plan.to),
        back: href,
    }
}

#[tracing::instrument(skip_all, fields(cluster = %cluster, task = %id))]
async fn stop_task(
    State(c): State<Shared>,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Back to the task's own page when it was stopped from there (`from=task`), else to
    // its service's page, once the task says which that is.
    let form = match guard(&c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return refused(&c, r, "/"),
    };
    let path = objects_path(api::Kind::Task, Some(&id), Some(&cluster), None);
    let task: Value = match c.client.get(&path).await {
        Ok(t) => t,
        Err(e) => return failed(&c, &e, "/"),
    };
    let from_task_page = form.get("from") == Some("task");
    let back = if from_task_page {
        task_href(&cluster, &id)
    } else {
        task_service(&task).map_or("/".to_string(), |s| service_href(&cluster, s))
    };
    if !form.confirmed() {
        let mut confirm = stop_confirm(&cluster, &id, &task, &back);
        if from_task_page {
            confirm.fields.push(("from".into(), "task".into()));
        }
        return confirmation(&c, &headers, &confirm);
    }
    match actions::stop_task(&c.client, &cluster, &id, STOP_REASON).await {
        Ok(Stop::Stopping) => done(
            &c,
            &headers,
            &back,
            format!("task {id} stopping ({STOP_REASON})"),
        ),
        Ok(Stop::Stopped) => done(
            &c,
            &headers,
            &back,
            format!("task {id} had stopped already"),
        ),
        Err(e) => failed(&c, &e, &back),
    }
}

pub fn stop_confirm(cluster: &str, id: &str, task: &Value, back: &str) -> Confirm {
    let of = task_service(task).map_or(String::new(), |s| format!(" of service/{s}"));
    let td = super::pages::str_at(task, "/status/taskDefinition");
    let last = super::pages::str_at(task, "/status/lastStatus");
    let mut says = vec![format!(
        "Task {id}{of} ({td}, {last}) in cluster {cluster}."
    )];
    says.push(format!(
        "Its containers get their stop signal, then SIGKILL after their stopTimeout; its stop reason reads \"{STOP_REASON}\"."
    ));
    if !of.is_empty() {
        says.push("The service starts a new task to keep its desired count.".into());
    }
    Confirm {
        heading: format!("Stop task {id}?"),
        says,
        action: format!(
            "/clusters/{}/tasks/{}/stop",
            crate::client::encode(cluster),
            crate::client::encode(id)
        ),
        fields: vec![],
        button: "Stop task".into(),
        back: back.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origins_other_than_the_console_are_refused() {
        let ok = |pairs: &[(&'static str, &str)]| check_origin(&headers(pairs));
        assert_eq!(ok(&[]), Ok(()), "no header: the session and token decide");
        assert_eq!(
            ok(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080")
            ]),
            Ok(())
        );
        assert_eq!(ok(&[("sec-fetch-site", "same-origin")]), Ok(()));
        for bad in [
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example"),
            ][..],
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8081"),
            ],
            &[("host", "127.0.0.1:8080"), ("origin", "null")],
            &[("origin", "http://127.0.0.1:8080")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
        ] {
            assert_eq!(ok(bad), Err(Refusal::CrossSite), "{bad:?}");
        }
    }

    #[test]
    fn forms_and_counts() {
        let f = Form::parse(b"csrf=abc&desired_count=+3&confirm=yes").unwrap();
        assert_eq!(f.get("csrf"), Some("abc"));
        assert!(f.confirmed());
        assert_eq!(parse_count(f.get("desired_count")), Ok(3));
        assert!(!Form::parse(b"confirm=no").unwrap().confirmed());
        assert_eq!(Form::parse(b"\xff\xfe").unwrap_err(), Refusal::NotAForm);
        assert_eq!(parse_count(Some("0")), Ok(0));
        for bad in [
            None,
            Some(""),
            Some("-1"),
            Some("2.5"),
            Some("x"),
            Some("99999999999"),
        ] {
            let e = parse_count(bad).unwrap_err();
            assert!(e.contains("whole number"), "{bad:?}: {e}");
        }
    }

    fn rendered(name: &str, model: Value) -> String {
        let mut ctx = model;
        ctx["watch"] = json!(WATCH_NOTHING);
        ctx["csrf"] = json!("c5rf");
        super::super::render(&super::super::templates(), name, &ctx).unwrap()
    }

    #[test]
    fn the_confirmation_page_posts_the_hidden_fields_escaped() {
        let plan = actions::Rollback {
            from: "web:2".into(),
            to: "w\"><b>:1".into(),
        };
        let c = rollback_confirm("default", "web", &plan);
        let html = rendered("confirm.html", serde_json::to_value(&c).unwrap());
        assert!(
            html.contains(r#"<form method="post" action="&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web&#x2f;rollback" class="confirm-form">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<input type="hidden" name="csrf" value="c5rf">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<input type="hidden" name="confirm" value="yes">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<input type="hidden" name="to" value="w&quot;&gt;&lt;b&gt;:1">"#),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
        assert!(
            html.contains(r#"<button type="submit" id="confirm" class="primary" autofocus>"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web" id="cancel">Cancel</a>"#), "{html}");
    }

    #[test]
    fn the_service_page_has_the_action_forms() {
        let svc = json!({"metadata": {"name": "web api", "cluster": "default"},
                         "status": {"desiredCount": 2, "runningCount": 2, "pendingCount": 0}});
        let task = |id: &str, desired: &str| {
            json!({
            "metadata": {"name": id, "cluster": "default", "labels": {"ecsctl.service": "web api"}},
            "status": {"lastStatus": "RUNNING", "desiredStatus": desired}})
        };
        let tasks = [task("t1", "RUNNING"), task("t2", "STOPPED")];
        let model =
            super::super::pages::service::view(&svc, &tasks, super::super::pages::tests::now());
        let html = rendered("service.html", serde_json::to_value(model).unwrap());
        let href = "&#x2f;clusters&#x2f;default&#x2f;services&#x2f;web%20api";
        for action in ["scale", "force-deployment", "rollback"] {
            assert!(
                html.contains(&format!(r#"action="{href}/{action}""#)),
                "{action}: {html}"
            );
        }
        assert_eq!(
            html.matches(r#"<input type="hidden" name="csrf" value="c5rf">"#)
                .count(),
            4,
            "{html}"
        );
        assert!(html.contains(r#"<input id="scale-count" name="desired_count" type="number" min="0" step="1" value="2" required>"#), "{html}");
        assert!(
            html.contains(r#"action="/clusters/default/tasks/t1/stop""#),
            "{html}"
        );
        assert!(html.contains(r#"id="stop-t1""#), "{html}");
        assert!(
            !html.contains(r#"id="stop-t2""#),
            "a task asked to stop has no Stop: {html}"
        );
    }

    #[test]
    fn confirmations_say_what_will_happen() {
        let c = scale_confirm("default", "web", 2, 3);
        assert_eq!(c.action, "/clusters/default/services/web/scale");
        assert_eq!(c.fields, [("desired_count".to_string(), "3".to_string())]);
        assert_eq!(c.button, "Scale to 3");
        assert!(c.says[0].contains("from 2 to 3"), "{:?}", c.says);

        let plan = actions::Rollback {
            from: "web:2".into(),
            to: "web:1".into(),
        };
        let c = rollback_confirm("default", "web", &plan);
        assert_eq!(c.heading, "Roll back service/web to web:1?");
        assert!(c.says[0].contains("From web:2 to web:1"), "{:?}", c.says);
        assert_eq!(c.fields, [("to".to_string(), "web:1".to_string())]);

        let c = force_confirm("default", "web", 2, "web:2");
        assert_eq!(c.action, "/clusters/default/services/web/force-deployment");
        assert!(c.says[0].contains("web:2") && c.says[0].contains("2 running"));

        let task = json!({"metadata": {"name": "abc", "labels": {"ecsctl.service": "web"}},
                          "status": {"taskDefinition": "web:2", "lastStatus": "RUNNING"}});
        let c = stop_confirm("default", "abc", &task, "/clusters/default/services/web");
        assert_eq!(c.action, "/clusters/default/tasks/abc/stop");
        assert!(
            c.says[0].contains("of service/web (web:2, RUNNING)"),
            "{:?}",
            c.says
        );
        assert!(c.says[1].contains(STOP_REASON));
        assert_eq!(c.says.len(), 3);
    }
}
