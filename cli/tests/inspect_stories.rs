//! `convoy inspect` on hostile manifests: a sentence on stderr and exit 1, never a crash.

use std::process::Command;

fn inspect(kind: &str, name: &str, text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["inspect", kind])
        .arg(&path)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn twenty_thousand_nested_targets_give_a_sentence_naming_the_line_not_a_stack_overflow() {
    // Issue 14's reproduction, byte for byte.
    let text = format!(
        "{}pod 'X', :git => 'https://g/x/y.git', :branch => 'release/1.0.0'\n{}\n",
        "target 'A' do\n".repeat(20_000),
        "end\n".repeat(20_000)
    );
    let (code, stdout, stderr) = inspect("podfile", "Podfile", &text);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(
            "is not a readable Podfile: line 65: the Podfile nests deeper than 64 blocks here \
             (`target 'A' do`)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_ten_megabyte_podfile_is_refused_naming_its_size() {
    let text = "pod 'A'\n".repeat(10 * 1024 * 1024 / 8);
    let (code, _, stderr) = inspect("podfile", "Podfile", &text);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the Podfile is 10485760 bytes, more than the 4194304 bytes (4 MiB)"),
        "{stderr}"
    );
}

#[test]
fn a_flow_style_ci_file_has_its_publish_stage() {
    let (code, stdout, stderr) = inspect(
        "ci",
        ".gitlab-ci.yml",
        "stages: [lint, publish]\npublish:\n  stage: publish\n  script: pod trunk push\n  only: [tags]\n",
    );
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["publish_stage"], "publish");
    assert_eq!(
        json["config"]["stages"],
        serde_json::json!(["lint", "publish"])
    );
    assert_eq!(json["config"]["jobs"][0]["branch"], "no");
}
