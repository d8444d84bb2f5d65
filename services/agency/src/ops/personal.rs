//! Personal data at rest (`domain::personal`, docs/SECURITY.md "Personal data at rest"): people's
//! names, phones and emails on agency records sealed with the service's PII cipher before a
//! record is written; names opened for every reader, phones and emails only for a reader who sees
//! them in full; experts' names and birth dates decrypted; what was stored before it was sealed,
//! sealed once at startup; and the re-encryption of everything under the configured cipher and
//! key (`reencrypt-pii`, after a key rotation or a change of algorithm).

use std::fmt;

use chrono::NaiveDate;
use pbm_db::{AnyConnection, Db};
use pbm_server::ApiError;
use pbm_server::pii::{PiiCipher, PiiError};

use crate::domain::ids::IdNumber;
use crate::domain::personal::{Sealable, mask_email, mask_phone};
use crate::domain::registry::Details;
use crate::store;
use crate::store::experts::{self as store_x, SealedRow};

/// How many records one transaction of the re-encryption rewrites.
pub const REENCRYPT_BATCH: i64 = 100;

/// Names are shown in full everywhere: a sealed one keeps no masked form.
fn no_masked_form(_: &str) -> String {
    String::new()
}

/// Every name on the record: lead evaluators' and people's.
fn names(details: &mut Details) -> impl Iterator<Item = &mut Sealable> {
    let Details {
        lead_evaluators,
        cooperating_experts,
        other_staff,
        contacts,
        ..
    } = details;
    lead_evaluators.iter_mut().map(|e| &mut e.name).chain(
        cooperating_experts
            .iter_mut()
            .chain(other_staff.iter_mut())
            .chain(contacts.iter_mut())
            .map(|p| &mut p.name),
    )
}

/// A value with its masking.
type Masked<'a> = (&'a mut Sealable, fn(&str) -> String);

/// Each name, phone and email with its masking.
fn values(details: &mut Details) -> Vec<Masked<'_>> {
    let mut out: Vec<Masked<'_>> = Vec::new();
    let Details {
        lead_evaluators,
        cooperating_experts,
        other_staff,
        contacts,
        ..
    } = details;
    for e in lead_evaluators.iter_mut() {
        out.push((&mut e.name, no_masked_form));
    }
    for p in cooperating_experts
        .iter_mut()
        .chain(other_staff.iter_mut())
        .chain(contacts.iter_mut())
    {
        out.push((&mut p.name, no_masked_form));
        out.push((&mut p.phone, mask_phone));
        out.push((&mut p.email, mask_email));
    }
    out
}

/// Seals every name, phone and email held in clear (encrypted, with the masked form of phones
/// and emails); returns how many were.
pub fn seal(details: &mut Details, pii: &PiiCipher) -> usize {
    let mut sealed = 0;
    for (value, mask) in values(details) {
        if value.needs_sealing()
            && let Sealable::Clear(text) = value
        {
            *value = Sealable::Sealed {
                cipher: pii.encrypt(text),
                masked: mask(text),
            };
            sealed += 1;
        }
    }
    sealed
}

fn open_value(value: &mut Sealable, pii: &PiiCipher) -> Result<(), ApiError> {
    if let Sealable::Sealed { cipher, .. } = value {
        *value = Sealable::Clear(pii.decrypt(cipher).map_err(ApiError::internal)?);
    }
    Ok(())
}

/// Opens every sealed name, phone and email, for a reader who sees them in full.
pub fn open(details: &mut Details, pii: &PiiCipher) -> Result<(), ApiError> {
    for (value, _) in values(details) {
        open_value(value, pii)?;
    }
    Ok(())
}

/// Opens every sealed name, for every reader (names are never masked).
pub fn open_names(details: &mut Details, pii: &PiiCipher) -> Result<(), ApiError> {
    for name in names(details) {
        open_value(name, pii)?;
    }
    Ok(())
}

/// An expert's birth date (for the age cap), decrypted.
pub fn birth_date(pii: &PiiCipher, id: i64, sealed: Option<&[u8]>) -> Result<NaiveDate, ApiError> {
    let sealed = sealed.ok_or_else(|| {
        ApiError::internal(format!(
            "expert {id}: birth date not sealed yet (restart the service)"
        ))
    })?;
    let text = pii.decrypt(sealed).map_err(ApiError::internal)?;
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|e| ApiError::internal(format!("expert {id}: stored birth date: {e}")))
}

