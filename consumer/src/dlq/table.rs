//! Aligned text tables. Chinese characters take two terminal columns, so widths are
//! measured in display columns, not characters.

use unicode_width::UnicodeWidthStr;

/// Renders `rows` under `header` with two spaces between columns; the last column is
/// not padded.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.width()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate().take(columns) {
            widths[index] = widths[index].max(cell.width());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|cell| cell.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate().take(columns) {
            line.push_str(cell);
            if index + 1 < columns {
                let padding = widths[index] - cell.width() + 2;
                line.extend(std::iter::repeat_n(' ', padding));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Cuts `text` to at most `max` display columns, marking a cut with `…`, and puts
/// line breaks and tabs on one line.
pub fn cell(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.width() <= max {
        return flat;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in flat.chars() {
        let width = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + width + 1 > max {
            break;
        }
        out.push(c);
        used += width;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_with_chinese() {
        let rows = vec![
            vec!["报销".to_string(), "1".to_string()],
            vec!["abcd".to_string(), "2".to_string()],
        ];
        let text = render(&["name", "n"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "报销  1", "two columns of Chinese, two spaces");
        assert_eq!(lines[2], "abcd  2");
    }

    #[test]
    fn cell_cuts_by_width() {
        let cut = cell("团建活动团建活动", 7);
        assert_eq!(cut, "团建活…", "three wide characters and the mark");
        assert!(cut.width() <= 7, "fits the column");
    }

    #[test]
    fn cell_flattens_lines() {
        assert_eq!(cell("a\nb", 10), "a b");
    }
}
