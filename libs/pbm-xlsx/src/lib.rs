//! Reading and writing `.xlsx` tables with Chinese headers for PBM imports and
//! exports (indicator library, goal tables, expert lists, …).
//!
//! The crate knows nothing about any domain: a caller describes its table as a
//! slice of [`Column`]s and exchanges rows of plain text with it.
//!
//! * [`write_table`] produces a workbook with one sheet, [`write_tables`] one with several.
//! * [`read_table`] reads the first sheet of an uploaded workbook and either
//!   returns every data row or **all** problems found, each tied to a row and
//!   a column header so the UI can show them next to the person's input;
//!   [`read_named_table`] reads a sheet by its name.
//!
//! # Layout
//!
//! ```text
//!        A              B          C
//! 1   指标编码 (bold)  指标名称   目标值      <- header row, frozen, always row 1
//! 2   0101            受益人口数量  ≥ 1000.50  <- data rows, one cell per column
//! 3   …
//! ```
//!
//! * Row 1 holds the headers. When reading, headers are matched by their
//!   (trimmed) text, so the columns may come in any order and extra columns are
//!   ignored.
//! * Every value is text. Written cells are text cells (and each column gets
//!   the text number format `@`) so codes such as `0101` and amounts such as
//!   `1000.50` keep their exact form. Cells a person typed as numbers, dates or
//!   booleans are converted back to text on reading (see [`read_table`]);
//!   no floating-point value ever leaves this crate.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Color, Format, IgnoreError, Workbook};

/// Largest number of rows in a worksheet (header row included).
const MAX_ROWS: usize = 1_048_576;
/// Largest number of columns in a worksheet.
const MAX_COLUMNS: usize = 16_384;

/// One column of a table: its Chinese header and whether a value is required.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    /// Header text in row 1, e.g. `"指标名称"`.
    pub header: &'static str,
    /// Whether every data row must have a non-empty value in this column
    /// (and, when reading, whether the column itself must be present).
    pub required: bool,
    /// Display width of the column in characters (used when writing only).
    pub width: f64,
}

/// A column, as a table's `const` list of columns writes it.
pub const fn col(header: &'static str, required: bool, width: f64) -> Column {
    Column {
        header,
        required,
        width,
    }
}

/// Errors from [`write_table`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XlsxError {
    /// A data row does not have exactly one cell per column.
    #[error("row {index} has {actual} cells but the table has {expected} columns")]
    RowLength {
        /// 0-based index of the row in the `rows` slice.
        index: usize,
        /// Number of columns of the table.
        expected: usize,
        /// Number of cells in the row.
        actual: usize,
    },
    /// The table does not fit in one worksheet (1,048,575 data rows, 16,384 columns).
    #[error("table of {rows} data rows x {columns} columns does not fit in a worksheet")]
    TooLarge {
        /// Number of data rows given.
        rows: usize,
        /// Number of columns given.
        columns: usize,
    },
    /// Error from the underlying xlsx writer (invalid sheet name, text too long, I/O, …).
    #[error("xlsx writer: {0}")]
    Writer(#[from] rust_xlsxwriter::XlsxError),
}

/// Writes one sheet named `sheet` with a bold, frozen header row and the given
/// text rows, and returns the `.xlsx` bytes.
///
/// Each row must have exactly `columns.len()` cells. Cells are written as text
/// so codes like `"0101"` and numbers like `"1000.50"` keep their exact form;
/// empty strings leave the cell blank.
///
/// Rows are streamed to a temporary file while writing (rust_xlsxwriter's
/// "constant memory" mode) so large exports (100,000 rows × 25 columns) do not
/// hold every cell in memory twice; if no temporary file can be created the
/// sheet is built in memory instead.
///
/// # Errors
///
/// [`XlsxError::RowLength`] if a row has the wrong number of cells,
/// [`XlsxError::TooLarge`] if the table does not fit in a worksheet, and
/// [`XlsxError::Writer`] for an invalid sheet name (empty, longer than 31
/// characters, or containing `[ ] : * ? / \`), a cell longer than 32,767
/// characters, or an I/O failure.
pub fn write_table(
    sheet: &str,
    columns: &[Column],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, XlsxError> {
    write_tables(&[Sheet {
        name: sheet,
        columns,
        rows,
    }])
}

/// One sheet of a workbook [`write_tables`] writes: its name, columns and text rows.
#[derive(Debug, Clone, Copy)]
pub struct Sheet<'a> {
    pub name: &'a str,
    pub columns: &'a [Column],
    pub rows: &'a [Vec<String>],
}

