//! Plain aligned text tables. Terminals show CJK characters two columns wide, so widths are
//! counted in display columns, not characters.

/// Display width of `s`: East Asian wide and fullwidth characters (汉字, 、, （）, …) count 2,
/// control characters 0, everything else 1.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let c = c as u32;
    match c {
        0..=0x1F | 0x7F..=0x9F => 0,
        // Combining marks and zero-width characters.
        0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F // Hangul Jamo
        | 0x2E80..=0x303E // CJK radicals, punctuation (、。「」)
        | 0x3041..=0x33FF // kana, CJK symbols
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xA000..=0xA4CF // Yi
        | 0xAC00..=0xD7A3 // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFE30..=0xFE4F // CJK compatibility forms
        | 0xFF00..=0xFF60 // fullwidth forms (（），：)
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F // emoji
        | 0x20000..=0x3FFFD => 2, // CJK extensions B–G
        _ => 1,
    }
}

/// A table with a header row; cells are single-line (line breaks become spaces).
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| c.replace(['\r', '\n', '\t'], " "))
                .collect(),
        );
    }

    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate().take(columns) {
                text.push_str(cell);
                if i + 1 < columns {
                    let pad = widths[i].saturating_sub(width(cell)) + 2;
                    text.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.headers);
        line(
            &widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<String>>(),
        );
        for row in &self.rows {
            line(row);
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// `label  value` lines with the values aligned; empty values are left out.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let label_width = pairs.iter().map(|(l, _)| width(l)).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value) in pairs {
        if value.is_empty() {
            continue;
        }
        out.push_str(label);
        out.push_str(&" ".repeat(label_width - width(label) + 2));
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// An RFC 3339 time from the server as local `YYYY-MM-DD HH:MM:SS`; other text as is.
pub fn time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at).map_or_else(
        |_| at.to_owned(),
        |t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_counts_two_columns() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("机构名称"), 8);
        assert_eq!(width("主评人：赵某、钱某（注册会计师）"), 32);
        assert_eq!(width("≥ 95%"), 5);
        assert_eq!(width(""), 0);
    }

    #[test]
    fn times_are_shortened() {
        assert_eq!(time("not a time"), "not a time");
        assert_eq!(time("").len(), 0);
        assert_eq!(time("2026-03-01T08:00:00.123456Z").len(), 19);
    }

    #[test]
    fn columns_align_by_display_width() {
        let mut t = Table::new(&["代码", "名称"]);
        t.row(vec!["A1".into(), "会计师事务所".into()]);
        t.row(vec!["LONGER".into(), "x\ny".into()]);
        assert_eq!(
            t.render(),
            "代码    名称\n------  ------------\nA1      会计师事务所\nLONGER  x y\n"
        );
    }
}
