//! Page requests: sizes are bounded, tokens are opaque offsets.

use crate::ApiError;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// A validated page: `limit` rows starting at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

impl Page {
    pub fn parse(page_size: i32, page_token: &str) -> Result<Page, ApiError> {
        let limit = match i64::from(page_size) {
            0 => DEFAULT_PAGE_SIZE,
            n if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid_field(
                    "PAGE_SIZE_INVALID",
                    "page.page_size",
                    format!("每页条数应在 1–{MAX_PAGE_SIZE} 之间"),
                ));
            }
        };
        let offset = if page_token.is_empty() {
            0
        } else {
            page_token
                .strip_prefix("o")
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::invalid_field("PAGE_TOKEN_INVALID", "page.page_token", "分页令牌无效")
                })?
        };
        Ok(Page { offset, limit })
    }

    /// The token of the next page, empty when `total` is exhausted.
    pub fn next_token(&self, total: i64) -> String {
        let next = self.offset + self.limit;
        if next < total {
            format!("o{next}")
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_results() {
        let first = Page::parse(0, "").unwrap();
        assert_eq!(
            first,
            Page {
                offset: 0,
                limit: DEFAULT_PAGE_SIZE
            }
        );
        assert_eq!(first.next_token(120), "o50");
        let second = Page::parse(50, "o50").unwrap();
        assert_eq!(second.next_token(100), "");
    }

    #[test]
    fn rejects_bad_sizes_and_tokens() {
        assert!(Page::parse(-1, "").is_err());
        assert!(Page::parse(501, "").is_err());
        assert!(Page::parse(10, "x").is_err());
        assert!(Page::parse(10, "o-5").is_err());
    }
}