/// A birth date as it is encrypted.
pub fn seal_birth_date(pii: &PiiCipher, date: NaiveDate) -> Vec<u8> {
    pii.encrypt(&date.format("%Y-%m-%d").to_string())
}

/// The birth date of a stored 身份证号 (digits 7–14), sealed.
fn birth_date_of_id_number(pii: &PiiCipher, row: &SealedRow) -> Result<Vec<u8>, ApiError> {
    let id = pii
        .decrypt(&row.id_number_enc)
        .map_err(ApiError::internal)?;
    let id = IdNumber::parse(&id).map_err(|_| {
        ApiError::internal(format!("expert {}: stored 身份证号 is invalid", row.id))
    })?;
    Ok(seal_birth_date(pii, id.birth_date()))
}

/// Seals the names of experts stored before names were sealed (the clear column emptied);
/// returns how many were.
fn seal_expert_names(conn: &mut AnyConnection, pii: &PiiCipher) -> Result<usize, ApiError> {
    let mut sealed = 0;
    for (id, version, name) in store_x::with_name_in_clear(conn)? {
        if store_x::seal_name(conn, id, version, &pii.encrypt(&name))? {
            sealed += 1;
        }
    }
    Ok(sealed)
}

/// Seals what was stored before it was sealed (run at startup, before the service answers):
/// people's names, phones and emails on agency records, experts' names and birth dates (from
/// their 身份证号). Returns how many agencies and expert values were rewritten. Idempotent: a second run, or a run
/// beside another instance, finds nothing left.
pub async fn seal_stored(db: &Db, pii: &PiiCipher) -> Result<(usize, usize), ApiError> {
    let pii = pii.clone();
    db.write(move |conn| -> Result<(usize, usize), ApiError> {
        let mut agencies = 0;
        for mut agency in store::agencies_with_personal_data_in_clear(conn)? {
            let code = agency.spec.credit_code.as_str().to_owned();
            if seal(&mut agency.spec.details, &pii) > 0
                && store::reseal_agency_details(conn, &code, agency.version, &agency.spec.details)?
            {
                agencies += 1;
            }
        }
        let mut experts = seal_expert_names(conn, &pii)?;
        for mut row in store_x::without_sealed_birth_date(conn)? {
            row.birth_date_enc = Some(birth_date_of_id_number(&pii, &row)?);
            if store_x::reseal(conn, &row)? {
                experts += 1;
            }
        }
        Ok((agencies, experts))
    })
    .await
}

/// What the re-encryption did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reencrypted {
    pub experts: usize,
    pub experts_rewritten: usize,
    pub agencies: usize,
    pub agencies_rewritten: usize,
    /// Encrypted values written afresh (names, 身份证号, phones, emails, birth dates).
    pub values: usize,
    /// Blind indexes of 身份证号 recomputed.
    pub indexes: usize,
}

impl fmt::Display for Reencrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "experts: {} examined, {} rewritten; agencies: {} examined, {} rewritten; \
             {} values re-encrypted, {} blind indexes recomputed",
            self.experts,
            self.experts_rewritten,
            self.agencies,
            self.agencies_rewritten,
            self.values,
            self.indexes
        )
    }
}

/// Re-encrypts every personal value under the configured cipher and current key, and recomputes
/// every blind index, [`REENCRYPT_BATCH`] records a transaction. Values already under both are
/// left alone, so a second run rewrites nothing. A record changed by a writer meanwhile is
/// skipped: its writer stored it under the current key.
pub async fn reencrypt(db: &Db, pii: &PiiCipher) -> Result<Reencrypted, ApiError> {
    let mut done = Reencrypted::default();
    // Names stored in clear (a database the service has not started on since) are sealed first.
    let p = pii.clone();
    done.values += db.write(move |conn| seal_expert_names(conn, &p)).await?;
    let mut after = 0;
    loop {
        let pii = pii.clone();
        let (n, last, batch) = db
            .write(move |conn| reencrypt_experts(conn, &pii, after))
            .await?;
        done.experts += n;
        done.experts_rewritten += batch.experts_rewritten;
        done.values += batch.values;
        done.indexes += batch.indexes;
        match last {
            Some(last) => after = last,
            None => break,
        }
    }
    let mut after = String::new();
    loop {
        let pii = pii.clone();
        let from = after.clone();
        let (n, last, batch) = db
            .write(move |conn| reencrypt_agencies(conn, &pii, &from))
            .await?;
        done.agencies += n;
        done.agencies_rewritten += batch.agencies_rewritten;
        done.values += batch.values;
        match last {
            Some(last) => after = last,
            None => break,
        }
    }
    Ok(done)
}

