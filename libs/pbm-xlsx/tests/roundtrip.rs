//! Write → read round trips and validation of uploaded workbooks.

use pbm_xlsx::{CellError, Column, Row, read_table, write_table};
use rust_xlsxwriter::{Format, Formula, Workbook};

const CODE: Column = Column {
    header: "指标编码",
    required: true,
    width: 12.0,
};
const NAME: Column = Column {
    header: "指标名称",
    required: true,
    width: 30.0,
};
const OPERATOR: Column = Column {
    header: "比较符",
    required: false,
    width: 8.0,
};
const TARGET: Column = Column {
    header: "目标值",
    required: false,
    width: 14.0,
};
const COLUMNS: [Column; 4] = [CODE, NAME, OPERATOR, TARGET];

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// Builds a workbook the way a person would, one sheet, cells given by `fill`.
fn workbook(fill: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut workbook = Workbook::new();
    fill(workbook.add_worksheet());
    workbook.save_to_buffer().unwrap()
}

fn reasons(errors: &[CellError]) -> Vec<(u32, &str, &str)> {
    errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.reason))
        .collect()
}

#[test]
fn round_trip_keeps_exact_text() {
    let rows = vec![
        row(&["0101", "受益人口数量", "≥", "1000.50"]),
        row(&["0102", "  满意度  ", "", ""]),
        row(&["0103", "=SUM(A1:A2)", "≤", "0.10"]),
    ];
    let bytes = write_table("指标库", &COLUMNS, &rows).unwrap();
    let read = read_table(&bytes, &COLUMNS).unwrap();
    assert_eq!(
        read,
        vec![
            Row {
                number: 2,
                cells: row(&["0101", "受益人口数量", "≥", "1000.50"])
            },
            Row {
                number: 3,
                cells: row(&["0102", "满意度", "", ""])
            },
            Row {
                number: 4,
                cells: row(&["0103", "=SUM(A1:A2)", "≤", "0.10"])
            },
        ]
    );
}

#[test]
fn header_only_table_reads_no_rows() {
    let bytes = write_table("指标库", &COLUMNS, &[]).unwrap();
    assert_eq!(read_table(&bytes, &COLUMNS).unwrap(), vec![]);
}

#[test]
fn columns_in_another_order_still_map_and_extra_columns_are_ignored() {
    let in_file = [
        TARGET,
        Column {
            header: "备注",
            required: false,
            width: 10.0,
        },
        NAME,
        CODE,
    ];
    let bytes = write_table(
        "Sheet1",
        &in_file,
        &[row(&["1000.50", "随便写", "受益人口数量", "0101"])],
    )
    .unwrap();
    let read = read_table(&bytes, &COLUMNS).unwrap();
    assert_eq!(
        read,
        vec![Row {
            number: 2,
            cells: row(&["0101", "受益人口数量", "", "1000.50"])
        }]
    );
}

#[test]
fn headers_are_trimmed() {
    let bytes = workbook(|ws| {
        ws.write(0, 0, " 指标编码 ").unwrap();
        ws.write(0, 1, "指标名称\u{3000}").unwrap(); // ideographic space
        ws.write(1, 0, "0101").unwrap();
        ws.write(1, 1, "名称").unwrap();
    });
    let read = read_table(&bytes, &[CODE, NAME]).unwrap();
    assert_eq!(
        read,
        vec![Row {
            number: 2,
            cells: row(&["0101", "名称"])
        }]
    );
}

#[test]
fn missing_required_columns_are_reported() {
    let bytes = write_table("Sheet1", &[NAME, TARGET], &[row(&["名称", "1"])]).unwrap();
    let errors = read_table(&bytes, &COLUMNS).unwrap_err();
    assert_eq!(
        errors,
        vec![CellError {
            row: 1,
            column: "指标编码".to_owned(),
            reason: "COLUMN_MISSING",
            message: "缺少必填列「指标编码」".to_owned(),
        }]
    );

    // Missing optional columns are fine.
    let read = read_table(&bytes, &[NAME, OPERATOR]).unwrap();
    assert_eq!(
        read,
        vec![Row {
            number: 2,
            cells: row(&["名称", ""])
        }]
    );
}

#[test]
fn empty_required_cell_reports_row_and_header() {
    let rows = vec![
        row(&["0101", "名称", "", ""]),
        row(&["0102", "   ", "≥", "5"]),
    ];
    let bytes = write_table("Sheet1", &COLUMNS, &rows).unwrap();
    let errors = read_table(&bytes, &COLUMNS).unwrap_err();
    assert_eq!(
        errors,
        vec![CellError {
            row: 3,
            column: "指标名称".to_owned(),
            reason: "CELL_REQUIRED",
            message: "「指标名称」不能为空".to_owned(),
        }]
    );
}

