//! Encryption in transit (docs/SECURITY.md "Encryption in transit"): a deployment assembled as
//! `pbm serve` assembles it, with `--tls-cert`/`--tls-key` (and `--tls-client-ca` for mutual TLS),
//! answers TLS clients that trust its CA — health and the services, the goal service calling the
//! indicator service over TLS with its own certificate — and refuses plaintext clients, clients
//! that do not trust it, and (mutual TLS) clients without a certificate of the right CA.

use std::path::{Path, PathBuf};

use pbm_auth::Role;
use pbm_e2e::{Deployment, FY, REGION};
use pbm_proto::goal::v1 as pb;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use pbm_testkit::{TestDatabase, Who, bearer};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Certificates of a test deployment, as PEM files in a temporary directory: the deployment's
/// CA, the server's certificate (localhost, 127.0.0.1; also the goal service's client
/// certificate), an operator's client certificate, and a stranger's CA and certificate.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    operator: (PathBuf, PathBuf),
    other_ca: PathBuf,
    stranger: (PathBuf, PathBuf),
}

fn ca(dir: &Path, name: &str) -> (PathBuf, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let path = dir.join(format!("{name}.crt"));
    std::fs::write(&path, cert.pem()).unwrap();
    (path, Issuer::new(params, key))
}

fn leaf(dir: &Path, name: &str, sans: &[&str], issuer: &Issuer<'_, KeyPair>) -> (PathBuf, PathBuf) {
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    let (crt, pem) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&pem, key.serialize_pem()).unwrap();
    (crt, pem)
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let (ca_path, issuer) = ca(dir.path(), "pbm-ca");
    let (other_ca, stranger_issuer) = ca(dir.path(), "other-ca");
    Pki {
        server: leaf(dir.path(), "pbm", &["localhost", "127.0.0.1"], &issuer),
        operator: leaf(dir.path(), "operator", &["operator"], &issuer),
        stranger: leaf(dir.path(), "stranger", &["stranger"], &stranger_issuer),
        ca: ca_path,
        other_ca,
        _dir: dir,
    }
}

impl Pki {
    /// Flags of a deployment serving TLS, with mutual TLS when `mutual`.
    fn serve(&self, mutual: bool) -> impl FnOnce(&mut pbm_server::config::ServerArgs) + use<> {
        let (cert, key, ca) = (
            self.server.0.clone(),
            self.server.1.clone(),
            self.ca.clone(),
        );
        move |args| {
            args.tls.tls_cert = Some(cert);
            args.tls.tls_key = Some(key);
            if mutual {
                args.tls.tls_client_ca = Some(ca);
            } else {
                args.tls.tls_ca = Some(ca);
            }
        }
    }

    /// A client trusting `ca`, presenting `identity`.
    fn client(ca: &Path, identity: Option<&(PathBuf, PathBuf)>) -> ClientTlsFiles {
        ClientTlsFiles {
            ca: Some(ca.to_owned()),
            cert: identity.map(|i| i.0.clone()),
            key: identity.map(|i| i.1.clone()),
        }
    }
}

/// grpc.health.v1's answer for the whole server, or why there was none.
async fn health(client: &ClientTlsFiles, url: &str) -> Result<i32, String> {
    let channel = client
        .endpoint(url)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|r| r.into_inner().status)
        .map_err(|s| format!("{s:?}"))
}

const SERVING: Result<i32, String> = Ok(ServingStatus::Serving as i32);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_deployment_answers_only_clients_that_speak_tls_and_trust_it() {
    let pki = pki();
    let client = Pki::client(&pki.ca, None);
    let d = Deployment::start_with(
        TestDatabase::sqlite(),
        None,
        std::future::pending(),
        pki.serve(false),
        &client,
    )
    .await;
    let (https, http) = (format!("https://{}", d.addr), format!("http://{}", d.addr));
    assert_eq!(health(&client, &https).await, SERVING);
    // The name in the certificate is checked: localhost is in it as well.
    let localhost = format!("https://localhost:{}", d.addr.port());
    assert_eq!(health(&client, &localhost).await, SERVING);
    // Plaintext gets no answer from a TLS listener.
    let plaintext = health(&client, &http).await;
    assert!(plaintext.is_err(), "{plaintext:?}");
    // A client trusting another CA does not accept the server's certificate.
    let wary = health(&Pki::client(&pki.other_ca, None), &https).await;
    assert!(wary.is_err(), "{wary:?}");
    // Nor is an https:// URL reached without a CA to trust.
    assert!(ClientTlsFiles::default().endpoint(&https).is_err());
}

