//! The harness against the real fake-gcs-server, driven by the official `google-cloud-storage` crate.

use google_cloud_storage::client::Storage;
use testkit::FakeGcs;

async fn client(gcs: &FakeGcs) -> Storage {
    Storage::builder()
        .with_endpoint(gcs.endpoint())
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .build()
        .await
        .expect("storage client")
}

async fn read(client: &Storage, name: &str) -> Result<(Vec<u8>, i64), google_cloud_storage::Error> {
    let mut response = client
        .read_object("projects/_/buckets/proof", name)
        .send()
        .await?;
    let generation = response.object().generation;
    let mut data = Vec::new();
    while let Some(chunk) = response.next().await.transpose()? {
        data.extend_from_slice(&chunk);
    }
    Ok((data, generation))
}

#[tokio::test]
async fn official_crate_preconditions_against_the_emulator() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket("proof").await;
    let client = client(&gcs).await;

    let created = client
        .write_object(
            "projects/_/buckets/proof",
            "a/b.ndjson",
            bytes::Bytes::from_static(b"{\"x\":1}\n"),
        )
        .set_if_generation_match(0)
        .send_buffered()
        .await
        .expect("create-only write");
    let (data, generation) = read(&client, "a/b.ndjson").await.expect("read back");
    assert_eq!(data, b"{\"x\":1}\n");
    assert_eq!(generation, created.generation);
    assert!(generation > 0);

    let again = client
        .write_object(
            "projects/_/buckets/proof",
            "a/b.ndjson",
            bytes::Bytes::from_static(b"other"),
        )
        .set_if_generation_match(0)
        .send_buffered()
        .await
        .expect_err("second create-only write must fail");
    assert_eq!(again.http_status_code(), Some(412));

    let updated = client
        .write_object(
            "projects/_/buckets/proof",
            "a/b.ndjson",
            bytes::Bytes::from_static(b"v2"),
        )
        .set_if_generation_match(generation)
        .send_buffered()
        .await
        .expect("generation-matched overwrite");
    assert_ne!(updated.generation, generation);
    let stale = client
        .write_object(
            "projects/_/buckets/proof",
            "a/b.ndjson",
            bytes::Bytes::from_static(b"v3"),
        )
        .set_if_generation_match(generation)
        .send_buffered()
        .await
        .expect_err("a stale generation must fail");
    assert_eq!(stale.http_status_code(), Some(412));
    assert_eq!(read(&client, "a/b.ndjson").await.unwrap().0, b"v2");

    let missing = read(&client, "nope").await.expect_err("missing object");
    assert_eq!(missing.http_status_code(), Some(404));

    // The harness's own JSON-API helpers see what the crate wrote.
    assert_eq!(gcs.object("proof", "a/b.ndjson").await.unwrap(), b"v2");
    assert_eq!(gcs.object("proof", "nope").await, None);
}

#[tokio::test]
async fn harness_instances_are_independent_and_stop_on_drop() {
    let first = FakeGcs::start().await;
    let second = FakeGcs::start().await;
    assert_ne!(first.port(), second.port());
    first.create_bucket("one").await;
    second.create_bucket("two").await;
    first.put("one", "p/x", b"1").await;
    first.put("one", "p/y/z", b"2").await;
    first.put("one", "q", b"3").await;
    assert_eq!(
        first.list("one", "p/").await,
        vec!["p/x".to_owned(), "p/y/z".to_owned()]
    );
    assert_eq!(second.list("two", "").await, Vec::<String>::new());

    let pid = first.pid();
    let endpoint = first.endpoint();
    drop(first);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the process is gone"
    );
    assert!(
        reqwest::get(format!("{endpoint}/storage/v1/b"))
            .await
            .is_err(),
        "the port no longer answers"
    );
}

#[tokio::test]
async fn emulator_stops_when_a_test_panics() {
    let pid = std::sync::Arc::new(std::sync::Mutex::new(0));
    let seen = pid.clone();
    let handle = tokio::spawn(async move {
        let gcs = FakeGcs::start().await;
        *seen.lock().unwrap() = gcs.pid();
        panic!("test failure while the emulator runs");
    });
    assert!(handle.await.unwrap_err().is_panic());
    let pid = *pid.lock().unwrap();
    assert!(pid > 0);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}
