//! People's phones on agency records (`domain::personal`): sealed with the service's PII cipher
//! before a record is written, opened only for a reader who sees them in full, and the records
//! stored before phones were sealed sealed once at startup.

use pbm_db::Db;
use pbm_server::ApiError;
use pbm_server::pii::PiiCipher;

use crate::domain::personal::{ContactPhone, mask_phone};
use crate::domain::registry::{Details, Person};
use crate::store;

fn people(details: &mut Details) -> impl Iterator<Item = &mut Person> {
    details
        .cooperating_experts
        .iter_mut()
        .chain(details.other_staff.iter_mut())
        .chain(details.contacts.iter_mut())
}

/// Seals every phone held in clear (encrypted, with its masked form); returns whether any was.
pub fn seal(details: &mut Details, pii: &PiiCipher) -> bool {
    let mut sealed = false;
    for p in people(details) {
        if let ContactPhone::Clear(text) = &p.phone
            && p.phone.needs_sealing()
        {
            p.phone = ContactPhone::Sealed {
                cipher: pii.encrypt(text),
                masked: mask_phone(text),
            };
            sealed = true;
        }
    }
    sealed
}

/// Opens every sealed phone, for a reader who sees them in full.
pub fn open(details: &mut Details, pii: &PiiCipher) -> Result<(), ApiError> {
    for p in people(details) {
        if let ContactPhone::Sealed { cipher, .. } = &p.phone {
            p.phone = ContactPhone::Clear(pii.decrypt(cipher).map_err(ApiError::internal)?);
        }
    }
    Ok(())
}

/// Seals the phones of every record stored before phones were sealed (run at startup, before
/// the service answers); returns how many records were rewritten. Idempotent: a second run, or
/// a run beside another instance, finds nothing left.
pub async fn seal_stored(db: &Db, pii: &PiiCipher) -> Result<usize, ApiError> {
    let pii = pii.clone();
    db.write(move |conn| -> Result<usize, ApiError> {
        let mut rewritten = 0;
        for mut agency in store::agencies_with_phones_in_clear(conn)? {
            let code = agency.spec.credit_code.as_str().to_owned();
            if seal(&mut agency.spec.details, &pii)
                && store::reseal_agency_details(conn, &code, agency.version, &agency.spec.details)?
            {
                rewritten += 1;
            }
        }
        Ok(rewritten)
    })
    .await
}
