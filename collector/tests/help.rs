//! Every `--help` of the `collector` binary, as snapshots, and its examples run as written (with
//! the Events API, the bucket and the folder pointed at local stand-ins).

mod support;

use std::process::{Command, Output};

use support::World;

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_collector"))
        .args(args)
        .arg("--help")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_help_text() {
    insta::assert_snapshot!("collector", help(&[]));
    insta::assert_snapshot!("collector_serve", help(&["serve"]));
    insta::assert_snapshot!("collector_run_once", help(&["run-once"]));
    insta::assert_snapshot!("collector_import_state", help(&["import-state"]));
}

#[test]
fn the_help_names_the_token_variables_and_keeps_examples_apart() {
    for args in [&[][..], &["serve"], &["run-once"]] {
        let text = help(args);
        for name in ["OP_BEARER_TOKEN", "OP_BEARER_TOKEN_FILE"] {
            assert!(text.contains(name), "{args:?} --help names {name}");
        }
    }
    // Each example on its own lines, never run into another.
    let run_once = help(&["run-once"]);
    assert_eq!(run_once.matches("\nExample").count(), 2);
    assert!(!run_once.contains("run-once Example"));
}

/// An example: its variables and its arguments after `collector`.
type Example = (Vec<(String, String)>, Vec<String>);

/// The examples of a help text.
fn examples(text: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("Example") {
            continue;
        }
        let mut command = String::new();
        for next in lines.by_ref() {
            let part = next.trim();
            command.push_str(part.trim_end_matches('\\'));
            command.push(' ');
            if !part.ends_with('\\') {
                break;
            }
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "collector").unwrap();
        let vars = words[..at]
            .iter()
            .map(|w| {
                let (k, v) = w.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        found.push((
            vars,
            words[at + 1..].iter().map(|w| (*w).to_owned()).collect(),
        ));
    }
    found
}

fn run(
    world: &World,
    vars: &[(String, String)],
    args: &[String],
    cwd: &std::path::Path,
    out: &std::path::Path,
) -> Output {
    let mut command = world.collector(&[]);
    command.args(args).current_dir(cwd);
    if vars.iter().any(|(k, _)| k == "OP_BEARER_TOKEN_FILE") {
        command.env_remove("OP_BEARER_TOKEN");
    }
    let gcs = world.gcs.endpoint();
    let api = world.sim.base_url();
    for (k, v) in vars {
        let v = match k.as_str() {
            "OP_API_BASE" => api.clone(),
            "SINK_URL" => format!("file://{}", out.display()),
            _ => v.clone(),
        };
        command.env(k, v);
    }
    if vars
        .iter()
        .any(|(k, _)| k == "GCS_BUCKET" || k == "SINK_URL")
    {
        command.env_remove("GCS_BUCKET");
        if let Some((_, bucket)) = vars.iter().find(|(k, _)| k == "GCS_BUCKET") {
            command
                .env("GCS_BUCKET", bucket)
                .env("STORAGE_EMULATOR_HOST", &gcs);
        }
    }
    command.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_work_as_written() {
    let world = World::new(20).await;
    world.gcs.create_bucket("my-bucket").await;
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("token.txt"),
        format!("{}\n", support::TOKEN),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();

    let mut ran = 0;
    for text in [help(&[]), help(&["run-once"])] {
        for (vars, args) in examples(&text) {
            let output =
                tokio::task::block_in_place(|| run(&world, &vars, &args, cwd.path(), out.path()));
            assert_eq!(
                output.status.code(),
                Some(0),
                "{vars:?} {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            ran += 1;
        }
    }
    assert_eq!(ran, 3);

    // serve: answers /healthz on the example's address, then stops on SIGTERM.
    let (vars, mut args) = examples(&help(&["serve"])).remove(0);
    let port = testkit::free_port().to_string();
    let at = args.iter().position(|a| a == "--port").unwrap();
    args[at + 1] = port.clone();
    let mut command = world.collector(&[]);
    command
        .args(&args)
        .current_dir(cwd.path())
        .env_remove("OP_BEARER_TOKEN");
    for (k, v) in &vars {
        command.env(
            k,
            if k == "OP_API_BASE" {
                world.sim.base_url()
            } else {
                v.clone()
            },
        );
    }
    command.env("STORAGE_EMULATOR_HOST", world.gcs.endpoint());
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ready = support::healthy(port.parse().expect("a port number")).await;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(ready, "{}", String::from_utf8_lossy(&output.stderr));

    // import-state: the guide's state.json where the example says it is.
    world
        .gcs
        .put(
            "my-bucket",
            "onepassword-audit/state.json",
            br#"{"cursor_auditevents":"abc"}"#,
        )
        .await;
    let (_, args) = examples(&help(&["import-state"])).remove(0);
    let output = tokio::task::block_in_place(|| {
        world
            .collector(&[])
            .args(&args)
            .env("GCS_BUCKET", "my-bucket")
            .output()
            .unwrap()
    });
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_readme_lists_every_variable() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for name in collector::config::VARIABLES {
        assert!(readme.contains(&format!("`{name}`")), "README names {name}");
    }
}
