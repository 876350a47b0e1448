//! The one HTTP client catctl builds for the plain HTTP APIs it calls itself (registries, Slack's
//! `auth.test`): reqwest over rustls with ring and the system's roots, every call bounded in time
//! (connect, each read, and the whole exchange including the body) and in size (bodies are read
//! in chunks and refused past a limit), so a server that stalls or never stops talking cannot
//! hang catctl or eat its memory.

use std::fmt;
use std::time::Duration;

use anyhow::{Result, anyhow};
use bytes::{Bytes, BytesMut};

use crate::errors::root_cause;

/// How long and how much one exchange may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// To open the TCP (and TLS) connection.
    pub connect: Duration,
    /// Between two reads of the answer: a server that goes silent is given up on after this.
    pub read: Duration,
    /// From connecting until the last byte of the body.
    pub total: Duration,
    /// The largest body read; past it the answer is refused.
    pub max_body: usize,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(15),
            total: Duration::from_secs(30),
            max_body: 4 * 1024 * 1024,
        }
    }
}

/// A client and the bounds it enforces; cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    bounds: Bounds,
}

impl Client {
    /// The client with catctl's usual bounds.
    pub fn new() -> Result<Client> {
        Client::with_bounds(Bounds::default())
    }

    /// The one place where connections and TLS are set up. Redirects are not followed (callers
    /// decide whether credentials go along) and no proxy is used.
    pub fn with_bounds(bounds: Bounds) -> Result<Client> {
        let inner = reqwest::Client::builder()
            .connect_timeout(bounds.connect)
            .read_timeout(bounds.read)
            .timeout(bounds.total)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|err| anyhow!("cannot set up the HTTP client: {}", root_cause(&err)))?;
        Ok(Client { inner, bounds })
    }

    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// A request to `url`, to send with [`Client::send`].
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.inner.request(method, url)
    }

    /// Sends `request` and reads its answer whole, within the bounds. Errors name the host, never
    /// the request's headers or the full URL (either may carry a token).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Response, HttpError> {
        let request = request.build().map_err(|err| HttpError {
            host: err.url().map(host_of).unwrap_or_default(),
            problem: Problem::Unreachable(root_cause(&err.without_url())),
        })?;
        let host = host_of(request.url());
        let response = self
            .inner
            .execute(request)
            .await
            .map_err(|err| self.failure(&host, err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_body(&host, response).await?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// The body, read chunk by chunk and refused once it passes `max_body`.
    async fn read_body(
        &self,
        host: &str,
        mut response: reqwest::Response,
    ) -> Result<Bytes, HttpError> {
        let limit = self.bounds.max_body;
        let too_large = || HttpError {
            host: host.to_string(),
            problem: Problem::TooLarge(limit),
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| self.failure(host, err))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn failure(&self, host: &str, err: reqwest::Error) -> HttpError {
        let problem = if err.is_timeout() {
            Problem::Silent {
                read: self.bounds.read,
                total: self.bounds.total,
            }
        } else {
            Problem::Unreachable(root_cause(&err.without_url()))
        };
        HttpError {
            host: host.to_string(),
            problem,
        }
    }
}

/// Why an exchange failed, naming the host; never a header, a body or a full URL.
#[derive(Debug)]
pub struct HttpError {
    /// `host[:port]`.
    pub host: String,
    pub problem: Problem,
}

#[derive(Debug)]
pub enum Problem {
    /// No connection, or it broke: the innermost cause ("Connection refused (os error 111)").
    Unreachable(String),
    /// The server went silent for `read`, or the exchange was not done within `total`.
    Silent { read: Duration, total: Duration },
    /// The body passed this many bytes.
    TooLarge(usize),
}

impl HttpError {
    /// What went wrong, without the host: "Connection refused (os error 111)".
    pub fn reason(&self) -> String {
        match &self.problem {
            Problem::Unreachable(cause) => cause.clone(),
            Problem::Silent { read, total } => format!(
                "no answer in time (silent for {} s, or not done within {} s)",
                read.as_secs_f32(),
                total.as_secs_f32()
            ),
            Problem::TooLarge(limit) => format!("its answer is larger than {}", size(*limit)),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = &self.host;
        match &self.problem {
            Problem::Unreachable(cause) => write!(f, "cannot reach {host}: {cause}"),
            Problem::Silent { read, total } => write!(
                f,
                "{host} did not answer in time (silent for {} s, or not done within {} s)",
                read.as_secs_f32(),
                total.as_secs_f32()
            ),
            Problem::TooLarge(limit) => {
                write!(f, "{host} sent an answer larger than {}", size(*limit))
            }
        }
    }
}

impl std::error::Error for HttpError {}

/// An answer read in full.
#[derive(Debug)]
pub struct Response {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The start of the body as text, for an error message, with every one of `secrets`
    /// replaced: servers echo what they were sent.
    pub fn excerpt(&self, secrets: &[&str]) -> String {
        const MAX: usize = 300;
        let text = String::from_utf8_lossy(&self.body);
        let text = scrub(text.trim(), secrets);
        match text.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    }
}

/// `text` with every occurrence of each of `secrets` replaced by `<hidden>`.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(text.to_string(), |text, secret| {
            text.replace(secret, "<hidden>")
        })
}

