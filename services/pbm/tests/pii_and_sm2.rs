//! The `pbm` subcommands of docs/SECURITY.md ("Key rotation", "SM2 tokens") as an operator runs
//! them: `pbm reencrypt-pii` over a deployment's databases, `pbm token --sm2-key` signing an SM2
//! token a server trusts through a `kid=sm2:` key-file line.

use std::process::Command;

use base64::Engine;

fn pbm(args: &[&str], data_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pbm"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("PBM_DATABASE_URL")
        .env_remove("PBM_PII_KEY")
        .env_remove("PBM_PII_KEY_PREVIOUS")
        .env_remove("PBM_PII_CIPHER")
        .output()
        .expect("run pbm")
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn reencrypt_pii_runs_on_a_deployment_and_reports_counts() {
    let dir = tempfile::tempdir().unwrap();
    let b64 = |k: [u8; 32]| base64::engine::general_purpose::STANDARD.encode(k);
    let (a, b) = (b64([1; 32]), b64([2; 32]));
    let flags = [
        "reencrypt-pii",
        "--pii-cipher",
        "sm4-gcm",
        "--pii-key",
        &b,
        "--pii-key-previous",
        &a,
    ];
    let report = stdout(&pbm(&flags, dir.path()));
    assert!(
        report.contains("experts: 0 examined, 0 rewritten"),
        "{report}"
    );
    assert!(report.contains("agencies: 0 examined"), "{report}");
    // An unknown cipher or a key of the wrong length is refused before anything is touched.
    assert!(
        !pbm(&["reencrypt-pii", "--pii-cipher", "sm4"], dir.path())
            .status
            .success()
    );
    assert!(
        !pbm(&["reencrypt-pii", "--pii-key", "AAAA"], dir.path())
            .status
            .success()
    );
}

#[test]
fn token_signs_with_an_sm2_key_a_key_file_line_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("sm2.key");
    std::fs::write(&key, hex::encode([5u8; 32])).unwrap();
    let key = key.to_str().unwrap();
    let sm2 = ["--sm2-key", key, "--kid", "idp-sm2"];
    let line = stdout(&pbm(
        &[
            &["token", "--role", "auditor", "--public-key-line"],
            &sm2[..],
        ]
        .concat(),
        dir.path(),
    ));
    assert!(line.starts_with("idp-sm2=sm2:"), "{line}");
    let token = stdout(&pbm(
        &[&["token", "--role", "auditor"], &sm2[..]].concat(),
        dir.path(),
    ));
    let verifier = pbm_auth::JwtVerifier::from_key_file(&line).unwrap();
    let now = chrono_now();
    let claims = pbm_auth::TokenVerifier::verify(&verifier, &token, now).unwrap();
    assert_eq!(claims.role, pbm_auth::Role::Auditor);
    // --kid goes with --sm2-key.
    assert!(
        !pbm(&["token", "--role", "auditor", "--kid", "x"], dir.path())
            .status
            .success()
    );
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}
