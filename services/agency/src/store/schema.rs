// The agency service's tables (migrations/*/2026-01-03-000000_agency).

diesel::table! {
    admission_batches (id) {
        id -> BigInt,
        name -> Text,
        procurement_ref -> Text,
        qualified_from -> Date,
        qualified_to -> Date,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    agencies (credit_code) {
        credit_code -> Text,
        name -> Text,
        agency_type -> Text,
        legal_representative -> Text,
        details -> Text,
        scopes -> Text,
        lead_evaluators -> Integer,
        admission_batch_id -> BigInt,
        status -> Text,
        suspended_until -> Nullable<Date>,
        version -> BigInt,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    agency_status_changes (id) {
        id -> BigInt,
        credit_code -> Text,
        from_status -> Text,
        to_status -> Text,
        reason -> Text,
        until -> Nullable<Date>,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    agency_violations (id) {
        id -> BigInt,
        credit_code -> Text,
        occurred_on -> Date,
        severity -> Text,
        description -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::joinable!(agencies -> admission_batches (admission_batch_id));
diesel::allow_tables_to_appear_in_same_query!(
    admission_batches,
    agencies,
    agency_status_changes,
    agency_violations
);

diesel::table! {
    experts (id) {
        id -> BigInt,
        /// Empty: the name is `name_enc`. Holds a name only for a row stored before names were
        /// encrypted, until startup seals it (migration 2026-01-12).
        name -> Text,
        id_number_enc -> Binary,
        id_number_index -> Text,
        phone_enc -> Binary,
        id_number_masked -> Text,
        phone_masked -> Text,
        title -> Text,
        years_in_field -> Integer,
        fields -> Text,
        affiliation -> Text,
        details -> Text,
        status -> Text,
        version -> BigInt,
        changed_by -> Text,
        changed_at -> Timestamp,
        /// The birth date (`YYYY-MM-DD`), encrypted; NULL only until startup seals a row stored
        /// before birth dates were encrypted (migration 2026-01-11).
        birth_date_enc -> Nullable<Binary>,
        /// The name, encrypted; NULL only until startup seals a row stored before names were
        /// encrypted (migration 2026-01-12).
        name_enc -> Nullable<Binary>,
    }
}

diesel::table! {
    expert_status_changes (id) {
        id -> BigInt,
        expert_id -> BigInt,
        from_status -> Text,
        to_status -> Text,
        reason -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(experts, expert_status_changes);

diesel::table! {
    pool_rules (fiscal_year, version) {
        fiscal_year -> Integer,
        version -> BigInt,
        rules -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pbm_db::sql_types::Amount;

    engagements (id) {
        id -> BigInt,
        commissioner -> Text,
        evaluated_party -> Text,
        kind -> Text,
        agency_credit_code -> Nullable<Text>,
        started_on -> Date,
        ended_on -> Date,
        scores -> Text,
        score -> Nullable<Amount>,
        rules -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        rated_by -> Nullable<Text>,
        rated_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Text,
    }
}

diesel::table! {
    engagement_experts (engagement_id, expert_id) {
        engagement_id -> BigInt,
        expert_id -> BigInt,
        /// The engagement's end date, kept here for the workload count.
        ended_on -> Nullable<Date>,
    }
}

diesel::joinable!(engagement_experts -> engagements (engagement_id));

diesel::table! {
    draws (id) {
        id -> BigInt,
        task_ref -> Text,
        field -> Text,
        count -> Integer,
        evaluated_party -> Text,
        kind -> Text,
        on_date -> Date,
        seed -> Text,
        candidates -> Text,
        fingerprint -> Text,
        rules -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        subject -> Text,
        weighted -> Bool,
    }
}

diesel::table! {
    draw_agencies (draw_id, credit_code) {
        draw_id -> BigInt,
        credit_code -> Text,
        round -> Integer,
        answer -> Text,
        reason -> Text,
        answered_at -> Nullable<Timestamp>,
        pick_order -> Nullable<Integer>,
    }
}

diesel::table! {
    expert_violations (id) {
        id -> BigInt,
        expert_id -> BigInt,
        occurred_on -> Date,
        severity -> Text,
        description -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    draw_members (draw_id, expert_id) {
        draw_id -> BigInt,
        expert_id -> BigInt,
        round -> Integer,
        answer -> Text,
        reason -> Text,
        answered_at -> Nullable<Timestamp>,
        pick_order -> Nullable<Integer>,
    }
}

diesel::table! {
    draw_shortfalls (draw_id, round) {
        draw_id -> BigInt,
        round -> Integer,
        declined -> Text,
        message -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    draws,
    draw_members,
    draw_shortfalls,
    draw_agencies,
    engagements,
    engagement_experts
);

diesel::table! {
    pool_stamps (name) {
        name -> Text,
        stamp -> BigInt,
    }
}
