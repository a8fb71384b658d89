//! Container registries over the registry protocol (the OCI Distribution spec): the digest a tag
//! names, read with `HEAD /v2/NAME/manifests/TAG` and its `Docker-Content-Digest` header. Artifact
//! Registry takes the caller's Google access token as a bearer token; a remote repository fills
//! its cache from its upstream on this request (a metadata call such as `gcloud artifacts docker
//! images describe` does not). Public registries (GitHub Container Registry) hand out anonymous
//! pull tokens through the `WWW-Authenticate` challenge of their `401`.

use onepassword_events::secret::Secret;

/// The manifest media types asked for, multi-platform indexes first: the digest then names what
/// `docker pull` and Cloud Run resolve the tag to.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// An image reference `HOST/NAME:TAG`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host, e.g. `us-central1-docker.pkg.dev` or `ghcr.io`.
    pub host: String,
    /// The repository name below the host.
    pub name: String,
    /// The tag.
    pub tag: String,
}

impl ImageRef {
    /// Splits `HOST/NAME:TAG`; `None` without a host, a name or a tag.
    pub fn parse(reference: &str) -> Option<ImageRef> {
        let (host, rest) = reference.split_once('/')?;
        let (name, tag) = rest.rsplit_once(':')?;
        (!host.is_empty() && !name.is_empty() && !tag.is_empty() && !tag.contains('/')).then(|| {
            ImageRef {
                host: host.to_owned(),
                name: name.to_owned(),
                tag: tag.to_owned(),
            }
        })
    }

    /// `HOST/NAME`, without the tag.
    pub fn untagged(&self) -> String {
        format!("{}/{}", self.host, self.name)
    }
}

/// How to authenticate to a registry.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A bearer token the caller holds (Artifact Registry: `gcloud auth print-access-token`).
    Bearer(Secret),
    /// An anonymous pull token from the registry's own token service.
    Anonymous,
}

/// Why a digest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry has no manifest for the tag.
    #[error("{url} answered 404: no such image or tag")]
    NotFound {
        /// The manifest URL.
        url: String,
    },
    /// Credentials were refused.
    #[error("{url} refused the credentials ({status})")]
    Refused {
        /// The manifest URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// Any other status.
    #[error("{url} answered {status}")]
    Status {
        /// The manifest URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The answer had no usable digest.
    #[error("{url} answered without a sha256 Docker-Content-Digest (got {got:?})")]
    NoDigest {
        /// The manifest URL.
        url: String,
        /// What the header held.
        got: Option<String>,
    },
    /// The request did not complete.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The runtime for the call could not start.
    #[error("cannot start the runtime for the registry call: {0}")]
    Runtime(std::io::Error),
}

/// The `sha256:…` digest `image` resolves to at the registry `base` (`https://HOST`, or a test
/// registry's URL). Blocking: it runs on a runtime of its own, so it must not be called from async
/// code.
pub fn manifest_digest(base: &str, image: &ImageRef, auth: &Auth) -> Result<String, RegistryError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RegistryError::Runtime)?;
    runtime.block_on(head(base.trim_end_matches('/'), image, auth))
}

async fn head(base: &str, image: &ImageRef, auth: &Auth) -> Result<String, RegistryError> {
    let url = format!("{base}/v2/{}/manifests/{}", image.name, image.tag);
    let unreachable = |url: &str, e: reqwest::Error| RegistryError::Unreachable {
        url: url.to_owned(),
        reason: without_url(&e),
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| unreachable(&url, e))?;
    let request = |token: Option<&str>| {
        let mut request = http
            .head(&url)
            .header(reqwest::header::ACCEPT, MANIFEST_ACCEPT);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    };
    let first_token = match auth {
        Auth::Bearer(secret) => Some(secret.expose().to_owned()),
        Auth::Anonymous => None,
    };
    let mut answer = request(first_token.as_deref())
        .send()
        .await
        .map_err(|e| unreachable(&url, e))?;
    if answer.status() == reqwest::StatusCode::UNAUTHORIZED && matches!(auth, Auth::Anonymous) {
        let challenge = answer
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if let Some(token) = anonymous_token(&http, &challenge).await? {
            answer = request(Some(token.expose()))
                .send()
                .await
                .map_err(|e| unreachable(&url, e))?;
        }
    }
    let status = answer.status().as_u16();
    match status {
        200 => {}
        404 => return Err(RegistryError::NotFound { url }),
        401 | 403 => return Err(RegistryError::Refused { url, status }),
        _ => return Err(RegistryError::Status { url, status }),
    }
    let digest = answer
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match digest {
        Some(d) if is_sha256_digest(&d) => Ok(d),
        got => Err(RegistryError::NoDigest { url, got }),
    }
}