type Batch<K> = (usize, Option<K>, Reencrypted);

/// One batch of experts after id `after`: (how many, the last id or `None` at the end, counts).
fn reencrypt_experts(
    conn: &mut AnyConnection,
    pii: &PiiCipher,
    after: i64,
) -> Result<Batch<i64>, ApiError> {
    let rows = store_x::sealed_after(conn, after, REENCRYPT_BATCH)?;
    let mut done = Reencrypted::default();
    fn undecryptable(id: i64, what: &'static str) -> impl Fn(PiiError) -> ApiError {
        move |_| ApiError::internal(format!("expert {id}: {what} cannot be decrypted"))
    }
    for mut row in rows.iter().cloned() {
        let mut changed = 0;
        for (value, what) in [
            (&mut row.id_number_enc, "身份证号"),
            (&mut row.phone_enc, "phone"),
        ] {
            if let Some(fresh) = pii.reseal(value).map_err(undecryptable(row.id, what))? {
                *value = fresh;
                changed += 1;
            }
        }
        if let Some(sealed) = &row.name_enc
            && let Some(fresh) = pii.reseal(sealed).map_err(undecryptable(row.id, "name"))?
        {
            row.name_enc = Some(fresh);
            changed += 1;
        }
        match &row.birth_date_enc {
            Some(sealed) => {
                if let Some(fresh) = pii
                    .reseal(sealed)
                    .map_err(undecryptable(row.id, "birth date"))?
                {
                    row.birth_date_enc = Some(fresh);
                    changed += 1;
                }
            }
            None => {
                row.birth_date_enc = Some(birth_date_of_id_number(pii, &row)?);
                changed += 1;
            }
        }
        let id_number = pii
            .decrypt(&row.id_number_enc)
            .map_err(undecryptable(row.id, "身份证号"))?;
        let index = pii.blind_index(&id_number);
        let reindexed = index != row.id_number_index;
        row.id_number_index = index;
        if (changed > 0 || reindexed) && store_x::reseal(conn, &row)? {
            done.experts_rewritten += 1;
            done.values += changed;
            done.indexes += usize::from(reindexed);
        }
    }
    let last = (rows.len() == usize::try_from(REENCRYPT_BATCH).unwrap_or(usize::MAX))
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok((rows.len(), last, done))
}

/// One batch of agencies after credit code `after`.
fn reencrypt_agencies(
    conn: &mut AnyConnection,
    pii: &PiiCipher,
    after: &str,
) -> Result<Batch<String>, ApiError> {
    let agencies = store::agencies_after(conn, after, REENCRYPT_BATCH)?;
    let mut done = Reencrypted::default();
    for mut agency in agencies.iter().cloned() {
        let code = agency.spec.credit_code.as_str().to_owned();
        let mut changed = 0;
        for (value, _) in values(&mut agency.spec.details) {
            if let Sealable::Sealed { cipher, .. } = value
                && let Some(fresh) = pii.reseal(cipher).map_err(|_| {
                    ApiError::internal(format!(
                        "agency {code}: a person's data cannot be decrypted"
                    ))
                })?
            {
                *cipher = fresh;
                changed += 1;
            }
        }
        changed += seal(&mut agency.spec.details, pii);
        if changed > 0
            && store::reseal_agency_details(conn, &code, agency.version, &agency.spec.details)?
        {
            done.agencies_rewritten += 1;
            done.values += changed;
        }
    }
    let last = (agencies.len() == usize::try_from(REENCRYPT_BATCH).unwrap_or(usize::MAX))
        .then(|| {
            agencies
                .last()
                .map(|a| a.spec.credit_code.as_str().to_owned())
        })
        .flatten();
    Ok((agencies.len(), last, done))
}
