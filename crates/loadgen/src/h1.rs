//! One HTTP/1.1 keep-alive connection, driven by hyper's low-level client: no pool, no
//! redirects, no decompression, so the load generator costs little beside the server
//! it measures on the same two cores (as wrk would).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

#[derive(Debug)]
pub struct Error(pub String);

impl<E: std::fmt::Display> From<E> for Error {
    fn from(e: E) -> Self {
        Error(e.to_string())
    }
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn, Error> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        Ok(Conn {
            send,
            host: addr.to_string(),
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), Error> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Full::new(body))?;
        self.send.ready().await?;
        let res = self.send.send_request(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    pub async fn get(&mut self, path: &str) -> Result<(StatusCode, Bytes), Error> {
        self.call(Method::GET, path, None, Bytes::new()).await
    }

    /// `POST /oauth/token` with a refresh token; the rotated refresh token on success.
    pub async fn refresh(&mut self, token: &str) -> Result<String, Error> {
        let body = format!("grant_type=refresh_token&refresh_token={token}");
        let (status, body) = self
            .call(
                Method::POST,
                "/oauth/token",
                Some("application/x-www-form-urlencoded"),
                Bytes::from(body),
            )
            .await?;
        if status != StatusCode::OK {
            return Err(Error(format!(
                "refresh answered {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let t: proto::tokens::TokenResponse = serde_json::from_slice(&body)?;
        Ok(t.refresh_token.into_inner())
    }
}

/// `127.0.0.1:PORT` of a server URL `http://127.0.0.1:PORT`.
pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|_| panic!("not an http://IP:PORT URL: {url}"))
}

impl Conn {
    /// Sends a request with a bearer token and returns the answer's status and body
    /// as it arrives (an event stream).
    pub async fn open(
        &mut self,
        method: Method,
        path: &str,
        bearer: &str,
        json: Option<String>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, Error> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", format!("Bearer {bearer}"));
        if json.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Full::new(Bytes::from(json.unwrap_or_default())))?;
        self.send.ready().await?;
        Ok(self.send.send_request(req).await?)
    }

    /// A request with a bearer token, its whole answer read.
    pub async fn authed(
        &mut self,
        method: Method,
        path: &str,
        bearer: &str,
        json: Option<String>,
    ) -> Result<(StatusCode, Bytes), Error> {
        let res = self.open(method, path, bearer, json).await?;
        let status = res.status();
        Ok((status, res.into_body().collect().await?.to_bytes()))
    }

    /// `POST /oauth/token` with a refresh token: the whole answer.
    pub async fn refresh_full(
        &mut self,
        token: &str,
    ) -> Result<proto::tokens::TokenResponse, Error> {
        let body = format!("grant_type=refresh_token&refresh_token={token}");
        let (status, body) = self
            .call(
                Method::POST,
                "/oauth/token",
                Some("application/x-www-form-urlencoded"),
                Bytes::from(body),
            )
            .await?;
        if status != StatusCode::OK {
            return Err(Error(format!(
                "refresh answered {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(serde_json::from_slice(&body)?)
    }
}
