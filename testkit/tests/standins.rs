//! Recording stand-ins record calls faithfully and answer from their rules.

use std::io::Write as _;
use std::process::{Command, Stdio};

use testkit::{Reply, StandIns};

#[test]
fn records_args_cwd_stdin_env_and_answers_by_rule() {
    let mut stand_ins = StandIns::new();
    stand_ins
        .add("terraform")
        .on(
            "gcloud",
            &["secrets", "versions add"],
            Reply::ok("created version [3]\n"),
        )
        .on(
            "gcloud",
            &["builds"],
            Reply::fail(2, "ERROR: build failed\n"),
        )
        .on_seq(
            "gcloud",
            &["run"],
            vec![Reply::ok("first\n"), Reply::ok("second\n")],
        )
        .record_env(&["OP_BEARER_TOKEN", "TF_IN_AUTOMATION"]);
    let work = tempfile::tempdir().unwrap();

    let mut child = Command::new("gcloud")
        .args(["secrets", "versions", "add", "tok", "--data-file=-"])
        .env("PATH", stand_ins.path_env())
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("OP_BEARER_TOKEN")
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"secret-from-stdin")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "created version [3]\n"
    );

    let failed = Command::new("gcloud")
        .args(["builds", "submit"])
        .env("PATH", stand_ins.path_env())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(failed.stderr).unwrap(),
        "ERROR: build failed\n"
    );

    let run = |args: &[&str]| {
        let out = Command::new(args[0])
            .args(&args[1..])
            .env("PATH", stand_ins.path_env())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    assert_eq!(
        run(&["gcloud", "run", "deploy"]),
        (Some(0), "first\n".into())
    );
    assert_eq!(
        run(&["gcloud", "run", "deploy"]),
        (Some(0), "second\n".into())
    );
    assert_eq!(
        run(&["gcloud", "run", "deploy"]),
        (Some(0), "second\n".into())
    );
    assert_eq!(run(&["terraform", "init"]), (Some(0), String::new()));

    let calls = stand_ins.calls();
    assert_eq!(calls.len(), 6);
    assert_eq!(calls[0].program, "gcloud");
    assert_eq!(
        calls[0].args,
        ["secrets", "versions", "add", "tok", "--data-file=-"]
    );
    assert_eq!(
        calls[0].cwd.canonicalize().unwrap(),
        work.path().canonicalize().unwrap()
    );
    assert_eq!(calls[0].stdin, "secret-from-stdin");
    assert_eq!(
        calls[0].env.get("TF_IN_AUTOMATION").map(String::as_str),
        Some("1")
    );
    assert!(!calls[0].env.contains_key("OP_BEARER_TOKEN"));
    assert_eq!(calls[5].program, "terraform");
    assert_eq!(calls[5].args, ["init"]);
}

#[test]
fn an_inherited_open_stdin_does_not_hang_the_stand_in() {
    let mut stand_ins = StandIns::new();
    stand_ins.add("gcloud");
    // A pipe that stays open with nothing written: the stand-in gives up reading after a short idle.
    let mut child = Command::new("gcloud")
        .arg("version")
        .env("PATH", stand_ins.path_env())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let _open_stdin = child.stdin.take();
    assert!(child.wait().unwrap().success());
    assert_eq!(stand_ins.calls()[0].stdin, "");
}