/// Writes a workbook of several sheets, in order, each laid out as [`write_table`] lays out its
/// one (a table spread over tabs, such as a form and its lines); [`read_named_table`] reads
/// each back by its name.
///
/// # Errors
///
/// As [`write_table`], for any of the sheets (and two sheets of the same name).
pub fn write_tables(sheets: &[Sheet<'_>]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    for (index, sheet) in sheets.iter().enumerate() {
        write_sheet(&mut workbook, index, sheet)?;
    }
    Ok(workbook.save_to_buffer()?)
}

fn write_sheet(workbook: &mut Workbook, index: usize, sheet: &Sheet<'_>) -> Result<(), XlsxError> {
    let (columns, rows) = (sheet.columns, sheet.rows);
    if columns.len() > MAX_COLUMNS || rows.len() >= MAX_ROWS {
        return Err(XlsxError::TooLarge {
            rows: rows.len(),
            columns: columns.len(),
        });
    }
    if let Some((index, row)) = rows
        .iter()
        .enumerate()
        .find(|(_, row)| row.len() != columns.len())
    {
        return Err(XlsxError::RowLength {
            index,
            expected: columns.len(),
            actual: row.len(),
        });
    }

    // A failure to create the temp file leaves the workbook unchanged.
    if workbook.add_worksheet_with_constant_memory().is_err() {
        workbook.add_worksheet();
    }
    let worksheet = workbook.worksheet_from_index(index)?;
    worksheet.set_name(sheet.name)?;

    let header_format = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x00DD_EBF7));
    let text_format = Format::new().set_num_format("@");
    // Both bounds were checked above, so these conversions cannot fail.
    let last_row = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let last_col = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(u16::MAX);

    for (col, column) in (0..=u16::MAX).zip(columns) {
        worksheet.set_column_width(col, column.width)?;
        // Keeps values typed later into the blank cells as text, too.
        worksheet.set_column_format(col, &text_format)?;
        worksheet.write_string_with_format(0, col, column.header, &header_format)?;
    }
    worksheet.set_freeze_panes(1, 0)?;
    if !rows.is_empty() && !columns.is_empty() {
        // No green "number stored as text" triangles on codes and amounts.
        worksheet.ignore_error_range(1, 0, last_row, last_col, IgnoreError::NumberStoredAsText)?;
    }

    for (row_num, row) in (1..=last_row).zip(rows) {
        for (col, cell) in (0..=u16::MAX).zip(row) {
            if !cell.is_empty() {
                worksheet.write_string(row_num, col, cell.as_str())?;
            }
        }
    }
    Ok(())
}

/// A data row read back: its 1-based spreadsheet row number (header = row 1)
/// and one trimmed text cell per column, in the order of the `columns` given to
/// [`read_table`]. Cells of optional columns absent from the file are `""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based spreadsheet row number, as shown by Excel.
    pub number: u32,
    /// One trimmed text value per column, in the order of `columns`.
    pub cells: Vec<String>,
}

/// A problem with one cell (or with the whole sheet when `column` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// 1-based spreadsheet row number (`1` = header row, `0` = the whole file).
    pub row: u32,
    /// Header of the column concerned, or `""` for the whole sheet or file.
    pub column: String,
    /// Machine-readable reason: `WORKBOOK_INVALID`, `SHEET_EMPTY`,
    /// `HEADER_ROW_MISSING`, `COLUMN_MISSING`, `CELL_REQUIRED` or `CELL_ERROR`.
    pub reason: &'static str,
    /// Human-readable explanation in Chinese.
    pub message: String,
}

impl CellError {
    fn sheet(row: u32, reason: &'static str, message: &str) -> Self {
        Self {
            row,
            column: String::new(),
            reason,
            message: message.to_owned(),
        }
    }
}

