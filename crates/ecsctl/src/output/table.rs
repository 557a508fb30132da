//! Tables as kubectl prints them: upper-case headers, columns padded with three spaces, no
//! borders, no trailing blanks.

/// Rows of cells under headers.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Space between columns.
const GAP: usize = 3;

impl Table {
    /// A table with these headers (upper-cased).
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.as_ref().to_uppercase()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped. Control characters in a
    /// cell are escaped (`\u{1b}`, `\n`): a cell is one line of text, never a command to the
    /// terminal or a forged row.
    pub fn push(&mut self, row: Vec<String>) {
        let mut row: Vec<String> = row
            .into_iter()
            .map(|c| match api::text::escape(&c) {
                std::borrow::Cow::Borrowed(_) => c,
                std::borrow::Cow::Owned(e) => e,
            })
            .collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// The aligned text, one line per row, each ending in a newline.
    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    line.push_str(&" ".repeat(widths[i] - width(cell) + GAP));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_like_kubectl() {
        let mut t = Table::new(&["name", "desired", "age"]);
        t.push(vec!["web".into(), "2".into(), "5m".into()]);
        t.push(vec!["checkout-api".into(), "10".into(), "3d4h".into()]);
        assert_eq!(
            t.render(),
            "NAME           DESIRED   AGE\n\
             web            2         5m\n\
             checkout-api   10        3d4h\n"
        );
    }

    #[test]
    fn control_characters_in_cells_are_shown_not_obeyed() {
        let mut t = Table::new(&["name", "reason"]);
        t.push(vec![
            "t1".into(),
            "bye\u{1b}]0;owned\u{7}\nt2   forged".into(),
        ]);
        assert_eq!(
            t.render(),
            "NAME   REASON\nt1     bye\\u{1b}]0;owned\\u{7}\\nt2   forged\n"
        );
    }

    #[test]
    fn short_rows_and_trailing_blanks() {
        let mut t = Table::new(&["a", "b"]);
        t.push(vec!["x".into()]);
        t.push(vec!["ü".into(), "".into()]);
        assert_eq!(t.render(), "A   B\nx\nü\n");
        assert_eq!(Table::new(&["a"]).render(), "A\n");
    }
}
