//! The storage proxy in front of a real fake-gcs-server: it forwards faithfully, delays every
//! request, injects each fault with the effect it promises (before or after the write), and
//! refuses what its principal's access does not allow with Cloud Storage's 403, before any fault.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{Access, FakeGcs, FaultedRequests, StorageFault, StorageFaultPlan, StorageProxy};

const BUCKET: &str = "proxied";

/// Uploads `name` through `endpoint`; the status, or the transport error's text.
async fn upload(endpoint: &str, name: &str) -> Result<u16, String> {
    reqwest::Client::new()
        .post(format!("{endpoint}/upload/storage/v1/b/{BUCKET}/o"))
        .query(&[("uploadType", "media"), ("name", name)])
        .body(format!("{{\"object\":\"{name}\"}}\n"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn each_fault_happens_before_or_after_the_write_as_named() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket(BUCKET).await;
    let proxy = StorageProxy::start(&gcs.endpoint()).await.unwrap();
    let endpoint = proxy.endpoint();

    assert_eq!(upload(&endpoint, "plain").await, Ok(200));
    assert!(gcs.object(BUCKET, "plain").await.is_some());

    // (fault, status the client sees, whether the write happened)
    let cases = [
        (StorageFault::UnavailableBeforeForwarding, Some(503), false),
        (StorageFault::TooManyRequests, Some(429), false),
        (StorageFault::UnavailableAfterForwarding, Some(503), true),
        (StorageFault::DropAfterForwarding, None, true),
    ];
    for (fault, status, written) in cases {
        let name = format!("{fault:?}");
        proxy.push_fault(fault);
        let answer = upload(&endpoint, &name).await;
        match status {
            Some(code) => assert_eq!(answer, Ok(code), "{fault:?}"),
            None => assert!(
                answer.is_err(),
                "{fault:?}: the client hears nothing, got {answer:?}"
            ),
        }
        assert_eq!(
            gcs.object(BUCKET, &name).await.is_some(),
            written,
            "{fault:?}: written"
        );
        assert_eq!(proxy.injected(fault), 1);
    }
    // Queued faults are used up: the next request passes.
    assert_eq!(upload(&endpoint, "after").await, Ok(200));
    assert_eq!(proxy.request_count(), 6);

    // Reads pass through byte for byte.
    let read = reqwest::get(format!(
        "{endpoint}/storage/v1/b/{BUCKET}/o/plain?alt=media"
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    assert_eq!(&read[..], b"{\"object\":\"plain\"}\n");
}

#[tokio::test]
async fn random_faults_hit_only_writes_when_asked_and_repeat_for_a_seed() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket(BUCKET).await;
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let proxy = StorageProxy::start(&gcs.endpoint()).await.unwrap();
        proxy.set_faults(StorageFaultPlan::random(
            7,
            0.5,
            vec![
                StorageFault::UnavailableBeforeForwarding,
                StorageFault::TooManyRequests,
            ],
            FaultedRequests::Writes,
        ));
        let mut seen = Vec::new();
        for i in 0..20 {
            seen.push(upload(&proxy.endpoint(), &format!("r{i}")).await.unwrap());
            // Reads are never faulted under FaultedRequests::Writes.
            let status = reqwest::get(format!("{}/storage/v1/b/{BUCKET}/o", proxy.endpoint()))
                .await
                .unwrap()
                .status();
            assert!(status.is_success());
        }
        assert!(
            seen.contains(&200) && seen.iter().any(|s| *s != 200),
            "{seen:?}"
        );
        outcomes.push(seen);
    }
    assert_eq!(outcomes[0], outcomes[1], "the same seed, the same faults");

    // Every third write, kinds in turn.
    let proxy = StorageProxy::start(&gcs.endpoint()).await.unwrap();
    proxy.set_faults(StorageFaultPlan::every(
        3,
        vec![
            StorageFault::TooManyRequests,
            StorageFault::UnavailableBeforeForwarding,
        ],
        FaultedRequests::Writes,
    ));
    let mut seen = Vec::new();
    for i in 0..9 {
        seen.push(upload(&proxy.endpoint(), &format!("e{i}")).await.unwrap());
    }
    assert_eq!(seen, [200, 200, 429, 200, 200, 503, 200, 200, 429]);
}

#[tokio::test]
async fn the_binary_delays_every_request() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket(BUCKET).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_storage-proxy"))
        .args(["--upstream", &gcs.endpoint(), "--delay-ms", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("storage-proxy listening on ")
        .expect("listening line")
        .to_owned();
    let started = Instant::now();
    let status = upload(&endpoint, "slow").await;
    let took = started.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, Ok(200));
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(gcs.object(BUCKET, "slow").await.is_some());

    let refused = Command::new(env!("CARGO_BIN_EXE_storage-proxy"))
        .args(["--delay-ms", "x"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("--delay-ms must be whole milliseconds"),
        "{message}"
    );
}

const READER: &str = "reader@acme-secops-prod.iam.gserviceaccount.com";

/// A request's status and body (parsed as JSON when it is JSON), or the transport error's text.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, serde_json::Value), String> {
    let answer = request.send().await.map_err(|e| e.to_string())?;
    let status = answer.status().as_u16();
    let denial = status == 403;
    let content_type = answer
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = answer.bytes().await.map_err(|e| e.to_string())?;
    if denial {
        assert_eq!(
            content_type.as_deref(),
            Some("application/json; charset=UTF-8")
        );
    }
    Ok((
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    ))
}

fn upload_with(client: &reqwest::Client, endpoint: &str, name: &str) -> reqwest::RequestBuilder {
    client
        .post(format!("{endpoint}/upload/storage/v1/b/{BUCKET}/o"))
        .query(&[("uploadType", "media"), ("name", name)])
        .body(format!("{{\"object\":\"{name}\"}}\n"))
}

fn get_with(client: &reqwest::Client, endpoint: &str, name: &str) -> reqwest::RequestBuilder {
    client.get(format!(
        "{endpoint}/storage/v1/b/{BUCKET}/o/{name}?alt=media"
    ))
}

fn list_with(client: &reqwest::Client, endpoint: &str) -> reqwest::RequestBuilder {
    client.get(format!("{endpoint}/storage/v1/b/{BUCKET}/o"))
}

/// Cloud Storage's message for `principal` lacking `permission` on a `resource`.
fn denied(principal: &str, permission: &str, resource: &str) -> String {
    format!(
        "{principal} does not have {permission} access to the Google Cloud Storage {resource}. \
         Permission '{permission}' denied on resource (or it may not exist)."
    )
}

#[tokio::test]
async fn a_denied_request_is_answered_403_before_any_fault_and_never_forwarded() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket(BUCKET).await;
    gcs.put(BUCKET, "existing", b"{\"object\":\"existing\"}\n")
        .await;
    let proxy = StorageProxy::start_as(&gcs.endpoint(), READER, Access::ReadOnly)
        .await
        .unwrap();
    assert_eq!(proxy.principal(), READER);
    assert_eq!(proxy.access(), Access::ReadOnly);
    let (client, endpoint) = (reqwest::Client::new(), proxy.endpoint());

    // A fault that would forward the write: a denied write must neither use it nor be forwarded.
    proxy.push_fault(StorageFault::UnavailableAfterForwarding);
    let (status, body) = send(upload_with(&client, &endpoint, "refused"))
        .await
        .unwrap();
    assert_eq!(status, 403);
    let message = denied(READER, "storage.objects.create", "object");
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": 403, "message": message, "errors": [
            {"message": message, "domain": "global", "reason": "forbidden"}]}})
    );
    assert_eq!(gcs.object(BUCKET, "refused").await, None, "not forwarded");
    assert_eq!(proxy.injected(StorageFault::UnavailableAfterForwarding), 0);

    // The read it allows gets the queued fault, then the next one the object.
    let (status, _) = send(get_with(&client, &endpoint, "existing"))
        .await
        .unwrap();
    assert_eq!(status, 503);
    assert_eq!(proxy.injected(StorageFault::UnavailableAfterForwarding), 1);
    let (status, body) = send(get_with(&client, &endpoint, "existing"))
        .await
        .unwrap();
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"object": "existing"}))
    );

    // A plan counts only the requests the principal is allowed: every 2nd one gets a 429.
    proxy.set_faults(StorageFaultPlan::every(
        2,
        vec![StorageFault::TooManyRequests],
        FaultedRequests::All,
    ));
    let mut seen = Vec::new();
    for i in 0..3 {
        seen.push(
            send(upload_with(&client, &endpoint, &format!("w{i}")))
                .await
                .unwrap()
                .0,
        );
        seen.push(send(list_with(&client, &endpoint)).await.unwrap().0);
    }
    assert_eq!(seen, [403, 200, 403, 429, 403, 200]);
    assert_eq!(gcs.list(BUCKET, "w").await, Vec::<String>::new());
    assert_eq!(proxy.injected(StorageFault::TooManyRequests), 1);
    assert_eq!(proxy.request_count(), 9, "denied requests are counted");
}

