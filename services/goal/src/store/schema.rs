//! The tables of this service's database (diesel `table!`).

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    projects (pro_code, fiscal_year) {
        pro_code -> Text,
        fiscal_year -> Integer,
        name -> Text,
        agency_code -> Text,
        department_code -> Text,
        fund_source -> Text,
        special_field -> Text,
        continuity -> Text,
        nature -> Text,
        requested_amount -> Amount,
        mid_term_from -> Nullable<Integer>,
        mid_term_to -> Nullable<Integer>,
        version -> BigInt,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    goals (id) {
        id -> BigInt,
        fiscal_year -> Integer,
        target_kind -> Text,
        target_code -> Text,
        agency_code -> Text,
        department_code -> Text,
        status -> Text,
        approved_version -> Nullable<Integer>,
        published_version -> Nullable<Integer>,
        state -> Text,
        revision -> BigInt,
        changed_by -> Text,
        changed_at -> Timestamp,
        working_version -> Integer,
    }
}

diesel::table! {
    goal_versions (goal_id, version) {
        goal_id -> BigInt,
        version -> Integer,
        declaration -> Text,
        saved_by -> Text,
        saved_at -> Timestamp,
    }
}

diesel::table! {
    goal_events (id) {
        id -> BigInt,
        goal_id -> BigInt,
        action -> Text,
        from_status -> Text,
        to_status -> Text,
        version -> Integer,
        comments -> Text,
        changes -> Text,
        budget_adjustment_ref -> Text,
        role -> Text,
        actor -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    goal_rules (fiscal_year, version) {
        fiscal_year -> Integer,
        version -> BigInt,
        ex_ante_threshold -> Nullable<Amount>,
        weight_total -> Amount,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    ex_ante_reports (pro_code, fiscal_year) {
        pro_code -> Text,
        fiscal_year -> Integer,
        report -> Text,
        conclusion -> Text,
        review_state -> Text,
        review_opinion -> Text,
        rules -> Text,
        version -> BigInt,
        submitted_by -> Text,
        submitted_at -> Timestamp,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    goal_reviewers (goal_id, kind, reviewer_id) {
        goal_id -> BigInt,
        kind -> Text,
        reviewer_id -> Text,
        draw_id -> BigInt,
        assigned_by -> Text,
        assigned_at -> Timestamp,
    }
}

diesel::table! {
    ex_ante_commissions (pro_code, fiscal_year) {
        pro_code -> Text,
        fiscal_year -> Integer,
        agency_credit_code -> Text,
        draw_id -> BigInt,
        engagement_id -> BigInt,
        due_on -> Date,
        request_id -> Text,
        commissioned_by -> Text,
        commissioned_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    goals,
    goal_versions,
    goal_events,
    goal_reviewers,
    goal_rules,
    projects
);
