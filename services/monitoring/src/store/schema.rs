//! The tables of this service's database (diesel `table!`).

diesel::table! {
    monitoring_rules (fiscal_year, version) {
        fiscal_year -> Integer,
        version -> BigInt,
        label -> Text,
        bands -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    rounds (id) {
        id -> BigInt,
        fiscal_year -> Integer,
        name -> Text,
        months_to -> Integer,
        starts_on -> Date,
        deadline -> Date,
        lead_days -> Integer,
        scope -> Text,
        status -> Text,
        rules_version -> BigInt,
        rules_label -> Text,
        revision -> BigInt,
        opened_by -> Text,
        opened_at -> Timestamp,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    round_subjects (round_id, subject_key) {
        round_id -> BigInt,
        subject_key -> Text,
        pro_code -> Text,
        department_code -> Text,
        agency_code -> Text,
        name -> Text,
        fund_source -> Text,
        special_field -> Text,
        amount -> Amount,
        goal_state -> Text,
        goal_id -> BigInt,
        goal_version -> Integer,
        year_goal -> Text,
        origin -> Text,
        is_key -> Bool,
        budget_colour -> Text,
        goal_colour -> Text,
        forecast_colour -> Text,
        execution_forecast_colour -> Text,
        deviated -> Bool,
        report_status -> Text,
        snapshot_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    round_indicators (round_id, subject_key, seq) {
        round_id -> BigInt,
        subject_key -> Text,
        seq -> Integer,
        level1_name -> Text,
        level2_name -> Text,
        name -> Text,
        direction -> Text,
        unit -> Text,
        target_value -> Text,
        target_num -> Nullable<Amount>,
        library_code -> Text,
        library_version -> BigInt,
    }
}

diesel::table! {
    round_units (round_id, agency_code) {
        round_id -> BigInt,
        agency_code -> Text,
        department_code -> Text,
        deadline_override -> Nullable<Date>,
        reopened -> Integer,
        revision -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    execution_months (fiscal_year, pro_code, month) {
        fiscal_year -> Integer,
        pro_code -> Text,
        month -> Integer,
        initial_budget -> Amount,
        adjusted_budget -> Nullable<Amount>,
        allocated -> Nullable<Amount>,
        executed -> Amount,
        agency_code -> Text,
        department_code -> Text,
        name -> Text,
        version -> BigInt,
        request_id -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    monitoring_reports (id) {
        id -> BigInt,
        round_id -> BigInt,
        subject_key -> Text,
        agency_code -> Text,
        department_code -> Text,
        status -> Text,
        execution_narrative -> Text,
        expected_year_end -> Nullable<Amount>,
        revision -> BigInt,
        submitted_on -> Nullable<Date>,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    monitoring_report_indicators (report_id, seq) {
        report_id -> BigInt,
        seq -> Integer,
        achieved -> Text,
        forecast -> Text,
        likelihood -> Text,
        causes -> Text,
        other_text -> Text,
        remark -> Text,
    }
}

diesel::table! {
    monitoring_report_events (report_id, seq) {
        report_id -> BigInt,
        seq -> Integer,
        action -> Text,
        from_status -> Text,
        to_status -> Text,
        comments -> Text,
        actor -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    monitoring_warnings (round_id, subject_key, axis, seq) {
        round_id -> BigInt,
        subject_key -> Text,
        axis -> Text,
        seq -> Integer,
        colour -> Text,
        reason -> Text,
        progress -> Nullable<Amount>,
        inputs -> Text,
        explanation -> Text,
        incomplete -> Bool,
        rules_version -> BigInt,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    corrective_actions (id) {
        id -> BigInt,
        round_id -> BigInt,
        subject_key -> Text,
        seq -> Integer,
        description -> Text,
        owner_agency_code -> Text,
        department_code -> Text,
        contact -> Text,
        due_on -> Date,
        status -> Text,
        completion_note -> Text,
        comments -> Text,
        done_on -> Nullable<Date>,
        revision -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    monitoring_decisions (id) {
        id -> BigInt,
        round_id -> BigInt,
        subject_key -> Text,
        fiscal_year -> Integer,
        pro_code -> Text,
        kind -> Text,
        amount -> Nullable<Amount>,
        reason -> Text,
        superseded_by -> BigInt,
        decided_by -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    key_monitoring (round_id, subject_key) {
        round_id -> BigInt,
        subject_key -> Text,
        status -> Text,
        agency_id -> Text,
        draw_id -> BigInt,
        engagement_id -> BigInt,
        report -> Text,
        conclusion -> Text,
        findings -> Text,
        comments -> Text,
        revision -> BigInt,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    rounds,
    round_subjects,
    round_indicators,
    round_units,
    execution_months,
    monitoring_reports,
    monitoring_report_indicators,
    monitoring_report_events,
    monitoring_warnings,
    corrective_actions,
    monitoring_decisions,
    key_monitoring,
);
