//! docs/DOMAIN.md "Library versions": a library changes (动态调整) while goals keep the version
//! they were declared against. Over real gRPC, with the server assembled exactly as `pbm serve`
//! assembles it (config, dev-key auth, events relay), on SQLite and PostgreSQL, with Redis
//! Streams when available.

use std::time::Duration;

use pbm_auth::Role;
use pbm_e2e::REGION;
use pbm_proto::indicator::v1 as pb;
use pbm_proto::indicator::v1::indicator_service_client::IndicatorServiceClient;
use pbm_testkit::{TestDatabase, Who, bearer as req};
use tonic::transport::Channel;
use tonic_types::StatusExt;

struct Deployment {
    client: IndicatorServiceClient<Channel>,
    redis_topic_key: Option<(String, String)>,
    events: tokio::sync::broadcast::Receiver<pbm_events::Event>,
    backend: &'static str,
    deployment: pbm_e2e::Deployment,
}

async fn deploy(db: TestDatabase) -> Deployment {
    let redis_url = std::env::var("PBM_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let backend = db.backend().name();
    let deployment = pbm_e2e::Deployment::start(db, redis_url.clone()).await;
    Deployment {
        client: IndicatorServiceClient::new(deployment.channel.clone()),
        redis_topic_key: redis_url
            .map(|u| (u, pbm_events::stream_key(REGION, "pbm.indicator.changed"))),
        events: deployment.bus.subscribe(),
        backend,
        deployment,
    }
}

impl Deployment {
    /// A token as `pbm token` would print it.
    fn token(&self, role: Role, department: Option<&str>, unit: Option<&str>) -> String {
        let mut who = Who::new(role, REGION).with_sub(&format!("e2e-{role}"));
        who.department = department.map(str::to_owned);
        who.unit = unit.map(str::to_owned);
        self.deployment.token(&who)
    }
}

fn cost_spec(name: &str) -> pb::IndicatorSpec {
    pb::IndicatorSpec {
        fiscal_year: 2027,
        frame_node_code: "401".into(),
        name: name.into(),
        kind: pb::IndicatorKind::Specific as i32,
        direction: pb::Direction::Le as i32,
        unit: "万元".into(),
        explanation: "项目全生命周期经济成本".into(),
        reference_target: "350".into(),
        enabled_from_year: 2027,
        ..Default::default()
    }
}

async fn library_changes_while_goals_keep_their_version(db: TestDatabase) {
    let mut d = deploy(db).await;
    let finance = d.token(Role::FinanceAdmin, None, None);
    let department = d.token(Role::Department, Some("D01"), None);
    let unit = d.token(Role::BudgetUnit, Some("D01"), Some("D01001"));
    // Unique per run: the Redis stream outlives the test databases.
    let code = format!(
        "D01-{}-{}-{}",
        d.backend,
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );

    // The newer national guide's frame for 2027, beside the seeded 2026 default.
    let frame = d
        .client
        .create_frame(req(
            &finance,
            pb::CreateFrameRequest {
                request_id: "frame-2027".into(),
                fiscal_year: 2027,
                template: pb::FrameTemplate::CostFirstLevel as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .frame
        .unwrap();
    assert!(
        frame
            .nodes
            .iter()
            .any(|n| n.code == "4" && n.name == "成本指标" && n.level == 1)
    );
    let frames = d
        .client
        .list_frames(req(&unit, pb::ListFramesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .frames;
    assert_eq!(
        frames.iter().map(|f| f.fiscal_year).collect::<Vec<_>>(),
        vec![2026, 2027]
    );

    // A department proposes a 个性 cost indicator; finance approves it.
    let proposal = d
        .client
        .propose_indicator(req(
            &department,
            pb::ProposeIndicatorRequest {
                request_id: "p-1".into(),
                code: code.clone(),
                spec: Some(cost_spec("建设项目单位造价")),
                reason: "本部门基建项目需要成本控制指标".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    let decided = d
        .client
        .decide_proposal(req(
            &finance,
            pb::DecideProposalRequest {
                request_id: "d-1".into(),
                proposal_id: proposal.id,
                expected_version: proposal.version,
                approve: true,
                comment: "同意".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let created = decided.indicator.unwrap();
    assert_eq!(
        (created.version, created.level1_name.as_str()),
        (1, "成本指标")
    );
    assert_eq!(created.spec.as_ref().unwrap().owner_department, "D01");

    // A unit's goal pins version 1.
    let resolve = |version| pb::ResolveIndicatorsRequest {
        fiscal_year: 2027,
        refs: vec![pb::IndicatorRef {
            code: code.clone(),
            version,
        }],
    };
    let pinned = d
        .client
        .resolve_indicators(req(&unit, resolve(0)))
        .await
        .unwrap()
        .into_inner()
        .indicators;
    assert_eq!(pinned[0].version, 1);

    // Finance adjusts the library (动态调整): version 2; the pinned version stays readable.
    let mut spec = cost_spec("建设项目单位造价（含设备）");
    spec.owner_department = "D01".into();
    let updated = d
        .client
        .update_indicator(req(
            &finance,
            pb::UpdateIndicatorRequest {
                request_id: "u-1".into(),
                code: code.clone(),
                expected_version: 1,
                spec: Some(spec),
                change_note: "口径调整".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert_eq!(updated.version, 2);
    let v1 = d
        .client
        .get_indicator(req(
            &unit,
            pb::GetIndicatorRequest {
                code: code.clone(),
                version: 1,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert_eq!(v1.spec.unwrap().name, "建设项目单位造价");

    // Disabled: no new declaration may use it, whatever the version.
    d.client
        .set_indicator_status(req(
            &finance,
            pb::SetIndicatorStatusRequest {
                request_id: "s-1".into(),
                code: code.clone(),
                expected_version: 2,
                status: pb::IndicatorStatus::Disabled as i32,
                reason: "指标合并".into(),
            },
        ))
        .await
        .unwrap();
    let refused = d
        .client
        .resolve_indicators(req(&unit, resolve(0)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        refused.get_details_error_info().unwrap().reason,
        "INDICATOR_UNUSABLE"
    );
    let refused_pinned = d
        .client
        .resolve_indicators(req(&unit, resolve(1)))
        .await
        .unwrap_err();
    assert_eq!(
        refused_pinned.code(),
        tonic::Code::FailedPrecondition,
        "a pinned old version of a disabled indicator"
    );

    // Every version was announced to other services, once each.
    let versions = announced_versions(&mut d, &code, 3).await;
    assert_eq!(versions, vec![1, 2, 3]);
}

/// Versions of `code` announced on `pbm.indicator.changed`, waiting for `expected` of them.
async fn announced_versions(d: &mut Deployment, code: &str, expected: usize) -> Vec<i64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        if let Some((url, key)) = &d.redis_topic_key {
            let client = redis::Client::open(url.as_str()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(key)
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await
                .unwrap();
            seen = entries
                .ids
                .iter()
                .filter(|e| e.get::<String>("entity_id").as_deref() == Some(code))
                .filter_map(|e| e.get::<String>("payload"))
                .map(|p| version_of(&p))
                .collect();
        } else if let Ok(Ok(event)) =
            tokio::time::timeout(Duration::from_millis(200), d.events.recv()).await
            && event.entity_id == code
        {
            seen.push(version_of(&event.payload));
        }
        if seen.len() >= expected || tokio::time::Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn version_of(payload: &str) -> i64 {
    let marker = "\"version\":";
    let start = payload.find(marker).expect("version in payload") + marker.len();
    payload[start..]
        .split([',', '}'])
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

pbm_db::backend_tests! {
    indicator_lifecycle => library_changes_while_goals_keep_their_version;
}