/// A header value that `Debug` never shows (reqwest prints `Sensitive` instead).
pub fn sensitive(value: &str) -> Result<reqwest::header::HeaderValue> {
    let mut value = reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| anyhow!("a credential holds characters a header cannot carry"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `host[:port]` of `url`, what errors name.
pub fn host_of(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => url.scheme().to_string(),
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The bounds against a fault server on loopback: a server that accepts and never answers,
    //! one that sends headers and then stalls, and one that never stops sending.

    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    pub(crate) const TEST_BOUNDS: Bounds = Bounds {
        connect: Duration::from_secs(1),
        read: Duration::from_millis(700),
        total: Duration::from_secs(3),
        max_body: 4 * 1024 * 1024,
    };

    /// A server on 127.0.0.1 that answers every connection with `serve`; its address.
    pub(crate) async fn fault_server<F, Fut>(serve: F) -> String
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream));
            }
        });
        address
    }

    /// Reads the request head, so the client sees its request taken.
    pub(crate) async fn read_request(stream: &mut TcpStream) {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
        }
    }

    async fn get(address: &str) -> (Result<Response, HttpError>, Duration) {
        let client = Client::with_bounds(TEST_BOUNDS).unwrap();
        let started = Instant::now();
        let request = client.request(reqwest::Method::GET, &format!("http://{address}/v2/"));
        let result = client.send(request).await;
        (result, started.elapsed())
    }

    fn resident_mib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib / 1024
    }

    #[tokio::test]
    async fn a_server_that_accepts_and_never_answers_is_given_up_on() {
        let address = fault_server(|mut stream| async move {
            read_request(&mut stream).await;
            tokio::time::sleep(Duration::from_secs(600)).await;
        })
        .await;
        let (result, took) = get(&address).await;
        let err = result.unwrap_err();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(matches!(err.problem, Problem::Silent { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{address} did not answer in time")),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_server_that_stalls_after_the_headers_is_given_up_on() {
        let address = fault_server(|mut stream| async move {
            read_request(&mut stream).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"par";
            let _ = stream.write_all(head.as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(600)).await;
        })
        .await;
        let (result, took) = get(&address).await;
        let err = result.unwrap_err();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("{address} did not answer in time")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_trickling_server_is_cut_off_at_the_total_bound() {
        // A byte every half second never trips the read bound; the total bound ends it.
        let address = fault_server(|mut stream| async move {
            read_request(&mut stream).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            loop {
                if stream.write_all(b"x").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
        .await;
        let (result, took) = get(&address).await;
        let err = result.unwrap_err();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(took >= Duration::from_secs(2), "took {took:?}");
        assert!(matches!(err.problem, Problem::Silent { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn an_endless_body_is_refused_at_the_limit() {
        let address = fault_server(|mut stream| async move {
            read_request(&mut stream).await;
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let data = vec![b'x'; 64 * 1024];
            let chunk = [format!("{:x}\r\n", data.len()).as_bytes(), &data, b"\r\n"].concat();
            while stream.write_all(&chunk).await.is_ok() {}
        })
        .await;
        let (result, took) = get(&address).await;
        let err = result.unwrap_err();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert_eq!(
            err.to_string(),
            format!("{address} sent an answer larger than 4 MiB")
        );
        let rss = resident_mib();
        assert!(rss < 100, "resident memory {rss} MiB");
    }

    #[tokio::test]
    async fn a_declared_oversized_body_is_refused_before_reading() {
        let address = fault_server(|mut stream| async move {
            read_request(&mut stream).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(600)).await;
        })
        .await;
        let (result, took) = get(&address).await;
        assert!(took < Duration::from_secs(2), "took {took:?}");
        assert!(matches!(result.unwrap_err().problem, Problem::TooLarge(_)));
    }

    #[tokio::test]
    async fn a_small_answer_is_read_whole() {
        let address = fault_server(|mut stream| async move {
            read_request(&mut stream).await;
            let answer =
                "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Test: yes\r\n\r\n{\"ok\":true}";
            let _ = stream.write_all(answer.as_bytes()).await;
        })
        .await;
        let (result, _) = get(&address).await;
        let response = result.unwrap();
        assert_eq!(response.status, reqwest::StatusCode::OK);
        assert_eq!(response.headers["x-test"], "yes");
        assert_eq!(&response.body[..], b"{\"ok\":true}");
    }

    #[tokio::test]
    async fn nothing_listening_names_the_host() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let (result, _) = get(&address).await;
        let message = result.unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("cannot reach {address}: ")),
            "{message}"
        );
    }

    #[test]
    fn credentials_stay_out_of_debug_and_server_text() {
        let client = Client::new().unwrap();
        let request = client
            .request(reqwest::Method::POST, "https://slack.example/api/auth.test")
            .header(
                reqwest::header::AUTHORIZATION,
                sensitive("Bearer xoxb-123-secret").unwrap(),
            );
        let debug = format!("{request:?}");
        assert!(!debug.contains("xoxb-123-secret"), "{debug}");
        let echoed = Response {
            status: reqwest::StatusCode::BAD_REQUEST,
            headers: reqwest::header::HeaderMap::new(),
            body: Bytes::from_static(b"bad token xoxb-123-secret (xoxb-123-secret)"),
        };
        assert_eq!(
            echoed.excerpt(&["xoxb-123-secret", ""]),
            "bad token <hidden> (<hidden>)"
        );
    }
}
