//! The Chronicle API's `projects.locations.instances.feeds.list` on loopback, for `provision
//! verify`'s feed check: `GET /v1/projects/P/locations/L/instances/I/feeds?pageSize=N&pageToken=T`
//! answers `{"feeds": [Feed…], "nextPageToken": "…"}` from the feeds a test sets, as the reference
//! describes (https://cloud.google.com/chronicle/docs/reference/rest/v1/projects.locations.instances.feeds/list:
//! at most 100 feeds when `pageSize` is unset, values above 1000 coerced to 1000; empty lists and
//! tokens left out, as proto3 JSON does). Refused: a request without the expected bearer token
//! (401), another path shape or method (404), an instance the double does not hold (404), and every
//! list while [`Chronicle::deny`] is set (403, the caller lacking `chronicle.feeds.list`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::loopback_http::{Answer, LoopbackHttp, SeenRequest};

/// The most feeds one page holds, whatever `pageSize` asks.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The page size when the request names none.
pub const DEFAULT_PAGE_SIZE: usize = 100;

#[derive(Debug, Default)]
struct State {
    /// Per instance (`projects/P/locations/L/instances/I`), its feeds in creation order.
    instances: BTreeMap<String, Vec<serde_json::Value>>,
    denied: bool,
    /// A smaller page than the API's, so tests page with few feeds.
    page_limit: Option<usize>,
}

/// A running Chronicle API double.
#[derive(Debug)]
pub struct Chronicle {
    http: LoopbackHttp,
    state: Arc<Mutex<State>>,
}

/// A "Google Cloud Storage V2" feed as the API shows it: `display_name` reading `bucket_uri`, in
/// `state` (`ACTIVE`, `INACTIVE`, `FAILED`, …).
pub fn gcs_v2_feed(display_name: &str, bucket_uri: &str, state: &str) -> serde_json::Value {
    serde_json::json!({
        "displayName": display_name,
        "state": state,
        "details": {
            "feedSourceType": "GOOGLE_CLOUD_STORAGE_V2",
            "gcsV2Settings": {
                "bucketUri": bucket_uri,
                "sourceDeletionOption": "SOURCE_DELETION_NEVER",
                "maxLookbackDays": 180,
                "chronicleServiceAccount": "chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com"
            }
        }
    })
}

impl Chronicle {
    /// Starts it; the caller must present `token`; it holds no instance yet.
    pub fn start(token: &str) -> Chronicle {
        let state: Arc<Mutex<State>> = Arc::default();
        let (held, token) = (state.clone(), token.to_owned());
        let http = LoopbackHttp::start(move |request| answer(request, &token, &held));
        Chronicle { http, state }
    }

    /// Creates the instance `parent` (`projects/P/locations/L/instances/I`) with no feed.
    pub fn create_instance(&self, parent: &str) {
        self.lock().instances.entry(parent.to_owned()).or_default();
    }

    /// Adds `feed` to the instance `parent` (created if needed), naming it `parent/feeds/ID`;
    /// returns the name.
    pub fn add_feed(&self, parent: &str, mut feed: serde_json::Value) -> String {
        let mut state = self.lock();
        let feeds = state.instances.entry(parent.to_owned()).or_default();
        let name = format!("{parent}/feeds/{:08x}-feed", feeds.len() + 1);
        feed["name"] = serde_json::Value::String(name.clone());
        feeds.push(feed);
        name
    }

    /// Sets the state of the instance's `index`th feed (in the order they were added), as SecOps
    /// does when a fetch fails or a user disables the feed.
    pub fn set_state(&self, parent: &str, index: usize, state: &str) {
        let mut held = self.lock();
        let feed = held
            .instances
            .get_mut(parent)
            .and_then(|feeds| feeds.get_mut(index))
            .expect("a feed the test added");
        feed["state"] = serde_json::Value::String(state.to_owned());
    }

    /// From now on every list is refused with 403 (or served again with `false`).
    pub fn deny(&self, denied: bool) {
        self.lock().denied = denied;
    }

