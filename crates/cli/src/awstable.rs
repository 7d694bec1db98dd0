//! `--output table` as the AWS CLI draws it (awscli 1.x `TableFormatter` and `MultiTable`):
//! one section per object or list, nested sections indented with `|`, columns scaled to the
//! widest section, and sections wider than the terminal (80 columns when stdout is not one)
//! turned into two-column key/value tables.

use serde_json::Value as Json;

use crate::awsformat::py_str;

/// Columns assumed when stdout is not a terminal, as the AWS CLI does.
const TERMINAL_WIDTH: usize = 80;
/// Room around each cell's text.
const PADDING: usize = 4;

#[derive(Debug, Default, Clone)]
struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent: usize,
    max_widths: Vec<usize>,
}

fn width(text: &str) -> usize {
    text.chars().count()
}

impl Section {
    fn new(title: &str, indent: usize) -> Section {
        Section {
            title: title.to_string(),
            indent,
            ..Section::default()
        }
    }

    fn update_widths(&mut self, cells: &[String]) {
        if self.max_widths.is_empty() {
            self.max_widths = cells.iter().map(|c| width(c)).collect();
        } else {
            for (w, c) in self.max_widths.iter_mut().zip(cells) {
                *w = (*w).max(width(c));
            }
        }
    }

    fn add_header(&mut self, headers: Vec<String>) {
        self.update_widths(&headers);
        self.headers = headers;
    }

    fn add_row(&mut self, row: Vec<String>) {
        self.update_widths(&row);
        self.rows.push(row);
    }

    /// Column widths (with padding) scaled so they add up to `max_width`.
    fn column_widths(&self, max_width: usize) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + PADDING).collect();
        let total: usize = unscaled.iter().sum();
        if unscaled.is_empty() || total == 0 {
            return unscaled;
        }
        let scale = max_width as f64 / total as f64;
        // Python's round() rounds halves to even.
        let mut scaled: Vec<i64> = unscaled
            .iter()
            .map(|w| (scale * *w as f64).round_ties_even() as i64)
            .collect();
        let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> = if off_by < 0 {
                (0..scaled.len()).rev().collect()
            } else {
                (0..scaled.len()).collect()
            };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| usize::try_from(w).unwrap_or(0)).collect()
    }

    fn total_width(&self) -> usize {
        let columns: usize = self.max_widths.iter().map(|w| w + PADDING).sum::<usize>() + 2 + 2 * self.indent;
        columns.max(width(&self.title) + 2 + 2 * self.indent)
    }
}

fn spaces(n: i64) -> String {
    " ".repeat(usize::try_from(n).unwrap_or(0))
}

fn center(text: &str, length: usize, left: &str, right: &str) -> String {
    let (len, length) = (width(text) as i64, length as i64);
    let start = length / 2 - len / 2 - 1;
    // As awscli: the unclamped start, so an over-long text shortens the right padding.
    let so_far = width(left) as i64 + start + len;
    format!(
        "{left}{}{text}{}{right}",
        spaces(start),
        spaces(length - width(right) as i64 - so_far)
    )
}

fn align_left(text: &str, length: usize, left: &str, right: &str) -> String {
    let (len, length) = (width(text) as i64, length as i64);
    let needed = len + 2 + width(left) as i64 + width(right) as i64;
    let padding = if length - needed >= 0 { 2 } else { 0 };
    let so_far = width(left) as i64 + padding + len;
    format!(
        "{left}{}{text}{}{right}",
        spaces(padding),
        spaces(length - so_far - width(right) as i64)
    )
}

/// Builds sections from a response as the formatter walks it.
#[derive(Debug, Default)]
struct Builder {
    sections: Vec<Section>,
}

fn scalar(v: &Json) -> bool {
    !matches!(v, Json::Object(_) | Json::Array(_))
}

impl Builder {
    fn current(&mut self) -> Option<&mut Section> {
        self.sections.last_mut()
    }