/// Whether `digest` is `sha256:` and 64 hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The `key="value"` parameters of a `Bearer` challenge.
pub fn challenge_params(challenge: &str) -> Option<Vec<(String, String)>> {
    let rest = challenge.trim().strip_prefix("Bearer ")?;
    let mut params = Vec::new();
    let mut text = rest.trim();
    while !text.is_empty() {
        let (key, after) = text.split_once('=')?;
        let after = after.strip_prefix('"')?;
        let (value, tail) = after.split_once('"')?;
        params.push((key.trim().to_owned(), value.to_owned()));
        text = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(params)
}

/// An anonymous token from the challenge's realm, when the challenge names one.
async fn anonymous_token(
    http: &reqwest::Client,
    challenge: &str,
) -> Result<Option<Secret>, RegistryError> {
    let Some(params) = challenge_params(challenge) else {
        return Ok(None);
    };
    let Some((_, realm)) = params.iter().find(|(k, _)| k == "realm") else {
        return Ok(None);
    };
    let query: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k == "service" || k == "scope")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
        url: realm.clone(),
        reason: without_url(&e),
    };
    let mut url = reqwest::Url::parse(realm).map_err(|e| RegistryError::Unreachable {
        url: realm.clone(),
        reason: e.to_string(),
    })?;
    url.query_pairs_mut().extend_pairs(query);
    let answer = http.get(url).send().await.map_err(unreachable)?;
    if !answer.status().is_success() {
        return Ok(None);
    }
    let body: serde_json::Value = answer.json().await.map_err(unreachable)?;
    Ok(body["token"]
        .as_str()
        .or_else(|| body["access_token"].as_str())
        .map(Secret::new))
}

/// reqwest's message without the URL (the caller names it), with its causes.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_host_name_and_tag() {
        let image =
            ImageRef::parse("us-central1-docker.pkg.dev/p/r-releases/o/c/collector:0.3.0").unwrap();
        assert_eq!(image.host, "us-central1-docker.pkg.dev");
        assert_eq!(image.name, "p/r-releases/o/c/collector");
        assert_eq!(image.tag, "0.3.0");
        assert_eq!(
            image.untagged(),
            "us-central1-docker.pkg.dev/p/r-releases/o/c/collector"
        );
        assert_eq!(ImageRef::parse("collector:0.3.0"), None);
        assert_eq!(ImageRef::parse("localhost:5000/collector"), None);
    }

    #[test]
    fn a_bearer_challenge_reads_as_its_parameters() {
        // GitHub Container Registry's challenge, as the registry token spec shapes it.
        let params = challenge_params(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/c:pull""#,
        )
        .unwrap();
        assert_eq!(
            params,
            [
                ("realm".to_owned(), "https://ghcr.io/token".to_owned()),
                ("service".to_owned(), "ghcr.io".to_owned()),
                ("scope".to_owned(), "repository:o/c:pull".to_owned()),
            ]
        );
        assert_eq!(challenge_params("Basic realm=\"x\""), None);
    }

    #[test]
    fn only_sha256_digests_pin() {
        assert!(is_sha256_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_sha256_digest("sha256:feedface"));
        assert!(!is_sha256_digest(&format!("sha512:{}", "a".repeat(64))));
    }
}
