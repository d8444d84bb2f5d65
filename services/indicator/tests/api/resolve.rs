//! ResolveIndicators: what a goal declaration may reference, with pinned versions.

use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

fn refs(codes: &[(&str, i64)]) -> Vec<proto::IndicatorRef> {
    codes
        .iter()
        .map(|(c, v)| proto::IndicatorRef {
            code: (*c).into(),
            version: *v,
        })
        .collect()
}

async fn resolve(
    app: &TestApp,
    year: i32,
    r: &[(&str, i64)],
) -> Result<Vec<proto::Indicator>, tonic::Status> {
    let req = proto::ResolveIndicatorsRequest {
        fiscal_year: year,
        refs: refs(r),
    };
    Ok(app
        .client()
        .resolve_indicators(app.fin(req))
        .await?
        .into_inner()
        .indicators)
}

async fn resolve_pins_usable_versions(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.create("R1", spec("受益人口")).await.unwrap();
    app.update("R1", 1, spec("受益人口数量")).await.unwrap();
    app.create("R2", spec("停用的指标")).await.unwrap();
    app.set_status("R2", 1, IndicatorStatus::Disabled, "不再使用")
        .await
        .unwrap();
    app.create(
        "R3",
        proto::IndicatorSpec {
            enabled_from_year: 2024,
            enabled_to_year: 2025,
            ..spec("过期的指标")
        },
    )
    .await
    .unwrap();
    app.create(
        "R4",
        proto::IndicatorSpec {
            enabled_from_year: 2026,
            enabled_to_year: 2026,
            ..spec("本年度指标")
        },
    )
    .await
    .unwrap();

    let got = resolve(&app, FY, &[("R1", 0), ("R4", 0)])
        .await
        .expect("usable");
    assert_eq!(
        got.iter()
            .map(|i| (i.code.as_str(), i.version))
            .collect::<Vec<_>>(),
        [("R1", 2), ("R4", 1)]
    );
    assert_eq!(got[0].spec.as_ref().unwrap().name, "受益人口数量");
    // An explicit version stays pinned.
    let got = resolve(&app, FY, &[("R1", 1)]).await.expect("pinned");
    assert_eq!(
        (got[0].version, got[0].spec.as_ref().unwrap().name.as_str()),
        (1, "受益人口")
    );

    // Disabled.
    let s = refused(
        resolve(&app, FY, &[("R2", 0)]).await,
        Code::FailedPrecondition,
        "INDICATOR_UNUSABLE",
    );
    assert_eq!(fields(&s), ["refs[0]"]);
    let pf = s
        .get_details_precondition_failure()
        .expect("precondition failure");
    assert_eq!(
        pf.violations
            .iter()
            .map(|v| v.subject.as_str())
            .collect::<Vec<_>>(),
        ["refs[0]"]
    );
    // Out of period, one violation per offending reference.
    let s = refused(
        resolve(&app, FY, &[("R3", 0)]).await,
        Code::FailedPrecondition,
        "INDICATOR_UNUSABLE",
    );
    assert_eq!(fields(&s), ["refs[0]"]);
    let s = refused(
        resolve(&app, FY, &[("R1", 0), ("R3", 0), ("R2", 0)]).await,
        Code::FailedPrecondition,
        "INDICATOR_UNUSABLE",
    );
    assert_eq!(fields(&s), ["refs[1]", "refs[2]"]);
    // In its period it is usable; the year after the period of R4 it is not.
    assert_eq!(
        resolve(&app, 2025, &[("R3", 0)]).await.unwrap()[0].code,
        "R3"
    );
    let s = refused(
        resolve(&app, 2027, &[("R4", 0)]).await,
        Code::FailedPrecondition,
        "INDICATOR_UNUSABLE",
    );
    assert_eq!(fields(&s), ["refs[0]"]);

    // Unknown code or version.
    let s = refused(
        resolve(&app, FY, &[("R1", 0), ("NOPE", 0)]).await,
        Code::NotFound,
        "INDICATOR_NOT_FOUND",
    );
    assert_eq!(fields(&s), ["refs[1].code"]);
    let s = refused(
        resolve(&app, FY, &[("R1", 9)]).await,
        Code::NotFound,
        "INDICATOR_NOT_FOUND",
    );
    assert_eq!(fields(&s), ["refs[0].code"]);

    // Bad requests.
    refused(
        resolve(&app, FY, &[]).await,
        Code::InvalidArgument,
        "REFS_INVALID",
    );
    refused(
        resolve(&app, 1999, &[("R1", 0)]).await,
        Code::InvalidArgument,
        "FISCAL_YEAR_INVALID",
    );
}

pbm_testkit::backend_tests! {
    resolve_indicators => resolve_pins_usable_versions;
}
