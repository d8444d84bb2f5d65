//! The text side of the search index (docs/INDICATOR.md, "Search"): normalisation, 拼音首字母,
//! the character n-gram tokenizer for Chinese (no word boundaries), and the packed rank of a
//! match inside its class.

use pinyin::ToPinyin;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Trimmed and lowercased.
pub(super) fn normalize(text: &str) -> String {
    text.trim().to_lowercase()
}

/// 拼音首字母 of a normalised name, one character for each of its characters: the first letter
/// of a Chinese character's most common reading (饮水 → ys), any other character as it is, so
/// an initials string is as long as its name. Heteronyms (行, 重, …) get their first reading only.
pub(super) fn initials(name: &str) -> String {
    name.chars()
        .map(|c| match c.to_pinyin() {
            Some(p) => p.first_letter().chars().next().unwrap_or(c),
            None => c,
        })
        .collect()
}

/// The n-grams of a character sequence with their position (the index of their first
/// character): the position is what lets a phrase query of the longest grams find a longer substring.
/// (tantivy's `NgramTokenizer` puts every gram at position 0.)
#[derive(Clone)]
pub(super) struct Grams(pub usize);

/// The prefixes of a text, of 1 to `.0` characters: "the name starts with q" is one term.
#[derive(Clone)]
pub(super) struct Prefixes(pub usize);

pub(super) struct GramStream<'a> {
    text: &'a str,
    /// Byte offset of every character, and of the text's end.
    bounds: Vec<usize>,
    next: usize,
    /// n-grams (`Some(n)`), or prefixes up to `max` characters (`None`).
    n: Option<usize>,
    max: usize,
    token: Token,
}

fn stream(text: &str, n: Option<usize>, max: usize) -> GramStream<'_> {
    let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    bounds.push(text.len());
    GramStream {
        text,
        bounds,
        next: 0,
        n,
        max,
        token: Token::default(),
    }
}

impl Tokenizer for Grams {
    type TokenStream<'a> = GramStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> GramStream<'a> {
        stream(text, Some(self.0), usize::MAX)
    }
}

impl Tokenizer for Prefixes {
    type TokenStream<'a> = GramStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> GramStream<'a> {
        stream(text, None, self.0)
    }
}

impl TokenStream for GramStream<'_> {
    fn advance(&mut self) -> bool {
        // A gram is bounds[next]..bounds[next + n]; a prefix is bounds[0]..bounds[next + 1].
        let (start, len) = match self.n {
            Some(n) => (self.next, n),
            None if self.next < self.max => (0, self.next + 1),
            None => return false,
        };
        if start + len >= self.bounds.len() {
            return false;
        }
        let (from, to) = (self.bounds[start], self.bounds[start + len]);
        self.token.text.clear();
        self.token.text.push_str(&self.text[from..to]);
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.next;
        self.token.position_length = 1;
        self.next += 1;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The n-grams that pin down a query of at least n characters, with their offsets: every n-th
/// one from the start, and the last one (`Grams(n)` indexes every position, so a phrase of these
/// finds exactly the texts that contain the query).
pub(super) fn covering_grams(chars: &[char], n: usize) -> Vec<(usize, String)> {
    let last = chars.len().saturating_sub(n);
    let mut offsets: Vec<usize> = (0..last).step_by(n).collect();
    offsets.push(last);
    offsets
        .into_iter()
        .map(|i| (i, chars[i..(i + n).min(chars.len())].iter().collect()))
        .collect()
}

/// The length in characters that a rank carries (`rank`).
pub(super) fn rank_len(rank: u64) -> usize {
    (rank >> 56) as usize
}

/// Order of a match inside its class, as one integer (smaller first): the length in characters
/// of the matched field (a match that is more of a shorter text ranks first, as BM25's length
/// normalisation does for one occurrence), then the code's first 8 characters, 7 bits each
/// (codes are ASCII, `code_violation`). Equal ranks are ordered by the whole code afterwards.
pub(super) fn rank(len_chars: usize, code: &str) -> u64 {
    let mut r = (len_chars.min(255) as u64) << 56;
    for (i, b) in code.bytes().take(8).enumerate() {
        r |= u64::from(b & 0x7f) << (49 - 7 * i);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(n: usize, text: &str) -> Vec<(String, usize)> {
        let mut grams = Grams(n);
        let mut stream = grams.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().text.clone(), stream.token().position));
        }
        out
    }

    #[test]
    fn grams_have_positions() {
        assert_eq!(
            tokens(2, "饮水率"),
            [("饮水".to_string(), 0), ("水率".to_string(), 1)]
        );
        assert_eq!(tokens(1, "饮a").len(), 2);
        assert!(tokens(2, "饮").is_empty());
        assert!(tokens(1, "").is_empty());
        let mut prefixes = Prefixes(2);
        let mut stream = prefixes.token_stream("饮水率");
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        assert_eq!(out, ["饮", "饮水"]);
    }

    #[test]
    fn covering_grams_of_a_query() {
        let chars: Vec<char> = "农村饮水安全".chars().collect();
        assert_eq!(
            covering_grams(&chars, 4),
            [(0, "农村饮水".to_string()), (2, "饮水安全".to_string())]
        );
        let chars: Vec<char> = "一二三四五六七八九".chars().collect();
        let offsets: Vec<usize> = covering_grams(&chars, 4).iter().map(|g| g.0).collect();
        assert_eq!(offsets, [0, 4, 5]);
        let offsets: Vec<usize> = covering_grams(&chars, 6).iter().map(|g| g.0).collect();
        assert_eq!(offsets, [0, 3]);
        assert_eq!(covering_grams(&chars[..4], 4).len(), 1);
    }

    #[test]
    fn initials_and_normalisation() {
        assert_eq!(initials("饮水数量"), "yssl");
        assert_eq!(initials("gdp增速，%"), "gdpzs，%");
        assert_eq!(normalize(" GDP增长 "), "gdp增长");
    }

    #[test]
    fn rank_orders_by_length_then_code() {
        assert!(rank(2, "Z") < rank(3, "A"));
        assert!(rank(2, "A") < rank(2, "AB"));
        assert!(rank(2, "X09") < rank(2, "X10"));
        assert_eq!(rank(2, "ABCDEFGH1"), rank(2, "ABCDEFGH2"));
        assert_eq!(rank_len(rank(7, "ABC")), 7);
        assert_eq!(rank_len(rank(300, "ABC")), 255);
    }
}
