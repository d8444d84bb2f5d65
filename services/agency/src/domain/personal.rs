//! Personal data (docs/DOMAIN.md "Experts", personal data; docs/AGENCY.md): who sees it in
//! full, the one masking of each kind of value, and a person's phone and email as the registry
//! keeps them.
//!
//! * **Who sees it in full** ([`disclosure`]): finance of this very region reading one record
//!   (`GetAgency`). Everyone else — auditors, the province, finance of an enclosing region, the
//!   agency itself — sees it masked, and so does everyone in a list and in the response of a
//!   mutation (that response is stored for replay in the idempotency table, so it carries
//!   nothing a database reader should not see). Experts' 身份证号 and phones are masked on every
//!   read; `RevealExpertContact` gives them in full, audited.
//! * **Phones** ([`mask_phone`]): first 3 and last 4 digits (`138****5678`).
//! * **Emails** ([`mask_email`]): the first character of the name and the whole domain
//!   (`z*******@example.com`), shown by the same rule as phones.
//! * **身份证号** ([`mask_id_number`]): first 3 and last 4 characters
//!   (`140***********123X`): digits 4–14 are hidden, so the birth date (digits 7–14) never shows,
//!   whatever the length of the text. The birth date is never shown beside a masked number
//!   either: with it, the masked number narrows to about ten people.
//! * **Names** are shown in full in every view (no masking), but are personal data at rest too.
//! * **At rest** ([`Sealable`]): a person's name, phone and email on an agency record (and a lead
//!   evaluator's name) are sealed (encrypted, phones and emails with the masked form for
//!   display) before it is stored; a record written before they were sealed still reads (its
//!   value is [`Sealable::Clear`]) and is sealed on startup. Every reader opens the names
//!   (`ops::personal::open_names`). Experts' names, 身份证号, phones and birth dates are
//!   encrypted columns (`store::experts`).

use std::fmt;

use pbm_auth::Caller;
use pbm_types::DivisionCode;

use super::access;

/// How a response shows personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    Full,
    Masked,
}

/// Where personal data appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// One record, read on its own (`GetAgency`).
    Record,
    /// A page of records (`ListAgencies`, `ListExperts`): easy to leak in bulk.
    List,
    /// The response of a mutation: stored for replay in the idempotency table.
    MutationResponse,
}

/// How `caller` sees personal data in `view`: in full only as finance of this very region
/// reading one record; masked for every other caller and view.
pub fn disclosure(caller: &Caller, region: &DivisionCode, view: View) -> Disclosure {
    match view {
        View::Record if access::can_manage(caller, region).is_ok() => Disclosure::Full,
        View::Record | View::List | View::MutationResponse => Disclosure::Masked,
    }
}

/// Masks a text: keeps the first 3 and last 4 characters and replaces each one in between by
/// `*`, so the length is kept (`"13812345678"` → `"138****5678"`). Texts of 7 characters or
/// fewer are masked entirely. Counts characters, not bytes.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n <= 7 {
        return "*".repeat(n);
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(n - 7));
    out.extend(&chars[n - 4..]);
    out
}

/// A phone as shown masked: first 3 and last 4 digits.
pub fn mask_phone(text: &str) -> String {
    mask(text)
}

/// An email as shown masked: the first character of the name before `@`, each other one
/// replaced by `*`, and the domain (`zhangsan@example.com` → `z*******@example.com`). A text
/// without `@` is masked as any text ([`mask`]).
pub fn mask_email(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((name, domain)) if !name.is_empty() => {
            let mut chars = name.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            let hidden = "*".repeat(chars.count());
            if hidden.is_empty() {
                format!("*@{domain}")
            } else {
                format!("{first}{hidden}@{domain}")
            }
        }
        _ => mask(text),
    }
}

