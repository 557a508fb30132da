//! The client against fake servers on loopback: which server a request goes to, when it
//! moves on (only when nothing answered), and where a watch resumes.

use super::fake::{Behaviour, Fake, client, dead};
use super::*;
use serde_json::{Value, json};

fn event(revision: u64) -> String {
    json!({"revision": revision, "type": "MODIFIED", "object": {"n": revision}}).to_string()
}

fn stream(revisions: &[u64], broken: bool) -> Behaviour {
    Behaviour::Stream {
        lines: revisions.iter().map(|r| event(*r)).collect(),
        broken,
    }
}

#[tokio::test]
async fn requests_skip_servers_that_do_not_answer_and_keep_the_one_that_did() {
    let closing = Fake::start(Behaviour::Close).await;
    let live = Fake::start(Behaviour::Answer(200, r#"{"ok":true}"#.into())).await;
    let c = client(vec![dead(), closing.addr.clone(), live.addr.clone()]);

    let v: Value = c.get("/v1/health").await.unwrap();
    assert_eq!(v, json!({"ok": true}));
    assert_eq!(closing.requests(), ["GET /v1/health HTTP/1.1"]);
    assert_eq!(c.servers.current(), 2);

    // The next requests (of this client or a clone: the agent's store clones it) go
    // straight to the server that answered.
    let _: Value = c.clone().get("/v1/objects/clusters").await.unwrap();
    let _: Value = c.post("/v1/apply", &json!({"objects": []})).await.unwrap();
    assert_eq!(closing.requests().len(), 1);
    assert_eq!(
        live.requests(),
        [
            "GET /v1/health HTTP/1.1",
            "GET /v1/objects/clusters HTTP/1.1",
            "POST /v1/apply HTTP/1.1"
        ]
    );
}

#[tokio::test]
async fn an_answer_is_never_retried_at_another_server() {
    let failing = Fake::start(Behaviour::Answer(
        503,
        r#"{"error":"no leader","details":[]}"#.into(),
    ))
    .await;
    let live = Fake::start(Behaviour::Answer(200, "{}".into())).await;
    let c = client(vec![failing.addr.clone(), live.addr.clone()]);
    let err = c.get::<Value>("/v1/objects/services").await.unwrap_err();
    let api = err.downcast_ref::<ApiError>().expect("the server's answer");
    assert_eq!((api.status, api.message.as_str()), (503, "no leader"));
    assert!(live.requests().is_empty());
    assert_eq!(c.servers.current(), 0);
}

#[tokio::test]
async fn when_no_server_answers_the_error_names_each_and_why() {
    let (refused, closing) = (dead(), Fake::start(Behaviour::Close).await);
    let c = client(vec![refused.clone(), closing.addr.clone()]);
    let err = c.get::<Value>("/v1/health").await.unwrap_err();
    let un = err.downcast_ref::<Unreachable>().expect("unreachable");
    let servers: Vec<&str> = un.tried.iter().map(|a| a.server.as_str()).collect();
    assert_eq!(
        servers,
        [refused.to_string(), closing.addr.to_string()]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(un.tried[0].reason, "connection refused");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot reach any ecsctl server: {refused} (connection refused), {} (",
            closing.addr
        )),
        "{msg}"
    );
    assert!(is_unreachable(&err));
    // Nothing moved: the next request starts at the first server again.
    assert_eq!(c.servers.current(), 0);
}

#[tokio::test]
async fn a_watch_resumes_at_the_next_server_after_the_last_event_it_read() {
    // The first server dies after two events; the second one is asked for what followed.
    let dying = Fake::start(stream(&[6, 7], true)).await;
    let next = Fake::start(stream(&[8], false)).await;
    let c = client(vec![dying.addr.clone(), next.addr.clone()]);
    let mut w = c.watch(5).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let ev = w.next::<Value>().await.unwrap().expect("an event");
        got.push(ev.revision);
    }
    assert_eq!(got, [6, 7, 8]);
    assert_eq!(dying.requests(), ["GET /v1/watch?from=5 HTTP/1.1"]);
    assert_eq!(next.requests(), ["GET /v1/watch?from=7 HTTP/1.1"]);
    assert_eq!(w.revision(), 8);
    // Plain requests follow: the watch moved the client.
    assert_eq!(c.servers.current(), 1);
}

#[tokio::test]
async fn a_watch_its_server_ended_goes_on_elsewhere_when_there_is_elsewhere() {
    // A server shutting down ends its watches properly.
    let stopping = Fake::start(stream(&[6], false)).await;
    let next = Fake::start(stream(&[7], false)).await;
    let c = client(vec![stopping.addr.clone(), next.addr.clone()]);
    let mut w = c.watch(5).await.unwrap();
    assert_eq!(w.next::<Value>().await.unwrap().unwrap().revision, 6);
    assert_eq!(w.next::<Value>().await.unwrap().unwrap().revision, 7);
    assert_eq!(next.requests(), ["GET /v1/watch?from=6 HTTP/1.1"]);

    // With a single server, the watch ends with it, as it always did.
    let only = Fake::start(stream(&[6], false)).await;
    let mut w = client(vec![only.addr.clone()]).watch(5).await.unwrap();
    assert_eq!(w.next::<Value>().await.unwrap().unwrap().revision, 6);
    assert!(w.next::<Value>().await.unwrap().is_none());
    assert_eq!(only.requests().len(), 1);
}

#[tokio::test]
async fn a_watch_every_server_ends_at_once_stops_instead_of_going_round() {
    let a = Fake::start(stream(&[], false)).await;
    let b = Fake::start(stream(&[], false)).await;
    let mut w = client(vec![a.addr.clone(), b.addr.clone()])
        .watch(5)
        .await
        .unwrap();
    assert!(w.next::<Value>().await.unwrap().is_none());
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1));
}

#[tokio::test]
async fn a_watch_with_no_server_left_says_so_and_resumes_when_one_is_back() {
    let dying = Fake::start_once(stream(&[6], true)).await;
    let c = client(vec![dying.addr.clone(), dead()]);
    let mut w = c.watch(5).await.unwrap();
    assert_eq!(w.next::<Value>().await.unwrap().unwrap().revision, 6);
    let err = w.next::<Value>().await.unwrap_err();
    assert!(is_unreachable(&err), "{err:#}");
    // A server is back (the agent's store calls `next` again after a pause).
    let ServerAddr::Tcp(at) = &dying.addr else {
        unreachable!()
    };
    let back = Fake::listen(at, stream(&[7], false), false).await;
    assert_eq!(w.next::<Value>().await.unwrap().unwrap().revision, 7);
    assert_eq!(back.requests(), ["GET /v1/watch?from=6 HTTP/1.1"]);

    let err = client(vec![dead(), dead()]).watch(5).await.unwrap_err();
    assert!(is_unreachable(&err), "{err:#}");
}
