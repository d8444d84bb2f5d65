//! Identifiers of agencies and experts (docs/DOMAIN.md "Admission and records",
//! docs/DOMAIN.md "Experts"; GB 32100-2015, GB 11643-1999): the 统一社会信用代码 of an agency,
//! an expert's 身份证号 and mobile number; their masking is [`super::personal`]'s.
//!
//! [`IdNumber`] and [`Phone`] are personal data: their `Debug` output is masked and they have
//! no `Display` or serde form, so a full value only leaves through an explicit `as_str()`.

use std::fmt;

use chrono::NaiveDate;
use pbm_types::ParseError;

use super::personal::{mask_id_number, mask_phone};

/// Reason code of every [`CreditCode::parse`] error.
pub const CREDIT_CODE_INVALID: &str = "CREDIT_CODE_INVALID";
/// Reason code of every [`IdNumber::parse`] error.
pub const ID_NUMBER_INVALID: &str = "ID_NUMBER_INVALID";
/// Reason code of every [`Phone::parse`] error.
pub const PHONE_INVALID: &str = "PHONE_INVALID";

/// Characters of a 统一社会信用代码 in the order of their values 0–30 (GB 32100-2015, 表1:
/// the ten digits and the upper-case letters without I, O, S, V, Z).
pub const CREDIT_CODE_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 (GB 32100-2015, 5.2: 3^(i−1) mod 31).
const CREDIT_CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights of positions 1–17 of a 身份证号 (GB 11643-1999, 7.2: 2^(18−i) mod 11).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by `Σ(digit × weight) mod 11` (GB 11643-1999, 7.2).
const ID_CHECK: &[u8; 11] = b"10X98765432";

fn credit_value(c: char) -> Option<u32> {
    CREDIT_CODE_ALPHABET
        .chars()
        .position(|a| a == c)
        .map(|p| p as u32)
}

/// The check value of the first 17 values: `(31 − Σ(value × weight) mod 31) mod 31`.
fn credit_check_value(values: &[u32]) -> u32 {
    let sum: u32 = values
        .iter()
        .zip(CREDIT_CODE_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    (31 - sum % 31) % 31
}

/// 统一社会信用代码 (GB 32100-2015): 18 characters from [`CREDIT_CODE_ALPHABET`], the last one a
/// check character over the first 17. Stored upper-case.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    /// Trims and upper-cases `text`, then checks length, characters and check character, in
    /// that order; the Chinese message says which one is wrong.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let code = text.trim().to_uppercase();
        let invalid = |detail: String| {
            ParseError::new(
                CREDIT_CODE_INVALID,
                format!("统一社会信用代码「{code}」{detail}"),
            )
        };
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(invalid(format!(
                "长度错误：应为18位，实为{}位",
                chars.len()
            )));
        }
        let mut values = Vec::with_capacity(18);
        for (i, &c) in chars.iter().enumerate() {
            let value = credit_value(c).ok_or_else(|| {
                invalid(format!(
                    "第{}位字符「{c}」无效：只能使用数字和除 I、O、S、V、Z 以外的大写字母",
                    i + 1
                ))
            })?;
            values.push(value);
        }
        // The expected character is not revealed: a typo elsewhere would otherwise be
        // "fixed" by changing the check character.
        if values[17] != credit_check_value(&values[..17]) {
            return Err(invalid("校验码错误：第18位与前17位不符，请核对".to_owned()));
        }
        Ok(Self(code))
    }

    /// The check character for the first 17 characters of a code, or `None` when `first17`
    /// is not 17 characters of [`CREDIT_CODE_ALPHABET`].
    pub fn check_char(first17: &str) -> Option<char> {
        let values: Option<Vec<u32>> = first17.chars().map(credit_value).collect();
        let values = values.filter(|v| v.len() == 17)?;
        CREDIT_CODE_ALPHABET
            .chars()
            .nth(credit_check_value(&values) as usize)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = ParseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CreditCode> for String {
    fn from(code: CreditCode) -> Self {
        code.0
    }
}

/// 公民身份号码 (GB 11643-1999): 6-digit address code, 8-digit birth date, 3-digit sequence
/// and a check character (digit or `X`). Stored upper-case. `Debug` is masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    text: String,
    birth: NaiveDate,
}