/// A 身份证号 (or what was typed as one) as shown masked: the first 3 and last 4 characters,
/// never any of characters 7–14 (the birth date). An 18-character number shows as
/// `140***********123X`; a shorter or longer text hides at least characters 4–14.
pub fn mask_id_number(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n <= 7 {
        return "*".repeat(n);
    }
    // The kept tail starts after the birth date (character 15 on) and holds at most 4.
    let tail = n.saturating_sub(14).min(4);
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(n - 3 - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// A person's name, phone or email on an agency record: as typed in a request, or sealed for
/// storage. The value's kind is known where it is used: its masking is given to
/// [`Sealable::masked`] and [`Sealable::shown`] (`mask_phone`, `mask_email`); a name has none
/// ([`Sealable::name`]).
#[derive(Clone, PartialEq, Eq)]
pub enum Sealable {
    /// As typed (a request), or as stored before it was sealed. Empty = none.
    Clear(String),
    /// Encrypted at rest (`PiiCipher`: algorithm ‖ nonce ‖ ciphertext ‖ tag), with its masked
    /// form (empty for a name).
    Sealed { cipher: Vec<u8>, masked: String },
}

impl Sealable {
    /// The value in clear, when this holds it.
    pub fn clear(&self) -> Option<&str> {
        match self {
            Sealable::Clear(text) => Some(text),
            Sealable::Sealed { .. } => None,
        }
    }

    /// Whether a value in clear is held that storage must seal first (an empty one has
    /// nothing to hide).
    pub fn needs_sealing(&self) -> bool {
        self.clear().is_some_and(|t| !t.is_empty())
    }

    /// The masked form (`mask` masks a value held in clear).
    pub fn masked(&self, mask: fn(&str) -> String) -> String {
        match self {
            Sealable::Clear(text) => mask(text),
            Sealable::Sealed { masked, .. } => masked.clone(),
        }
    }

    /// The value as a response shows it: in full only with [`Disclosure::Full`] and when held in
    /// clear (a reader opens a sealed value first); masked by `mask` otherwise.
    pub fn shown(&self, disclosure: Disclosure, mask: fn(&str) -> String) -> String {
        match (self, disclosure) {
            (Sealable::Clear(text), Disclosure::Full) => text.clone(),
            (_, Disclosure::Full | Disclosure::Masked) => self.masked(mask),
        }
    }

    /// A name as every response shows it, in full: a reader opens sealed names first
    /// (`ops::personal::open_names`); one left sealed shows empty, never its ciphertext.
    pub fn name(&self) -> String {
        self.clear().unwrap_or_default().to_owned()
    }
}

impl Default for Sealable {
    fn default() -> Self {
        Sealable::Clear(String::new())
    }
}

impl From<&str> for Sealable {
    fn from(text: &str) -> Self {
        Sealable::Clear(text.to_owned())
    }
}

/// Never the value: its length in clear, or the masked form of a sealed one.
impl fmt::Debug for Sealable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sealable::Clear(text) => write!(f, "Sealable(clear, {} chars)", text.chars().count()),
            Sealable::Sealed { masked, .. } => write!(f, "Sealable(sealed {masked})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pbm_auth::Role;

    fn caller(role: Role, region: &str) -> Caller {
        Caller {
            subject: "u".into(),
            role,
            mof_div_code: DivisionCode::parse(region).unwrap(),
            unit: None,
            department: None,
            agency: Some("A1".into()),
            expert: None,
            authenticated: true,
        }
    }

    #[test]
    fn only_local_finance_reading_one_record_sees_in_full() {
        let region = DivisionCode::parse("140500").unwrap();
        for role in Role::ALL {
            for at in ["140500", "140000"] {
                for view in [View::Record, View::List, View::MutationResponse] {
                    let full = role == Role::FinanceAdmin && at == "140500" && view == View::Record;
                    assert_eq!(
                        disclosure(&caller(role, at), &region, view),
                        if full {
                            Disclosure::Full
                        } else {
                            Disclosure::Masked
                        },
                        "{role} of {at}, {view:?}"
                    );
                }
            }
        }
        assert_eq!(
            disclosure(&Caller::anonymous(), &region, View::Record),
            Disclosure::Masked
        );
    }

    #[test]
    fn masks_keep_first_three_and_last_four() {
        assert_eq!(mask("11010519491231002X"), "110***********002X");
        assert_eq!(mask("13812345678"), "138****5678");
        assert_eq!(mask("12345678"), "123*5678");
        assert_eq!(mask("1234567"), "*******");
        assert_eq!(mask("张三"), "**");
        assert_eq!(mask(""), "");
        assert_eq!(mask("北京市海淀区中关村大街"), "北京市****关村大街");
        assert_eq!(mask_phone("13812345678"), "138****5678");
    }

    #[test]
    fn a_masked_id_number_never_shows_the_birth_date() {
        // Born 1970-03-15: characters 7–14 are 19700315.
        assert_eq!(mask_id_number("14050219700315123X"), "140***********123X");
        for len in 8..=22 {
            let text: String = "14050219700315123X9876".chars().take(len).collect();
            let shown = mask_id_number(&text);
            assert_eq!(shown.chars().count(), len, "{text}");
            for (i, c) in shown.chars().enumerate() {
                if (6..14).contains(&i) {
                    assert_eq!(c, '*', "{text} → {shown}: character {}", i + 1);
                }
            }
        }
        // 17 characters (one missing): the old first-3-last-4 mask showed character 14.
        assert_eq!(mask_id_number("14050219700315123"), "140***********123");
        assert_eq!(mask_id_number("1234567"), "*******");
    }

    #[test]
    fn a_phone_is_shown_in_full_only_when_disclosed_and_held_in_clear() {
        let clear = Sealable::from("13812345678");
        assert_eq!(clear.shown(Disclosure::Full, mask_phone), "13812345678");
        assert_eq!(clear.shown(Disclosure::Masked, mask_phone), "138****5678");
        let sealed = Sealable::Sealed {
            cipher: vec![1, 2, 3],
            masked: "138****5678".into(),
        };
        assert_eq!(sealed.shown(Disclosure::Full, mask_phone), "138****5678");
        assert!(clear.needs_sealing() && !sealed.needs_sealing());
        assert!(!Sealable::default().needs_sealing());
        assert_eq!(format!("{clear:?}"), "Sealable(clear, 11 chars)");
        assert_eq!(format!("{sealed:?}"), "Sealable(sealed 138****5678)");
    }

    #[test]
    fn an_email_shows_its_first_character_and_domain() {
        assert_eq!(mask_email("zhangsan@example.com"), "z*******@example.com");
        assert_eq!(mask_email("李四@机构.中国"), "李*@机构.中国");
        assert_eq!(mask_email("a@b.cn"), "*@b.cn");
        assert_eq!(mask_email("@b.cn"), "*****");
        assert_eq!(mask_email("not-an-email"), "not*****mail");
        assert_eq!(mask_email(""), "");
        let clear = Sealable::from("wangwu@example.com");
        assert_eq!(
            clear.shown(Disclosure::Masked, mask_email),
            "w*****@example.com"
        );
        assert_eq!(
            clear.shown(Disclosure::Full, mask_email),
            "wangwu@example.com"
        );
    }
}
