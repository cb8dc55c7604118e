//! The account page's files, as the binary serves them from itself: the index and its
//! hashed assets, with their types, caching and the page's security headers; nothing
//! when the page is switched off. (The page at work in a real browser: `tests/`.)

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use testkit::Options;

use crate::helpers::*;

/// The headers every answer under `/account` carries.
fn assert_page_headers(r: &reqwest::Response) {
    let h = r.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{} {}: no CSP", r.status(), r.url()))
        .to_str()
        .unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{} CSP lacks {part}: {csp}", r.url());
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{}", r.url());
    assert_eq!(h["referrer-policy"], "no-referrer", "{}", r.url());
}

/// The `src`/`href` of every script and stylesheet of the page.
fn linked_files(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|s| s.starts_with("/account/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_server_serves_the_account_page_from_itself() {
    let ctx = Ctx::start_with(Options::default()).await;
    for path in ["/account", "/account/"] {
        let r = ctx.http.get(ctx.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_page_headers(&r);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(
            r.headers()[CACHE_CONTROL],
            "no-cache",
            "the index is revalidated"
        );
    }
    let r = ctx.http.get(ctx.url("/account/")).send().await.unwrap();
    let etag = r.headers()[ETAG].clone();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<div id=\"app\">"),
        "the page was built (not the placeholder of a build without Node.js):\n{html}"
    );
    // Nothing inline: the CSP allows the page's own files only.
    assert!(
        !html.contains("<style") && !html.contains("style="),
        "{html}"
    );
    for script in html.split("<script").skip(1) {
        let (attrs, rest) = script.split_once('>').unwrap();
        assert!(attrs.contains("src="), "an inline script: {script}");
        assert!(rest.trim_start().starts_with("</script>"), "{script}");
    }

    // Its files: the right types, cached for good (their names change with their content).
    let files = linked_files(&html);
    assert!(
        files.iter().any(|f| f.ends_with(".js")) && files.iter().any(|f| f.ends_with(".css")),
        "{files:?}"
    );
    for file in &files {
        let r = ctx.http.get(ctx.url(file)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{file}");
        assert_page_headers(&r);
        let expected = if file.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(r.headers()[CONTENT_TYPE], expected, "{file}");
        assert_eq!(
            r.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        if file.ends_with(".js") {
            let js = r.text().await.unwrap();
            assert!(
                !js.contains("eval(") && !js.contains("new Function("),
                "{file} evaluates strings, which the CSP refuses"
            );
        }
    }

    // A browser revalidating the index with what it has gets 304, headers and all.
    let r = ctx
        .http
        .get(ctx.url("/account"))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_page_headers(&r);

    // Anything else under /account is not there, and says so as the API does.
    for path in [
        "/account/assets/nothing.js",
        "/account/assets/..%2fweb.html",
        "/account/web.html",
        "/account/devices",
    ] {
        let r = ctx.http.get(ctx.url(path)).send().await.unwrap();
        assert_page_headers(&r);
        assert_eq!(error_code(r, 404).await, "not_found", "{path}");
    }
    // The page only reads: other methods change nothing (and carry no Origin here).
    let r = ctx.http.post(ctx.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_page_headers(&r);
    let r = ctx
        .http
        .post(ctx.url("/account"))
        .header("origin", ctx.server.url())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_page_headers(&r);
}

#[tokio::test]
async fn without_the_account_page_its_files_are_not_served() {
    let ctx = Ctx::start_with(Options::default().arg("--no-web")).await;
    let html = ctx.http.get(ctx.url("/account")).send().await.unwrap();
    assert_eq!(error_code(html, 404).await, "not_found");
    let r = ctx.http.get(ctx.url("/account/")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
