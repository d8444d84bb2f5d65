// The indicator service's tables (migrations/*/2026-01-02-000000_indicator).

diesel::table! {
    frames (fiscal_year) {
        fiscal_year -> Integer,
        name -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    frame_nodes (fiscal_year, code) {
        fiscal_year -> Integer,
        code -> Text,
        name -> Text,
        level -> Integer,
        parent_code -> Text,
        sort_order -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    indicator_versions (code, version) {
        code -> Text,
        version -> BigInt,
        status -> Text,
        fiscal_year -> Integer,
        frame_node_code -> Text,
        name -> Text,
        kind -> Text,
        industry_tags -> Text,
        field_tags -> Text,
        level_tags -> Text,
        direction -> Text,
        unit -> Text,
        explanation -> Text,
        formula -> Text,
        scoring_rule -> Text,
        value_standard -> Text,
        value_standard_note -> Text,
        reference_target -> Text,
        last_year_value -> Nullable<Amount>,
        year_before_value -> Nullable<Amount>,
        fixed -> Bool,
        enabled_from_year -> Nullable<Integer>,
        enabled_to_year -> Nullable<Integer>,
        owner_department -> Text,
        change_note -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
        origin -> Text,
        origin_version -> BigInt,
    }
}

diesel::table! {
    indicators (code) {
        code -> Text,
        version -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    proposals (id) {
        id -> BigInt,
        code -> Text,
        spec -> Text,
        department -> Text,
        reason -> Text,
        status -> Text,
        decision_comment -> Text,
        version -> BigInt,
        proposed_by -> Text,
        proposed_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        indicator_version -> Nullable<BigInt>,
    }
}

// Following an upstream library (migrations/*/2026-12-07-120000_library_mirror).

diesel::table! {
    library_log (revision) {
        revision -> BigInt,
        kind -> Text,
        key -> Text,
        version -> BigInt,
        fiscal_year -> Integer,
        logged_at -> Timestamp,
    }
}

diesel::table! {
    library_mirror (upstream) {
        upstream -> Text,
        cursor -> Text,
        last_applied_at -> Nullable<Timestamp>,
        resyncs -> BigInt,
    }
}

diesel::table! {
    library_clashes (id) {
        id -> BigInt,
        kind -> Text,
        key -> Text,
        upstream_region -> Text,
        detail -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::joinable!(frame_nodes -> frames (fiscal_year));
diesel::allow_tables_to_appear_in_same_query!(
    frames,
    frame_nodes,
    indicator_versions,
    indicators,
    proposals,
    library_log,
    library_mirror,
    library_clashes
);