    fn table(&mut self, title: &str, value: &Json, indent: usize) {
        let empty = match value {
            Json::Object(m) => m.is_empty(),
            Json::Array(a) => a.is_empty(),
            Json::Null => true,
            Json::String(s) => s.is_empty(),
            _ => false,
        };
        if empty {
            return;
        }
        self.sections.push(Section::new(title, indent));
        match value {
            Json::Array(items) if matches!(items.first(), Some(Json::Object(_))) => {
                self.list_of_objects(items, indent, title)
            }
            Json::Array(items) => {
                for item in items {
                    let cells = match item {
                        Json::Array(inner) if inner.iter().all(scalar) => inner.iter().map(py_str).collect(),
                        other => vec![py_str(other)],
                    };
                    if let Some(s) = self.current() {
                        s.add_row(cells);
                    }
                }
            }
            Json::Object(map) => {
                let mut headers: Vec<&String> = map.iter().filter(|(_, v)| scalar(v)).map(|(k, _)| k).collect();
                let mut more: Vec<&String> = map.iter().filter(|(_, v)| !scalar(v)).map(|(k, _)| k).collect();
                headers.sort();
                more.sort();
                if let Some(s) = self.current() {
                    if headers.len() == 1 {
                        s.add_row(vec![headers[0].clone(), py_str(&map[headers[0]])]);
                    } else if !headers.is_empty() {
                        s.add_header(headers.iter().map(|h| (*h).clone()).collect());
                        s.add_row(headers.iter().map(|h| py_str(&map[*h])).collect());
                    }
                }
                for k in more {
                    self.table(k, &map[k], indent + 1);
                }
            }
            _ => {}
        }
    }

    fn list_of_objects(&mut self, items: &[Json], indent: usize, title: &str) {
        let mut headers: Vec<String> = Vec::new();
        let mut more: Vec<String> = Vec::new();
        for m in items.iter().filter_map(Json::as_object) {
            for (k, v) in m {
                let target = if scalar(v) { &mut headers } else { &mut more };
                if !target.contains(k) {
                    target.push(k.clone());
                }
            }
        }
        headers.sort();
        more.sort();
        if let Some(s) = self.current() {
            s.add_header(headers.clone());
        }
        for (i, item) in items.iter().enumerate() {
            let Some(m) = item.as_object() else { continue };
            if i > 0 && !more.is_empty() {
                let mut s = Section::new(title, indent);
                s.add_header(headers.clone());
                self.sections.push(s);
            }
            let row = headers
                .iter()
                .map(|h| m.get(h).map(py_str).unwrap_or_default())
                .collect();
            if let Some(s) = self.current() {
                s.add_row(row);
            }
            for k in &more {
                if let Some(v) = m.get(k) {
                    self.table(k, v, indent + 1);
                }
            }
        }
    }
}

fn to_vertical(sections: &mut [Section]) {
    for s in sections.iter_mut() {
        if s.rows.len() == 1 && !s.headers.is_empty() {
            let mut v = Section::new(&s.title, s.indent);
            for (h, e) in s.headers.iter().zip(&s.rows[0]) {
                v.add_row(vec![h.clone(), e.clone()]);
            }
            *s = v;
        }
    }
}

fn line_break(widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, w) in widths.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!("+{}+", "-".repeat(w.saturating_sub(2))));
        } else {
            out.push_str(&format!("{}+", "-".repeat(w.saturating_sub(1))));
        }
    }
    out
}

fn render_sections(sections: &[Section], out: &mut String) {
    let max_width = sections.iter().map(Section::total_width).max().unwrap_or(0);
    out.push_str(&"-".repeat(max_width));
    out.push('\n');
    for s in sections {
        let edge = "|".repeat(s.indent);
        let mut line = |text: String| {
            out.push_str(&edge);
            out.push_str(&text);
            out.push_str(&edge);
            out.push('\n');
        };
        let width = max_width.saturating_sub(2 * s.indent);
        if !s.title.is_empty() {
            line(center(&s.title, width, "|", "|"));
            if s.headers.is_empty() && s.rows.is_empty() {
                line(format!("+{}+", "-".repeat(width.saturating_sub(2))));
            }
        }
        let widths = s.column_widths(width);
        if !s.headers.is_empty() {
            line(line_break(&widths));
            let cells: String = s
                .headers
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (h, w))| center(h, *w, if i == 0 { "|" } else { "" }, "|"))
                .collect();
            line(cells);
        }
        if !s.rows.is_empty() && !widths.is_empty() {
            line(line_break(&widths));
            for row in &s.rows {
                let cells: String = row
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (e, w))| align_left(e, *w, if i == 0 { "|" } else { "" }, "|"))
                    .collect();
                line(cells);
            }
            line(line_break(&widths));
        }
    }
}

/// The whole run (all pages, then the resume token) as one table titled `LookupEvents`.
pub fn render(pages: &[Vec<Json>], next_token: Option<&str>) -> String {
    let mut response = serde_json::Map::new();
    response.insert("Events".into(), Json::Array(pages.iter().flatten().cloned().collect()));
    if let Some(t) = next_token {
        response.insert("NextToken".into(), Json::String(t.to_string()));
    }
    let mut b = Builder::default();
    b.table("LookupEvents", &Json::Object(response), 0);
    let mut sections = b.sections;
    let widest = sections.iter().map(Section::total_width).max().unwrap_or(0);
    if widest > TERMINAL_WIDTH {
        to_vertical(&mut sections);
    }
    let mut out = String::new();
    render_sections(&sections, &mut out);
    out
}
