//! Security headers on every response, errors and static files included: a
//! Content-Security-Policy that allows only this origin's own scripts, styles and
//! connections (and `data:` images: the app's icon), never framing
//! (`frame-ancestors 'none'` and `X-Frame-Options: DENY`), no MIME sniffing, no referrer.
//!
//! The Swagger UI page at `/docs` is one HTML document with its script bundle, the
//! spec and its stylesheet inline; rather than allow any inline code there, its policy
//! lists the SHA-256 of each inline `<script>` and `<style>` of that very page,
//! computed once at start-up from the same HTML poem-openapi serves.

use std::sync::Arc;

use base64::Engine;
use poem::{
    http::{header, HeaderValue},
    Endpoint, IntoResponse, Request, Response,
};
use sha2::{Digest, Sha256};

/// The policy of the web app and of every other response.
const APP_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The two policies, ready to send.
#[derive(Clone)]
pub struct Policies {
    app: HeaderValue,
    docs: HeaderValue,
}

impl Policies {
    /// Policies for the app and for the Swagger page `docs_html`.
    pub fn new(docs_html: &str) -> Policies {
        let hashes = |wanted: &str| {
            inline_blocks(docs_html)
                .filter(|(tag, _)| *tag == wanted)
                .map(|(_, block)| {
                    let digest = Sha256::digest(block.as_bytes());
                    format!(
                        " 'sha256-{}'",
                        base64::engine::general_purpose::STANDARD.encode(digest)
                    )
                })
                .collect::<String>()
        };
        let docs = format!(
            "default-src 'self'; script-src 'self'{}; style-src 'self'{}; \
             img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            hashes("script"),
            hashes("style"),
        );
        Policies {
            app: HeaderValue::from_static(APP_POLICY),
            docs: HeaderValue::from_str(&docs).unwrap_or(HeaderValue::from_static(APP_POLICY)),
        }
    }
}

/// Each inline `<script>` or `<style>` block of `html` as (tag, text), in document
/// order (elements with a `src` are skipped). A block's text runs to its own closing
/// tag, so markup quoted inside a script is never taken for an element.
fn inline_blocks(html: &str) -> impl Iterator<Item = (&'static str, &str)> + '_ {
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let (start, tag) = ["script", "style"]
            .into_iter()
            .filter_map(|tag| rest.find(&format!("<{tag}")).map(|at| (at, tag)))
            .min()?;
        let after = &rest[start + tag.len() + 1..];
        let head_end = after.find('>')?;
        let attributes = &after[..head_end];
        let body = &after[head_end + 1..];
        let end = body.find(&format!("</{tag}>"))?;
        rest = &body[end + tag.len() + 3..];
        if !attributes.contains("src=") {
            return Some((tag, &body[..end]));
        }
    })
}

/// Adds the security headers to whatever `next` answers.
pub async fn security_headers<E: Endpoint>(
    next: E,
    req: Request,
    policies: Arc<Policies>,
) -> poem::Result<Response> {
    let docs = req.uri().path().starts_with("/docs");
    let mut response = next.call(req).await?.into_response();
    let headers = response.headers_mut();
    let policy = if docs { &policies.docs } else { &policies.app };
    headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_blocks_skip_external_scripts() {
        let html = r#"<script src="/a.js"></script><style>b{}</style><script>one("<style>")</script>
            <script type="module">two()</script>"#;
        assert_eq!(
            inline_blocks(html).collect::<Vec<_>>(),
            [
                ("style", "b{}"),
                ("script", r#"one("<style>")"#),
                ("script", "two()")
            ]
        );
    }

    #[test]
    fn the_docs_policy_lists_each_inline_block_by_hash() {
        let policies = Policies::new("<style>x</style><script>y</script><script>z</script>");
        let docs = policies.docs.to_str().unwrap();
        assert_eq!(docs.matches("'sha256-").count(), 3, "{docs}");
        assert!(!docs.contains("unsafe-inline"));
        assert!(docs.contains("frame-ancestors 'none'"));
    }
}