#[test]
fn all_errors_are_collected_and_empty_rows_skipped() {
    let bytes = workbook(|ws| {
        for (col, header) in (0..).zip(["指标编码", "指标名称", "目标值"]) {
            ws.write(0, col, header).unwrap();
        }
        ws.write(1, 0, "0101").unwrap(); // row 2: name missing
        ws.write(1, 2, "1").unwrap();
        // row 3 completely empty: skipped
        ws.write(3, 0, "0103").unwrap(); // row 4 fine
        ws.write(3, 1, "名称").unwrap();
        ws.write(4, 1, "名称").unwrap(); // row 5: code missing
        ws.write_formula(4, 2, Formula::new("=1/0").set_result("#DIV/0!"))
            .unwrap();
    });
    let errors = read_table(&bytes, &COLUMNS).unwrap_err();
    assert_eq!(
        reasons(&errors),
        vec![
            (2, "指标名称", "CELL_REQUIRED"),
            (5, "指标编码", "CELL_REQUIRED"),
            (5, "目标值", "CELL_ERROR"),
        ]
    );
    assert_eq!(
        errors[2].message,
        "「目标值」的值是错误值 #DIV/0!，请改为有效的值"
    );

    // Without the bad rows, the empty row 3 is skipped and row numbers stay real.
    let bytes = workbook(|ws| {
        ws.write(0, 0, "指标编码").unwrap();
        ws.write(0, 1, "指标名称").unwrap();
        ws.write(1, 0, "0101").unwrap();
        ws.write(1, 1, "甲").unwrap();
        ws.write(3, 0, "0103").unwrap();
        ws.write(3, 1, "丙").unwrap();
    });
    let numbers: Vec<u32> = read_table(&bytes, &[CODE, NAME])
        .unwrap()
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(numbers, vec![2, 4]);
}

#[test]
fn garbage_is_not_a_workbook() {
    let errors = read_table(b"not an xlsx at all", &COLUMNS).unwrap_err();
    assert_eq!(
        errors,
        vec![CellError {
            row: 0,
            column: String::new(),
            reason: "WORKBOOK_INVALID",
            message: "文件不是有效的 Excel (.xlsx) 工作簿".to_owned(),
        }]
    );
    assert_eq!(
        reasons(&read_table(&[], &COLUMNS).unwrap_err()),
        vec![(0, "", "WORKBOOK_INVALID")]
    );
}

#[test]
fn empty_sheet_and_missing_header_row() {
    let empty = workbook(|_| {});
    assert_eq!(
        reasons(&read_table(&empty, &COLUMNS).unwrap_err()),
        vec![(0, "", "SHEET_EMPTY")]
    );

    let late_header = workbook(|ws| {
        ws.write(2, 0, "指标编码").unwrap();
    });
    assert_eq!(
        reasons(&read_table(&late_header, &COLUMNS).unwrap_err()),
        vec![(1, "", "HEADER_ROW_MISSING")]
    );
}

#[test]
fn values_typed_as_numbers_dates_and_booleans_read_back_as_text() {
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let headers = ["整数", "小数", "金额", "大数", "日期", "时间", "是否"];
    let bytes = workbook(|ws| {
        for (col, header) in (0..).zip(headers) {
            ws.write(0, col, header).unwrap();
        }
        ws.write_number(1, 0, 1000).unwrap();
        ws.write_number(1, 1, 0.1).unwrap();
        ws.write_number(1, 2, 1234.5).unwrap();
        ws.write_number(1, 3, 1.5e16).unwrap();
        ws.write_number_with_format(1, 4, 45_356.0, &date).unwrap();
        ws.write_number_with_format(1, 5, 45_356.75, &datetime)
            .unwrap();
        ws.write_boolean(1, 6, true).unwrap();
        ws.write_boolean(2, 6, false).unwrap();
    });
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| Column {
            header: h,
            required: false,
            width: 10.0,
        })
        .collect();
    let read = read_table(&bytes, &columns).unwrap();
    assert_eq!(
        read,
        vec![
            Row {
                number: 2,
                cells: row(&[
                    "1000",
                    "0.1",
                    "1234.5",
                    "15000000000000000",
                    "2024-03-05",
                    "2024-03-05 18:00:00",
                    "是",
                ]),
            },
            Row {
                number: 3,
                cells: row(&["", "", "", "", "", "", "否"])
            },
        ]
    );
}

#[test]
fn rows_of_the_wrong_length_are_rejected() {
    let error = write_table("Sheet1", &COLUMNS, &[row(&["0101"])]).unwrap_err();
    assert!(matches!(
        error,
        pbm_xlsx::XlsxError::RowLength {
            index: 0,
            expected: 4,
            actual: 1
        }
    ));
    assert!(matches!(
        write_table("bad/name", &COLUMNS, &[]).unwrap_err(),
        pbm_xlsx::XlsxError::Writer(_)
    ));
}