/// Reads the **first** sheet of an `.xlsx` workbook as a table of text.
///
/// Row 1 must be the header row. Headers are matched to `columns` by their
/// trimmed text; the column order in the file may differ and extra columns
/// are ignored. Completely empty rows are skipped.
///
/// Every cell is returned as text, exactly as a person typed it (trimmed):
/// text as is; numbers without exponent and without a trailing `.0`
/// (`1000`, `0.1`, `1234.5` — note a number typed as `1000.50` is stored by
/// Excel as `1000.5`; only text cells keep trailing zeros); booleans as
/// `是`/`否`; dates as `YYYY-MM-DD`, date-times as `YYYY-MM-DD HH:MM:SS`,
/// times as `HH:MM:SS` and durations as `H:MM:SS`.
///
/// # Errors
///
/// All problems found, in row order:
///
/// * `WORKBOOK_INVALID` (row 0) – the bytes are not a readable `.xlsx` workbook;
/// * `WORKBOOK_TOO_LARGE` (row 0) – over [`MAX_PARTS`] parts, [`MAX_UNCOMPRESSED_BYTES`]
///   decompressed, or a first sheet spanning over [`MAX_CELLS`] cells;
/// * `SHEET_EMPTY` (row 0) – the first sheet has no values;
/// * `HEADER_ROW_MISSING` (row 1) – row 1 is empty but later rows are not;
/// * `COLUMN_MISSING` (row 1) – one error per required column without header;
///   rows are not checked then;
/// * `CELL_REQUIRED` – a required cell is empty;
/// * `CELL_ERROR` – a cell holds an Excel error value such as `#DIV/0!`.
pub fn read_table(bytes: &[u8], columns: &[Column]) -> Result<Vec<Row>, Vec<CellError>> {
    table_of(&sheet_range(bytes, None).map_err(|e| vec![e])?, columns)
}

/// Reads the sheet named `sheet` of an `.xlsx` workbook as [`read_table`] reads the first
/// one (a workbook of several tabs, [`write_tables`]).
///
/// # Errors
///
/// As [`read_table`], and `SHEET_MISSING` (row 0) when the workbook has no sheet of that name.
pub fn read_named_table(
    bytes: &[u8],
    sheet: &str,
    columns: &[Column],
) -> Result<Vec<Row>, Vec<CellError>> {
    table_of(
        &sheet_range(bytes, Some(sheet)).map_err(|e| vec![e])?,
        columns,
    )
}

fn table_of(range: &calamine::Range<Data>, columns: &[Column]) -> Result<Vec<Row>, Vec<CellError>> {
    let mut rows = range.rows();
    let (first_row, _) = match range.start() {
        Some(start) if range.used_cells().any(|(_, _, cell)| !is_blank(cell)) => start,
        _ => {
            return Err(vec![CellError::sheet(
                0,
                "SHEET_EMPTY",
                "工作表是空的，没有任何数据",
            )]);
        }
    };
    if first_row != 0 {
        return Err(vec![CellError::sheet(
            1,
            "HEADER_ROW_MISSING",
            "第 1 行必须是表头，但它是空的",
        )]);
    }

    // Position of each column inside the range rows, if present in the file.
    let header: Vec<String> = rows
        .next()
        .unwrap_or_default()
        .iter()
        .map(|cell| cell_text(cell).unwrap_or_default())
        .collect();
    let positions: Vec<Option<usize>> = columns
        .iter()
        .map(|column| header.iter().position(|text| text == column.header.trim()))
        .collect();
    let missing: Vec<CellError> = columns
        .iter()
        .zip(&positions)
        .filter(|(column, position)| column.required && position.is_none())
        .map(|(column, _)| CellError {
            row: 1,
            column: column.header.to_owned(),
            reason: "COLUMN_MISSING",
            message: format!("缺少必填列「{}」", column.header),
        })
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }

    let mut table = Vec::with_capacity(range.height().saturating_sub(1));
    let mut errors = Vec::new();
    // Row 1 is the header; the range starts at row 1 (checked above).
    for (number, cells) in (2..=u32::MAX).zip(rows) {
        if cells.iter().all(is_blank) {
            continue;
        }
        let mut values = Vec::with_capacity(columns.len());
        for (column, position) in columns.iter().zip(&positions) {
            let value = match position
                .and_then(|p| cells.get(p))
                .map_or(Ok(String::new()), cell_text)
            {
                Ok(value) => value,
                Err(error) => {
                    errors.push(CellError {
                        row: number,
                        column: column.header.to_owned(),
                        reason: "CELL_ERROR",
                        message: format!(
                            "「{}」的值是错误值 {error}，请改为有效的值",
                            column.header
                        ),
                    });
                    values.push(String::new());
                    continue;
                }
            };
            if column.required && value.is_empty() {
                errors.push(CellError {
                    row: number,
                    column: column.header.to_owned(),
                    reason: "CELL_REQUIRED",
                    message: format!("「{}」不能为空", column.header),
                });
            }
            values.push(value);
        }
        table.push(Row {
            number,
            cells: values,
        });
    }

    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}