    /// Pages hold at most `limit` feeds (the API's own limit is [`MAX_PAGE_SIZE`]).
    pub fn limit_pages(&self, limit: usize) {
        self.lock().page_limit = Some(limit.max(1));
    }

    /// The endpoint, as `PROVISION_CHRONICLE_ENDPOINT` takes it (`http://127.0.0.1:PORT/`).
    pub fn endpoint(&self) -> String {
        format!("{}/", self.http.url())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.http.seen()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("chronicle state lock")
    }
}

fn status(code: u16, status: &str, message: &str) -> Answer {
    Answer::json(
        code,
        &serde_json::json!({"error": {"code": code, "message": message, "status": status}}),
    )
}

/// The instance of `/v1/projects/P/locations/L/instances/I/feeds`, each segment non-empty.
fn instance_of(path: &str) -> Option<&str> {
    let parent = path.strip_prefix("/v1/")?.strip_suffix("/feeds")?;
    let parts: Vec<&str> = parent.split('/').collect();
    let shape = ["projects", "", "locations", "", "instances", ""];
    (parts.len() == shape.len()
        && parts
            .iter()
            .zip(shape)
            .all(|(part, fixed)| !part.is_empty() && (fixed.is_empty() || *part == fixed)))
    .then_some(parent)
}

fn query(target: &str) -> BTreeMap<String, String> {
    let Some((_, query)) = target.split_once('?') else {
        return BTreeMap::new();
    };
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn answer(request: &SeenRequest, token: &str, state: &Mutex<State>) -> Answer {
    if request.header("authorization") != Some(format!("Bearer {token}").as_str()) {
        return status(
            401,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential. Expected OAuth 2 access token.",
        );
    }
    let path = request.target.split('?').next().unwrap_or_default();
    let (Some(parent), "GET") = (instance_of(path), request.method.as_str()) else {
        return status(
            404,
            "NOT_FOUND",
            "only GET v1/projects/P/locations/L/instances/I/feeds is served",
        );
    };
    let state = state.lock().expect("chronicle state lock");
    if state.denied {
        return status(
            403,
            "PERMISSION_DENIED",
            &format!(
                "Permission 'chronicle.feeds.list' denied on resource '//chronicle.googleapis.com/{parent}' (or it may not exist)."
            ),
        );
    }
    let Some(feeds) = state.instances.get(parent) else {
        return status(404, "NOT_FOUND", &format!("Instance {parent} not found."));
    };
    let query = query(&request.target);
    let Ok(asked) = query
        .get("pageSize")
        .map_or(Ok(DEFAULT_PAGE_SIZE), |s| s.parse::<usize>())
    else {
        return status(400, "INVALID_ARGUMENT", "pageSize is not a number");
    };
    let size = asked
        .clamp(1, MAX_PAGE_SIZE)
        .min(state.page_limit.unwrap_or(MAX_PAGE_SIZE));
    let Ok(start) = query.get("pageToken").map_or(Ok(0), |t| {
        t.strip_prefix("page-").unwrap_or("x").parse::<usize>()
    }) else {
        return status(400, "INVALID_ARGUMENT", "Invalid page token.");
    };
    let page: Vec<&serde_json::Value> = feeds.iter().skip(start).take(size).collect();
    let mut body = serde_json::Map::new();
    if !page.is_empty() {
        body.insert("feeds".into(), serde_json::json!(page));
    }
    if start + size < feeds.len() {
        body.insert(
            "nextPageToken".into(),
            serde_json::Value::String(format!("page-{}", start + size)),
        );
    }
    Answer::json(200, &serde_json::Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_list_path_shape_is_an_instance() {
        assert_eq!(
            instance_of("/v1/projects/p/locations/us/instances/i/feeds"),
            Some("projects/p/locations/us/instances/i")
        );
        for wrong in [
            "/v1alpha/projects/p/locations/us/instances/i/feeds",
            "/v1/projects/p/locations/us/instances/i",
            "/v1/projects/p/locations/us/instances//feeds",
            "/v1/projects/p/regions/us/instances/i/feeds",
            "/v1/projects/p/locations/us/instances/i/feeds/f",
        ] {
            assert_eq!(instance_of(wrong), None, "{wrong}");
        }
    }
}