impl IdNumber {
    /// Trims and upper-cases `text` (a lower-case `x` is accepted), then checks length,
    /// characters, birth date (a real calendar date) and check character, in that order.
    /// Messages show the number masked.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let id = text.trim().to_uppercase();
        let shown = mask_id_number(&id);
        let invalid = |detail: &str| {
            ParseError::new(ID_NUMBER_INVALID, format!("身份证号「{shown}」{detail}"))
        };
        let len = id.chars().count();
        if len != 18 {
            return Err(invalid(&format!("长度错误：应为18位，实为{len}位")));
        }
        let bytes = id.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit) {
            return Err(invalid("字符错误：前17位必须是数字"));
        }
        if !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(invalid("字符错误：第18位必须是数字或 X"));
        }
        let digits = |r: std::ops::Range<usize>| id[r].parse::<u32>().unwrap_or(0);
        let year = i32::try_from(digits(6..10)).unwrap_or(0);
        let birth = NaiveDate::from_ymd_opt(year, digits(10..12), digits(12..14))
            .ok_or_else(|| invalid("出生日期错误：第7–14位不是有效日期"))?;
        if Self::check_char(&id[..17]) != Some(char::from(bytes[17])) {
            return Err(invalid("校验码错误：第18位与前17位不符，请核对"));
        }
        Ok(Self { text: id, birth })
    }

    /// The check character for the first 17 digits of a number, or `None` when `first17` is
    /// not 17 ASCII digits.
    pub fn check_char(first17: &str) -> Option<char> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let sum: u32 = bytes
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        Some(char::from(ID_CHECK[(sum % 11) as usize]))
    }

    /// Birth date from digits 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth
    }

    /// The full number. Callers show it only with the permission to read full values.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The number as shown masked: first 3 and last 4 characters, never the birth date
    /// ([`mask_id_number`]).
    pub fn masked(&self) -> String {
        mask_id_number(&self.text)
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A mainland mobile number: 11 digits starting with 1. `Debug` is masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Trims `text` and checks it is 11 digits starting with 1.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let phone = text.trim();
        let ok = phone.len() == 11
            && phone.starts_with('1')
            && phone.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(phone.to_owned()))
        } else {
            Err(ParseError::new(
                PHONE_INVALID,
                format!(
                    "手机号码「{}」无效：应为以1开头的11位数字",
                    mask_phone(phone)
                ),
            ))
        }
    }

    /// The full number. Callers show it only with the permission to read full values.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as shown masked: first 3 and last 4 digits.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends the check character computed independently of [`CreditCode::check_char`].
    fn with_check(first17: &str) -> String {
        let alphabet: Vec<char> = CREDIT_CODE_ALPHABET.chars().collect();
        let sum: u32 = first17
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let v = alphabet.iter().position(|a| *a == c).unwrap() as u32;
                v * 3u32.pow(i as u32) % 31
            })
            .sum();
        format!("{first17}{}", alphabet[((31 - sum % 31) % 31) as usize])
    }

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        for (i, w) in CREDIT_CODE_WEIGHTS.iter().enumerate() {
            assert_eq!(*w, 3u64.pow(i as u32).rem_euclid(31) as u32);
        }
        for (i, w) in ID_WEIGHTS.iter().enumerate() {
            assert_eq!(*w, (2u64.pow(17 - i as u32) % 11) as u32);
        }
    }

    #[test]
    fn accepts_published_credit_codes() {
        // Published on the national enterprise credit system; verified by hand:
        // Σ = 9·1+1·3+3·9+5·27+0·19+1·26+0·16+0·17+21·20+0·29+0·25+0·13+1·8+0·24+0·10+30·30+4·28
        //   = 1640, 1640 mod 31 = 28, (31 − 28) mod 31 = 3.
        let code = CreditCode::parse("91350100M000100Y43").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(CreditCode::check_char("91350100M000100Y4"), Some('3'));
    }

    #[test]
    fn accepts_computed_codes_and_normalizes_case_and_space() {
        for first17 in [
            "91140500MA0GRXXX0",
            "12100000400000000",
            "51110000500000000",
            "Y1110000000000000",
        ] {
            let full = with_check(first17);
            assert_eq!(CreditCode::check_char(first17), full.chars().last());
            let parsed = CreditCode::parse(&format!("  {}  ", full.to_lowercase())).unwrap();
            assert_eq!(parsed.as_str(), full);
        }
    }

    #[test]
    fn check_value_zero_maps_to_character_zero() {
        // Σ ≡ 0 (mod 31) → check value (31 − 0) mod 31 = 0 → '0'.
        assert_eq!(CreditCode::check_char("00000000000000000"), Some('0'));
        assert!(CreditCode::parse("000000000000000000").is_ok());
    }

    #[test]
    fn credit_code_errors_say_what_is_wrong() {
        let err = CreditCode::parse("91350100M000100Y4").unwrap_err();
        assert_eq!(err.reason, CREDIT_CODE_INVALID);
        assert!(err.message.contains("长度错误"), "{}", err.message);

        let err = CreditCode::parse("91350100M000100I43").unwrap_err();
        assert!(
            err.message.contains("第16位字符「I」无效"),
            "{}",
            err.message
        );
        let err = CreditCode::parse("9135010０M000100Y43").unwrap_err();
        assert!(err.message.contains("第8位"), "{}", err.message);

        let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert!(err.message.contains("校验码错误"), "{}", err.message);
        // A single changed character is always caught (the weights are units mod 31).
        let good: Vec<char> = "91350100M000100Y43".chars().collect();
        for i in 0..17 {
            for c in CREDIT_CODE_ALPHABET.chars().filter(|c| *c != good[i]) {
                let mut bad = good.clone();
                bad[i] = c;
                let bad: String = bad.into_iter().collect();
                assert!(CreditCode::parse(&bad).is_err(), "{bad}");
            }
        }
    }

    #[test]
    fn credit_code_check_char_needs_17_valid_characters() {
        assert_eq!(CreditCode::check_char("9135010"), None);
        assert_eq!(CreditCode::check_char("91350100M000100I4"), None);
    }

    #[test]
    fn credit_code_serde_validates() {
        let code = CreditCode::parse("91350100M000100Y43").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"91350100M000100Y43\"");
        assert_eq!(serde_json::from_str::<CreditCode>(&json).unwrap(), code);
        assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y44\"").is_err());
    }

    #[test]
    fn accepts_the_standard_id_number_examples() {
        // GB 11643-1999, appendix examples.
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        let id = IdNumber::parse(" 440524188001010014 ").unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1880, 1, 1).unwrap()
        );
    }

    fn id_with_check(first17: &str) -> String {
        let sum: u32 = first17
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * (2u32.pow(17 - i as u32) % 11))
            .sum();
        format!("{first17}{}", ID_CHECK[(sum % 11) as usize] as char)
    }

    #[test]
    fn id_number_check_char_needs_17_digits() {
        // GB 11643-1999's example: 11010519491231002X.
        assert_eq!(IdNumber::check_char("11010519491231002"), Some('X'));
        assert_eq!(IdNumber::check_char("1101051949123100"), None);
        assert_eq!(IdNumber::check_char("1101051949123100A"), None);
    }

    #[test]
    fn id_number_errors_say_what_is_wrong() {
        let reason_and = |text: &str, part: &str| {
            let err = IdNumber::parse(text).unwrap_err();
            assert_eq!(err.reason, ID_NUMBER_INVALID);
            assert!(err.message.contains(part), "{text}: {}", err.message);
            // The message never shows the full number.
            assert!(!err.message.contains(text.trim()) || text.trim().chars().count() <= 7);
        };
        reason_and("110105194912310", "长度错误");
        // One character short: the message hides the birth date (characters 7–14) still.
        let err = IdNumber::parse("14050219700315123").unwrap_err();
        assert!(
            err.message.contains("「140***********123」"),
            "{}",
            err.message
        );
        reason_and("1101051949123100AX", "前17位必须是数字");
        reason_and("11010519491231002Y", "第18位必须是数字或 X");
        reason_and(&id_with_check("11010519490229002"), "出生日期错误"); // 1949 is not leap
        reason_and(&id_with_check("11010519491301002"), "出生日期错误");
        reason_and("110105194912310021", "校验码错误");
        // A real leap day passes.
        let leap = IdNumber::parse(&id_with_check("11010519480229002")).unwrap();
        assert_eq!(
            leap.birth_date(),
            NaiveDate::from_ymd_opt(1948, 2, 29).unwrap()
        );
    }

    #[test]
    fn personal_values_are_masked_in_debug() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "IdNumber(110***********002X)");
        let phone = Phone::parse("13812345678").unwrap();
        assert_eq!(format!("{phone:?}"), "Phone(138****5678)");
        assert_eq!(phone.as_str(), "13812345678");
    }

    #[test]
    fn phones_are_eleven_digits_starting_with_one() {
        assert!(Phone::parse(" 13812345678 ").is_ok());
        assert!(Phone::parse("19912345678").is_ok());
        for bad in [
            "",
            "1381234567",
            "138123456789",
            "23812345678",
            "1381234567a",
            "+8613812345678",
        ] {
            let err = Phone::parse(bad).unwrap_err();
            assert_eq!(err.reason, PHONE_INVALID, "{bad}");
        }
    }
}
