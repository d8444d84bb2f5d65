//! Use cases of evaluation: authorise the caller first ([`crate::domain::access`]), then
//! validate, load, apply the pure rules ([`crate::domain`], scores only through `pbm_scoring`)
//! and save in one transaction with audit and idempotency (`pbm_server::rpc::mutate`). One file
//! per noun.