#[test]
fn ten_thousand_rows_round_trip() {
    const ROWS: usize = 10_000;
    let rows: Vec<Vec<String>> = (0..ROWS)
        .map(|i| {
            vec![
                format!("{i:06}"),
                format!("指标{i}"),
                "≥".to_owned(),
                format!("{i}.50"),
            ]
        })
        .collect();
    let bytes = write_table("指标库", &COLUMNS, &rows).unwrap();
    let read = read_table(&bytes, &COLUMNS).unwrap();
    assert_eq!(read.len(), ROWS);
    assert_eq!(read[ROWS - 1].number, 10_001);
    assert_eq!(read[ROWS - 1].cells, rows[ROWS - 1]);
}

/// Size check for large exports: `cargo test --release -p pbm-xlsx -- --ignored --nocapture`.
#[test]
#[ignore = "slow in debug builds; run with --release"]
fn hundred_thousand_rows_by_25_columns() {
    const ROWS: usize = 100_000;
    let columns: Vec<Column> = (0..25)
        .map(|i| Column {
            header: Box::leak(format!("列{i}").into_boxed_str()),
            required: true,
            width: 12.0,
        })
        .collect();
    let rows: Vec<Vec<String>> = (0..ROWS)
        .map(|r| (0..25).map(|c| format!("{r}.{c:02}")).collect())
        .collect();
    let start = std::time::Instant::now();
    let bytes = write_table("数据", &columns, &rows).unwrap();
    let written = start.elapsed();
    let read = read_table(&bytes, &columns).unwrap();
    println!(
        "write {written:?}, read {:?}, {} bytes",
        start.elapsed() - written,
        bytes.len()
    );
    std::fs::write(std::env::temp_dir().join("pbm-xlsx-large.xlsx"), &bytes).unwrap();
    assert_eq!(read.len(), ROWS);
    assert_eq!(read[ROWS - 1].cells[24], "99999.24");
}

/// A sheet spanning A1 to far away is refused before calamine lays the area out in memory.
#[test]
fn a_sheet_spanning_too_many_cells_is_refused() {
    let bytes = workbook(|s| {
        s.write_string(0, 0, "指标编码").unwrap();
        s.write_string(0, 1, "指标名称").unwrap();
        s.write_string(1_000_000, 300, "远处的单元格").unwrap();
    });
    assert!(
        bytes.len() < 20_000,
        "a small upload: {} bytes",
        bytes.len()
    );
    let errors = read_table(&bytes, &COLUMNS).unwrap_err();
    assert_eq!(reasons(&errors), vec![(0, "", "WORKBOOK_TOO_LARGE")]);
    assert!(
        errors[0].message.contains("单元格"),
        "{}",
        errors[0].message
    );
}

/// A workbook with a part that decompresses to more than the bound (a decompression bomb) is
/// refused, whatever its parts declare.
#[test]
fn a_decompression_bomb_is_refused() {
    use std::io::Write;
    let valid = workbook(|s| {
        s.write_string(0, 0, "指标编码").unwrap();
        s.write_string(0, 1, "指标名称").unwrap();
    });
    // The same workbook with one more part: zeros beyond the bound, a few hundred KiB zipped.
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(valid)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..source.len() {
        out.raw_copy_file(source.by_index(i).unwrap()).unwrap();
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    out.start_file("xl/media/bomb.bin", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..=(pbm_xlsx::MAX_UNCOMPRESSED_BYTES >> 20) {
        out.write_all(&zeros).unwrap();
    }
    let bomb = out.finish().unwrap().into_inner();
    assert!(bomb.len() < 2 << 20, "a small upload: {} bytes", bomb.len());
    let errors = read_table(&bomb, &COLUMNS).unwrap_err();
    assert_eq!(reasons(&errors), vec![(0, "", "WORKBOOK_TOO_LARGE")]);
}

#[test]
fn a_workbook_of_several_tabs_reads_back_by_name() {
    let forms = vec![row(&["P-1", "饮水工程", "", ""])];
    let lines = vec![
        row(&["P-1", "受益人口", "≥", "32000"]),
        row(&["P-1", "满意度", "≥", "90.00"]),
    ];
    let bytes = pbm_xlsx::write_tables(&[
        pbm_xlsx::Sheet {
            name: "自评表",
            columns: &COLUMNS,
            rows: &forms,
        },
        pbm_xlsx::Sheet {
            name: "指标",
            columns: &COLUMNS,
            rows: &lines,
        },
    ])
    .unwrap();
    let second = pbm_xlsx::read_named_table(&bytes, "指标", &COLUMNS).unwrap();
    assert_eq!(second.len(), 2);
    assert_eq!(
        (second[1].number, second[1].cells[3].as_str()),
        (3, "90.00")
    );
    let first = pbm_xlsx::read_named_table(&bytes, "自评表", &COLUMNS).unwrap();
    assert_eq!(first[0].cells[1], "饮水工程");
    // read_table still reads the first tab.
    assert_eq!(read_table(&bytes, &COLUMNS).unwrap(), first);
    let missing = pbm_xlsx::read_named_table(&bytes, "附表", &COLUMNS).unwrap_err();
    assert_eq!(reasons(&missing), [(0, "", "SHEET_MISSING")]);
}