/// Most parts (files inside the zip) a workbook may have.
pub const MAX_PARTS: usize = 1_000;
/// Most bytes all of a workbook's parts may hold once decompressed.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 128 << 20;
/// Most cells the first sheet may span (rows × columns of its used area): calamine holds the
/// area densely in memory, so a sheet with one cell at A1 and one at XFD1048576 is refused
/// before it is loaded.
pub const MAX_CELLS: u64 = 2_000_000;

fn too_large(what: String) -> CellError {
    CellError::sheet(
        0,
        "WORKBOOK_TOO_LARGE",
        &format!("工作簿过大：{what}，请拆分后分批导入"),
    )
}

/// Measures every part of the workbook by decompressing it (a part's declared size may lie)
/// and refuses a workbook over [`MAX_PARTS`] or [`MAX_UNCOMPRESSED_BYTES`]: a decompression
/// bomb costs at most that much work and no memory.
fn check_parts(bytes: &[u8]) -> Result<(), CellError> {
    let invalid = || CellError::sheet(0, "WORKBOOK_INVALID", "文件不是有效的 Excel (.xlsx) 工作簿");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| invalid())?;
    if archive.len() > MAX_PARTS {
        return Err(too_large(format!(
            "包含 {} 个部件（上限 {MAX_PARTS}）",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let part = archive.by_index(i).map_err(|_| invalid())?;
        let budget = MAX_UNCOMPRESSED_BYTES - total;
        let read = std::io::copy(
            &mut std::io::Read::take(part, budget + 1),
            &mut std::io::sink(),
        )
        .map_err(|_| invalid())?;
        total += read;
        if total > MAX_UNCOMPRESSED_BYTES {
            return Err(too_large(format!(
                "解压后超过 {} MiB",
                MAX_UNCOMPRESSED_BYTES >> 20
            )));
        }
    }
    Ok(())
}

/// Opens the workbook and reads its sheet `name` (`None`: the first), within the bounds above.
fn sheet_range(bytes: &[u8], name: Option<&str>) -> Result<calamine::Range<Data>, CellError> {
    let invalid = || CellError::sheet(0, "WORKBOOK_INVALID", "文件不是有效的 Excel (.xlsx) 工作簿");
    check_parts(bytes)?;
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|_| invalid())?;
    let names = workbook.sheet_names();
    let name = match name {
        None => names.first().cloned().ok_or_else(invalid)?,
        Some(wanted) => names
            .iter()
            .find(|n| n.trim() == wanted)
            .cloned()
            .ok_or_else(|| CellError {
                row: 0,
                column: String::new(),
                reason: "SHEET_MISSING",
                message: format!("工作簿中没有名为「{wanted}」的工作表"),
            })?,
    };
    // The used area, from the cells themselves (streamed, nothing held).
    let (mut rows, mut cols) = (0u64, 0u64);
    {
        let mut cells = workbook
            .worksheet_cells_reader(&name)
            .map_err(|_| invalid())?;
        let (mut min_row, mut min_col) = (u64::MAX, u64::MAX);
        let (mut max_row, mut max_col) = (0u64, 0u64);
        while let Some(cell) = cells.next_cell().map_err(|_| invalid())? {
            let (r, c) = cell.get_position();
            let (r, c) = (u64::from(r), u64::from(c));
            (min_row, max_row) = (min_row.min(r), max_row.max(r));
            (min_col, max_col) = (min_col.min(c), max_col.max(c));
            if min_row <= max_row {
                (rows, cols) = (max_row - min_row + 1, max_col - min_col + 1);
            }
            if rows.saturating_mul(cols) > MAX_CELLS {
                return Err(too_large(format!(
                    "工作表「{name}」的数据区域超过 {MAX_CELLS} 个单元格"
                )));
            }
        }
    }
    match workbook.worksheet_range(&name) {
        Ok(range) => Ok(range),
        Err(_) => Err(invalid()),
    }
}

/// Whether a cell has no value (whitespace-only text counts as none).
fn is_blank(cell: &Data) -> bool {
    match cell {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// The text of a cell as a person typed it, or the Excel error it holds.
fn cell_text(cell: &Data) -> Result<String, calamine::CellErrorType> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(dt) => datetime_text(dt),
        Data::DateTimeIso(s) => iso_datetime_text(s.trim()),
        Data::DurationIso(s) => s.trim().to_owned(),
        Data::Error(e) => return Err(e.clone()),
    })
}

