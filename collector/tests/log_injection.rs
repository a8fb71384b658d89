//! Log injection through a trigger: a `messageId` with a newline cannot forge a text log line, a
//! 1.9 MB one is not logged whole, and text logs written to a pipe carry no ANSI colours.

mod support;

use support::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_ids_cannot_forge_lines_or_flood_the_text_log() {
    let world = World::new(10).await;
    let port = testkit::free_port();
    let child = world.spawn(
        &["serve"],
        &[("PORT", &port.to_string()), ("LOG_FORMAT", "text")],
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let ready = support::healthy(port).await;
    assert!(ready);
    let forged =
        "7\n2026-11-26T00:00:00.000000Z ERROR   FORGED collection stopped: operator action needed";
    let huge = "h".repeat(1_900_000);
    for id in [forged, huge.as_str()] {
        let push =
            serde_json::json!({"message": {"data": "e30=", "messageId": id}, "subscription": "s"});
        let response = http.post(&base).json(&push).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("ERROR") || l.contains("\\n2026-11-26")),
        "no line of its own: {stdout}"
    );
    assert!(
        lines.iter().any(|l| l.contains("run triggered")
            && l.contains("\\n2026-11-26T00:00:00.000000Z ERROR   FORGED")),
        "the id is logged, escaped, on the trigger's line"
    );
    let longest = lines.iter().map(|l| l.len()).max().unwrap();
    assert!(
        longest < 4096,
        "the 1.9 MB id is capped: a {longest}-byte line"
    );
    assert!(stdout.contains("more bytes cut]"));
    assert!(!stdout.contains('\u{1b}'), "no ANSI escapes into a pipe");
    world.assert_exactly_once().await;
}