#[tokio::test]
async fn access_changed_at_run_time_applies_from_the_next_request() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket(BUCKET).await;
    let proxy = StorageProxy::start(&gcs.endpoint()).await.unwrap();
    assert_eq!(proxy.access(), Access::ReadWrite, "the default");
    let principal = proxy.principal().to_owned();
    // One client, so one kept-alive connection: access is checked per request, not per connection.
    let (client, endpoint) = (reqwest::Client::new(), proxy.endpoint());
    let error = |body: serde_json::Value| body["error"]["message"].as_str().unwrap().to_owned();

    assert_eq!(
        send(upload_with(&client, &endpoint, "a")).await.unwrap().0,
        200
    );

    proxy.set_access(Access::ReadOnly);
    let (status, body) = send(upload_with(&client, &endpoint, "b")).await.unwrap();
    assert_eq!(status, 403);
    assert_eq!(
        error(body),
        denied(&principal, "storage.objects.create", "object")
    );
    assert_eq!(gcs.object(BUCKET, "b").await, None);
    assert_eq!(
        send(get_with(&client, &endpoint, "a")).await.unwrap().0,
        200
    );
    assert_eq!(send(list_with(&client, &endpoint)).await.unwrap().0, 200);

    proxy.set_access(Access::None);
    let (status, body) = send(get_with(&client, &endpoint, "a")).await.unwrap();
    assert_eq!(status, 403);
    assert_eq!(
        error(body),
        denied(&principal, "storage.objects.get", "object")
    );
    let (status, body) = send(list_with(&client, &endpoint)).await.unwrap();
    assert_eq!(status, 403);
    assert_eq!(
        error(body),
        denied(&principal, "storage.objects.list", "bucket")
    );

    proxy.set_access(Access::ReadWrite);
    assert_eq!(
        send(upload_with(&client, &endpoint, "c")).await.unwrap().0,
        200
    );
    assert_eq!(gcs.list(BUCKET, "").await, ["a", "c"]);
}

