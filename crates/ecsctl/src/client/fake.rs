//! Fake servers on loopback for the client's tests (and the agent store's): each does one
//! thing with every connection and remembers the request lines it was sent.

use super::{Client, ServerAddr, Servers};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a fake server does with each connection, once it has read the request's head.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Closes it without answering: a server that dies with the request in flight.
    Close,
    /// Answers `status` with a JSON body.
    Answer(u16, String),
    /// Answers 200 with these newline-delimited lines, then ends the body properly (a
    /// server shutting down) or breaks the connection off (`broken`: a server that died).
    Stream { lines: Vec<String>, broken: bool },
}

/// A fake server and the request lines (`GET /path HTTP/1.1`) it has been sent.
pub struct Fake {
    pub addr: ServerAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    pub async fn start(behaviour: Behaviour) -> Fake {
        Fake::listen("127.0.0.1:0", behaviour, false).await
    }

    /// A server that takes one connection, then is gone (connection refused).
    pub async fn start_once(behaviour: Behaviour) -> Fake {
        Fake::listen("127.0.0.1:0", behaviour, true).await
    }

    pub async fn listen(at: &str, behaviour: Behaviour, once: bool) -> Fake {
        let listener = TcpListener::bind(at).await.unwrap();
        let addr = ServerAddr::Tcp(listener.local_addr().unwrap().to_string());
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, behaviour.clone(), seen.clone()));
                if once {
                    break;
                }
            }
        });
        Fake { addr, requests }
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(mut conn: TcpStream, behaviour: Behaviour, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let line = head.lines().next().unwrap_or("").to_string();
    seen.lock().unwrap().push(line);
    match behaviour {
        Behaviour::Close => {}
        Behaviour::Answer(status, body) => {
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(answer.as_bytes()).await;
        }
        Behaviour::Stream { lines, broken } => {
            let mut out = String::from(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n",
            );
            for l in lines {
                let chunk = format!("{l}\n");
                out.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
            }
            if !broken {
                out.push_str("0\r\n\r\n");
            }
            let _ = conn.write_all(out.as_bytes()).await;
            let _ = conn.flush().await;
        }
    }
}

/// An address where nothing listens (connection refused).
pub fn dead() -> ServerAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ServerAddr::Tcp(l.local_addr().unwrap().to_string())
}

pub fn client(servers: Vec<ServerAddr>) -> Client {
    Client {
        servers: Arc::new(Servers::new(servers)),
        token: Some("t0ken".to_string()),
        tls: None,
    }
}