/// Shortest text that reads back as the same number, never in exponent form
/// (Rust's `Display` for `f64` guarantees both): `1000.0` → `"1000"`,
/// `0.1` → `"0.1"`, `1e20` → `"100000000000000000000"`.
fn number_text(value: f64) -> String {
    if value == 0.0 {
        // Also turns -0 into "0".
        return "0".to_owned();
    }
    value.to_string()
}

/// Excel serial date/time → `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, `HH:MM:SS`
/// (time of day only) or `H:MM:SS` (duration). Milliseconds are dropped.
fn datetime_text(dt: &calamine::ExcelDateTime) -> String {
    if dt.is_duration() {
        let total = (dt.as_f64() * 86_400.0).round();
        let sign = if total < 0.0 { "-" } else { "" };
        // Saturating float → int cast; Excel durations are far below i64::MAX.
        let seconds = total.abs() as u64;
        return format!(
            "{sign}{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
    let (year, month, day, hour, minute, second, _milli) = dt.to_ymd_hms_milli();
    let time = format!("{hour:02}:{minute:02}:{second:02}");
    if (0.0..1.0).contains(&dt.as_f64()) {
        // Serial day 0: a time of day without a date.
        return time;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if (hour, minute, second) == (0, 0, 0) {
        date
    } else {
        format!("{date} {time}")
    }
}

/// ISO 8601 date/time text (`2024-01-02T03:04:05.000`) → `2024-01-02 03:04:05`,
/// or just the date at midnight.
fn iso_datetime_text(text: &str) -> String {
    match text.split_once('T') {
        Some((date, time)) => {
            let time = time.get(..8).unwrap_or(time);
            if time == "00:00:00" {
                date.to_owned()
            } else {
                format!("{date} {time}")
            }
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};

    use super::*;

    #[test]
    fn numbers_become_exact_text_without_exponent() {
        assert_eq!(number_text(1000.0), "1000");
        assert_eq!(number_text(0.1), "0.1");
        assert_eq!(number_text(1234.5), "1234.5");
        assert_eq!(number_text(-0.0), "0");
        assert_eq!(number_text(-12.25), "-12.25");
        assert_eq!(number_text(1e20), "100000000000000000000");
        assert_eq!(number_text(1e-7), "0.0000001");
        assert_eq!(number_text(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn other_cell_types_become_text() {
        assert_eq!(cell_text(&Data::Int(42)), Ok("42".to_owned()));
        assert_eq!(cell_text(&Data::Bool(true)), Ok("是".to_owned()));
        assert_eq!(cell_text(&Data::Bool(false)), Ok("否".to_owned()));
        assert_eq!(
            cell_text(&Data::String("  ≥ ".to_owned())),
            Ok("≥".to_owned())
        );
        assert_eq!(
            cell_text(&Data::Error(CellErrorType::Div0)),
            Err(CellErrorType::Div0)
        );
        assert_eq!(
            cell_text(&Data::DateTimeIso("2024-03-05T00:00:00".to_owned())),
            Ok("2024-03-05".to_owned())
        );
        assert_eq!(
            cell_text(&Data::DateTimeIso("2024-03-05T13:04:05.120".to_owned())),
            Ok("2024-03-05 13:04:05".to_owned())
        );
    }

    #[test]
    fn serial_dates_become_iso_text() {
        let at = |value, kind| datetime_text(&ExcelDateTime::new(value, kind, false));
        assert_eq!(at(45_356.0, ExcelDateTimeType::DateTime), "2024-03-05");
        assert_eq!(
            at(45_356.5, ExcelDateTimeType::DateTime),
            "2024-03-05 12:00:00"
        );
        assert_eq!(
            at(0.520_833_333_333_333_4, ExcelDateTimeType::DateTime),
            "12:30:00"
        );
        assert_eq!(at(1.5, ExcelDateTimeType::TimeDelta), "36:00:00");
    }
}
