//! Every text of a request within its stated maximum (`TEXT_TOO_LONG`, field by field, nothing
//! written), and every fiscal-year argument a year PBM serves (`FISCAL_YEAR_INVALID` on the
//! field, not `NOT_FOUND`).

use pbm_proto::indicator::v1 as proto;
use pbm_testkit::TestDatabase;
use tonic::Code;

use crate::common::*;

/// One mebibyte of text.
fn mebibyte() -> String {
    "释".repeat((1 << 20) / 3)
}

async fn fiscal_years_out_of_range_are_bad_arguments(db: TestDatabase) {
    let app = spawn_app(db).await;
    for year in [-1, 0, 1999, 2101] {
        let s = refused(
            app.get_frame(year).await,
            Code::InvalidArgument,
            "FISCAL_YEAR_INVALID",
        );
        has_field(&s, "fiscal_year");
    }
    // A year served without a frame is still not found.
    refused(app.get_frame(2030).await, Code::NotFound, "FRAME_NOT_FOUND");
    // Filters: 0 is any year, anything else a year served.
    let s = refused(
        app.list(
            proto::IndicatorFilter {
                fiscal_year: -1,
                ..Default::default()
            },
            10,
            "",
        )
        .await,
        Code::InvalidArgument,
        "FISCAL_YEAR_INVALID",
    );
    has_field(&s, "filter.fiscal_year");
    let r = proto::SearchIndicatorsRequest {
        query: "饮水".into(),
        filter: Some(proto::IndicatorFilter {
            fiscal_year: 1900,
            ..Default::default()
        }),
        limit: 0,
    };
    let s = refused(
        app.client().search_indicators(app.fin(r)).await,
        Code::InvalidArgument,
        "FISCAL_YEAR_INVALID",
    );
    has_field(&s, "filter.fiscal_year");
    assert!(app.list(Default::default(), 10, "").await.is_ok());
}

async fn every_request_text_has_its_maximum(db: TestDatabase) {
    let app = spawn_app(db).await;
    // A mebibyte of explanation, a name over 200 characters: refused at once, nothing written.
    let s = refused(
        app.create(
            "L1",
            IndicatorSpec {
                explanation: mebibyte(),
                name: "名".repeat(201),
                ..spec("受益人口")
            },
        )
        .await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    assert_eq!(
        violation_reasons(&s),
        [
            ("spec.name".into(), "TEXT_TOO_LONG".into()),
            ("spec.explanation".into(), "TEXT_TOO_LONG".into()),
        ]
    );
    assert_eq!(app.count().await, 0);
    // Texts the library's rules never measured: a change note, a status change's reason.
    let created = app.create("L1", spec("受益人口")).await.unwrap();
    let r = proto::UpdateIndicatorRequest {
        request_id: app.rid(),
        code: "L1".into(),
        expected_version: created.version,
        spec: Some(spec("受益人口数")),
        change_note: mebibyte(),
    };
    let s = refused(
        app.client().update_indicator(app.fin(r)).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "change_note");
    let s = refused(
        app.set_status(
            "L1",
            created.version,
            IndicatorStatus::Disabled,
            &mebibyte(),
        )
        .await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "reason");
    assert_eq!(app.versions("L1").await, [1]);
    // A proposal's reason and a decision's comment.
    let r = proto::ProposeIndicatorRequest {
        request_id: app.rid(),
        code: "D01-1".into(),
        spec: Some(spec("河道保洁长度")),
        reason: mebibyte(),
    };
    let s = refused(
        app.client()
            .propose_indicator(app.req(&department("D01"), r))
            .await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "reason");
    let r = proto::DecideProposalRequest {
        request_id: app.rid(),
        proposal_id: 1,
        expected_version: 1,
        approve: false,
        comment: mebibyte(),
    };
    let s = refused(
        app.client().decide_proposal(app.fin(r)).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "comment");
    // Codes in reads.
    let s = refused(
        app.get(&"C".repeat(65)).await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "code");
    let s = refused(
        app.list(
            proto::IndicatorFilter {
                industry_tag: mebibyte(),
                ..Default::default()
            },
            10,
            "",
        )
        .await,
        Code::InvalidArgument,
        "TEXT_TOO_LONG",
    );
    has_field(&s, "filter.industry_tag");
}

pbm_testkit::backend_tests! {
    fiscal_years_out_of_range => fiscal_years_out_of_range_are_bad_arguments;
    every_request_text_has_its_maximum => every_request_text_has_its_maximum;
}
