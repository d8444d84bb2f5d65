//! The tables of this service's database (diesel `table!`).

diesel::table! {
    evaluation_rules (fiscal_year, version) {
        fiscal_year -> Integer,
        version -> BigInt,
        label -> Text,
        body -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    evaluation_campaigns (id) {
        id -> BigInt,
        fiscal_year -> Integer,
        name -> Text,
        deadline -> Date,
        lead_days -> Integer,
        status -> Text,
        rules_version -> BigInt,
        rules_label -> Text,
        revision -> BigInt,
        sheets -> BigInt,
        execution_month -> Integer,
        opened_by -> Text,
        opened_at -> Timestamp,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    evaluation_sheets (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        subject_key -> Text,
        pro_code -> Text,
        department_code -> Text,
        agency_code -> Text,
        name -> Text,
        fund_source -> Text,
        special_field -> Text,
        goal_id -> BigInt,
        goal_version -> Integer,
        year_goal -> Text,
        budget -> Amount,
        executed -> Amount,
        execution_month -> Integer,
        red_warnings -> Integer,
        yellow_warnings -> Integer,
        deviated -> Bool,
        execution_reason -> Text,
        summary -> Text,
        status -> Text,
        revision -> BigInt,
        total -> Amount,
        grade -> Text,
        execution_rate -> Amount,
        score -> Text,
        return_reason -> Text,
        late -> Bool,
        submitted_by -> Nullable<Text>,
        submitted_at -> Nullable<Timestamp>,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    evaluation_sheet_indicators (sheet_id, seq) {
        sheet_id -> BigInt,
        seq -> Integer,
        level1_name -> Text,
        level2_name -> Text,
        name -> Text,
        direction -> Text,
        unit -> Text,
        target_value -> Text,
        goal_weight -> Nullable<Amount>,
        achieved_value -> Text,
        tier -> Text,
        qualitative_score -> Nullable<Amount>,
        not_applicable -> Bool,
        not_applicable_reason -> Text,
        deviation_causes -> Text,
        improvement_measures -> Text,
        weight -> Amount,
        points -> Amount,
        applicable -> Bool,
        deviates -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    evaluation_sheet_events (id) {
        id -> BigInt,
        sheet_id -> BigInt,
        revision -> BigInt,
        action -> Text,
        from_status -> Text,
        to_status -> Text,
        reason -> Text,
        total -> Amount,
        grade -> Text,
        at_by -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    evaluation_unit_deadlines (campaign_id, agency_code) {
        campaign_id -> BigInt,
        agency_code -> Text,
        deadline -> Date,
        reopened -> Integer,
        reason -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    evaluation_spot_checks (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        fiscal_year -> Integer,
        name -> Text,
        method -> Text,
        size -> Integer,
        seed -> BigInt,
        fingerprint -> Text,
        candidates -> BigInt,
        candidate_list -> Text,
        weights -> Text,
        stratum -> Text,
        risk_percent -> Integer,
        reviewer -> Text,
        agency_credit_code -> Text,
        engagement_id -> BigInt,
        draw_id -> BigInt,
        revision -> BigInt,
        finished -> Integer,
        selected_by -> Text,
        selected_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    evaluation_reviews (spot_check_id, sheet_id) {
        spot_check_id -> BigInt,
        sheet_id -> BigInt,
        position -> Integer,
        picked_by -> Text,
        risk -> Amount,
        factors -> Text,
        self_score -> Amount,
        self_grade -> Text,
        status -> Text,
        entries -> Text,
        corrected -> Text,
        corrected_score -> Nullable<Amount>,
        corrected_grade -> Text,
        difference -> Nullable<Amount>,
        flagged -> Bool,
        problems -> Integer,
        opinion -> Text,
        revision -> BigInt,
        changed_by -> Text,
        changed_at -> Timestamp,
        finished_by -> Nullable<Text>,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    evaluation_problems (spot_check_id, sheet_id, seq) {
        spot_check_id -> BigInt,
        sheet_id -> BigInt,
        seq -> Integer,
        fiscal_year -> Integer,
        agency_code -> Text,
        pro_code -> Text,
        category -> Text,
        indicator_seq -> Integer,
        description -> Text,
        evidence -> Text,
    }
}

diesel::joinable!(evaluation_sheets -> evaluation_campaigns (campaign_id));
diesel::joinable!(evaluation_sheet_indicators -> evaluation_sheets (sheet_id));
diesel::joinable!(evaluation_sheet_events -> evaluation_sheets (sheet_id));
diesel::joinable!(evaluation_reviews -> evaluation_spot_checks (spot_check_id));
diesel::joinable!(evaluation_reviews -> evaluation_sheets (sheet_id));

diesel::allow_tables_to_appear_in_same_query!(
    evaluation_rules,
    evaluation_campaigns,
    evaluation_sheets,
    evaluation_sheet_indicators,
    evaluation_sheet_events,
    evaluation_unit_deadlines,
    evaluation_spot_checks,
    evaluation_reviews,
    evaluation_problems,
);