#[tokio::test]
async fn the_request_log_records_each_request_as_the_cost_measurement_reads_it() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket(BUCKET).await;
    let proxy = StorageProxy::start(&gcs.endpoint()).await.unwrap();
    let endpoint = proxy.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("requests.log");
    // Not recorded: the log is set after this request.
    assert_eq!(upload(&endpoint, "before").await, Ok(200));
    proxy.set_request_log(std::fs::File::create(&path).unwrap());

    assert_eq!(upload(&endpoint, "a/b").await, Ok(200));
    let client = reqwest::Client::new();
    for url in [
        format!("{endpoint}/storage/v1/b/{BUCKET}/o?prefix=a%2F"),
        format!("{endpoint}/storage/v1/b/{BUCKET}/o/a%2Fb?alt=media"),
    ] {
        assert!(client.get(url).send().await.unwrap().status().is_success());
    }
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        lines,
        [
            format!("POST /upload/storage/v1/b/{BUCKET}/o?uploadType=media&name=a%2Fb 17"),
            format!("GET /storage/v1/b/{BUCKET}/o?prefix=a%2F 0"),
            format!("GET /storage/v1/b/{BUCKET}/o/a%2Fb?alt=media 0"),
        ]
    );
    assert_eq!(proxy.request_count(), 4, "the log counts nothing itself");
}
