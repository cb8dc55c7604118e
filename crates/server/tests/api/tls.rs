//! The server over HTTPS with a certificate from a CA made for the test: clients that
//! trust the CA connect, others are refused by their TLS library; after the operator
//! renews the certificate and sends SIGHUP, new connections get the new one, and a bad
//! file on reload keeps the old one.

use std::path::Path;
use std::time::Duration;

use testkit::tls::TestCa;
use testkit::{Options, TestServer};

/// A client that trusts only `ca` (and the public roots), on a fresh connection each time.
fn trusting(ca: &TestCa) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn discovery(client: &reqwest::Client, server: &TestServer) -> Result<u16, String> {
    client
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.url()
        ))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        })
}

fn install(from: &(std::path::PathBuf, std::path::PathBuf), cert: &Path, key: &Path) {
    std::fs::copy(&from.0, cert).unwrap();
    std::fs::copy(&from.1, key).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_private_ca_and_a_certificate_renewed_on_sighup() {
    let old_ca = TestCa::new("Old test CA");
    let new_ca = TestCa::new("New test CA");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    install(
        &old_ca.server_files(&["127.0.0.1", "localhost"]),
        &cert,
        &key,
    );
    let mut opts = Options::default()
        .process()
        .arg("--tls-cert")
        .arg(cert.display().to_string())
        .arg("--tls-key")
        .arg(key.display().to_string());
    opts.ca_pem = Some(old_ca.cert_pem());
    let server = TestServer::start_with(opts).await;
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    let metadata: serde_json::Value = trusting(&old_ca)
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        metadata["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "the default issuer is the https:// address: {metadata}"
    );

    // A client that does not trust the CA is refused by its TLS library, saying why.
    let err = discovery(&trusting(&new_ca), &server).await.unwrap_err();
    assert!(err.contains("certificate"), "{err}");
    // Plain HTTP on the TLS port gets nowhere.
    let plain = server.url().replace("https://", "http://");
    let r = reqwest::Client::new()
        .get(format!("{plain}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(r.is_err() || r.unwrap().status() != 200);

    // The operator renews the certificate (now from the new CA) and sends SIGHUP.
    install(
        &new_ca.server_files(&["127.0.0.1", "localhost"]),
        &cert,
        &key,
    );
    server.hangup();
    let start = std::time::Instant::now();
    while discovery(&trusting(&new_ca), &server).await != Ok(200) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "new connections still get the old certificate:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(discovery(&trusting(&old_ca), &server).await.is_err());

    // A bad file on reload: the error is logged and the current certificate stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.hangup();
    let start = std::time::Instant::now();
    while !server.logs().contains("cannot reload the TLS certificate") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(discovery(&trusting(&new_ca), &server).await, Ok(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_stops_the_server_at_start_saying_which_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, "").unwrap();
    std::fs::write(&key, "").unwrap();
    let args = session_server::config::ServeArgs::from_flags([
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("db").display());
    let err = session_server::serve::Server::start(args, &url)
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("server.crt") && text.contains("no certificate"),
        "{text}"
    );
    // One flag without the other is a usage error.
    assert!(
        session_server::config::ServeArgs::from_flags(["--tls-cert", cert.to_str().unwrap()])
            .is_err()
    );
}
