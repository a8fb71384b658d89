//! The storage proxy in front of a real fake-gcs-server: it forwards faithfully, delays every
//! request, and injects each fault with the effect it promises (before or after the write).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{FakeGcs, FaultedRequests, StorageFault, StorageFaultPlan, StorageProxy};

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