/// Mutual TLS: every client presents a certificate of the deployment's CA — the operator's
/// tools, and the goal service calling the indicator service (its own server certificate).
async fn mutual_tls_between_clients_and_services(db: TestDatabase) {
    let pki = pki();
    let operator = Pki::client(&pki.ca, Some(&pki.operator));
    let d =
        Deployment::start_with(db, None, std::future::pending(), pki.serve(true), &operator).await;
    let url = format!("https://{}", d.addr);
    assert_eq!(health(&operator, &url).await, SERVING);
    for (who, refused) in [
        (
            "no certificate",
            health(&Pki::client(&pki.ca, None), &url).await,
        ),
        (
            "another CA's certificate",
            health(&Pki::client(&pki.ca, Some(&pki.stranger)), &url).await,
        ),
        (
            "plaintext",
            health(&operator, &format!("http://{}", d.addr)).await,
        ),
    ] {
        assert!(refused.is_err(), "{who}: {refused:?}");
    }

    // A goal submitted over mutual TLS pins library indicators: goal → indicator over TLS.
    let token = |role: Role, unit: Option<&str>| {
        let mut who = Who::new(role, REGION).with_sub(&format!("tls-{role}"));
        who.unit = unit.map(str::to_owned);
        who.department = Some("D01".into());
        d.token(&who)
    };
    let (finance, unit) = (
        token(Role::FinanceAdmin, None),
        token(Role::BudgetUnit, Some("D01001")),
    );
    let mut goals = GoalServiceClient::new(d.channel.clone());
    pbm_e2e::seed_library(&d.channel, &finance, "TLS").await;
    goals
        .declare_project(bearer(
            &unit,
            pb::DeclareProjectRequest {
                request_id: "tls-project".into(),
                spec: Some(pbm_e2e::project_spec(
                    "P-TLS-1",
                    "农村饮水安全巩固提升工程",
                    "D01001",
                    "D01",
                    "800000",
                )),
                expected_version: 0,
            },
        ))
        .await
        .unwrap();
    let lib = |code: &str, target: &str| pb::GoalIndicator {
        library_code: code.into(),
        target_value: target.into(),
        ..Default::default()
    };
    let goal = goals
        .save_goal(bearer(
            &unit,
            pb::SaveGoalRequest {
                request_id: "tls-goal".into(),
                declaration: Some(pb::GoalDeclaration {
                    pro_code: "P-TLS-1".into(),
                    fiscal_year: FY,
                    year_goal: "完成12处农村饮水工程".into(),
                    serves_people: true,
                    indicators: vec![
                        lib("TLS-O", "12"),
                        lib("TLS-B", "32000"),
                        lib("TLS-S", "90"),
                    ],
                    ..Default::default()
                }),
                expected_revision: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal
        .unwrap();
    let submitted = goals
        .submit_goal(bearer(
            &unit,
            pb::SubmitGoalRequest {
                request_id: "tls-submit".into(),
                goal_id: goal.id,
                expected_revision: goal.revision,
            },
        ))
        .await
        .expect("the goal service resolved the library over mutual TLS")
        .into_inner()
        .goal
        .unwrap();
    assert_eq!(submitted.status, pb::GoalStatus::Submitted as i32);
    assert!(
        submitted
            .declaration
            .unwrap()
            .indicators
            .iter()
            .all(|i| i.library_version > 0),
        "every indicator pinned to a library version"
    );
}

pbm_db::backend_tests! {
    mutual_tls => mutual_tls_between_clients_and_services;
}
