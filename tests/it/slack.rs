//! A loopback stand-in for Slack's `auth.test`: answers by bearer token, counts requests, and
//! can rate-limit the first call.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct FakeSlack {
    pub url: String,
    pub requests: Arc<AtomicUsize>,
    pub seen_tokens: Arc<Mutex<Vec<String>>>,
}

/// Starts the server; `bots` maps token → bot user name. With `rate_limit_first`, the first
/// request gets HTTP 429 with `Retry-After: 1`.
pub fn start(bots: &[(&str, &str)], rate_limit_first: bool) -> FakeSlack {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let bots: HashMap<String, String> = bots
        .iter()
        .map(|(t, u)| (t.to_string(), u.to_string()))
        .collect();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen_tokens = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (requests.clone(), seen_tokens.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let (mut token, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("authorization: bearer ") {
                    token = line["authorization: bearer ".len()..].trim().to_string();
                    let _ = value;
                } else if let Some(value) = lower.strip_prefix("content-length: ") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let n = count.fetch_add(1, Ordering::SeqCst);
            seen.lock().unwrap().push(token.clone());
            let (status, extra, json) = if rate_limit_first && n == 0 {
                (
                    "429 Too Many Requests",
                    "Retry-After: 1\r\n",
                    r#"{"ok":false,"error":"ratelimited"}"#.to_string(),
                )
            } else if !request_line.starts_with("POST /api/auth.test ") {
                (
                    "404 Not Found",
                    "",
                    r#"{"ok":false,"error":"unknown_method"}"#.to_string(),
                )
            } else {
                match bots.get(&token) {
                    Some(user) => (
                        "200 OK",
                        "",
                        format!(
                            r#"{{"ok":true,"url":"https://cream-heros.slack.com/","team":"Cream Heroes","user":"{user}","team_id":"T1","user_id":"U{user}","bot_id":"B{user}"}}"#
                        ),
                    ),
                    None => (
                        "200 OK",
                        "",
                        r#"{"ok":false,"error":"invalid_auth"}"#.to_string(),
                    ),
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
                json.len()
            );
        }
    });
    FakeSlack {
        url,
        requests,
        seen_tokens,
    }
}
