//! A small HTTP(S) client for the few plain HTTP APIs catctl calls itself (Slack's
//! `auth.test`). rustls with ring and the system's root certificates; every call has a timeout.

use std::time::Duration;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The hyper client every HTTP caller of catctl uses (Slack, registries).
pub type RawClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The one place where connections and TLS are set up: plain HTTP or HTTPS with the system's
/// roots, a 5-second connect timeout.
pub fn raw_client() -> Result<RawClient> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.enforce_http(false);
    let connector = HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("cannot load the system's TLS root certificates")?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// A response read in full.
#[derive(Debug)]
pub struct Response {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct HttpClient {
    inner: RawClient,
}

impl HttpClient {
    pub fn new() -> Result<HttpClient> {
        Ok(HttpClient {
            inner: raw_client()?,
        })
    }

    /// Sends `request` and reads the whole response, within 30 seconds. Errors name the host,
    /// never the request's headers (they may carry a token).
    pub async fn send(&self, request: http::Request<Full<Bytes>>) -> Result<Response> {
        let host = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let call = async {
            let response = self.inner.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .with_context(|| format!("{host} did not answer within {} s", TIMEOUT.as_secs()))?
            .with_context(|| format!("cannot reach {host}"))
    }
}
