//! Plain-text tables: columns padded to their widest cell.

use std::io::{self, Write};

/// Writes `header` and `rows` with columns separated by two spaces; the last
/// column is not padded, so lines carry no trailing blanks.
pub(super) fn write(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up() {
        let mut out = Vec::new();
        let rows = vec![
            vec![
                "cars".to_owned(),
                "CSVDataset".to_owned(),
                "data/cars.csv".to_owned(),
            ],
            vec![
                "model_input".to_owned(),
                "ParquetDataset".to_owned(),
                String::new(),
            ],
        ];
        super::write(&mut out, &["DATASET", "TYPE", "FILEPATH"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "DATASET      TYPE            FILEPATH\n\
             cars         CSVDataset      data/cars.csv\n\
             model_input  ParquetDataset\n"
        );
    }
}
