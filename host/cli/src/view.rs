//! How a gate's choice reads to a person. One document model ([`Doc`]) is built from
//! the gate's `view` template (a small markdown subset: headings, paragraphs, lists,
//! tables, emphasis) or, without one, from the value's shape (an object with a `body`
//! and a `subject` or `to` reads as an email; a list of records as a table, with
//! `before → after` where a record carries its `before`), and drawn for a terminal
//! (lines wrapped to its width) or a web page (escaped HTML). `host focus`,
//! `host inbox`, `host show` and the web pages all draw the same document.
//!
//! Every text is sanitised as it enters the document ([`escape_control`]), so neither
//! drawing can carry a control or bidi character from a plugin.

use std::fmt::Write as _;

use baton_core::DecisionRequest;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Value};
use textwrap::core::display_width;

use crate::terminal::escape_control;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Strong,
    Emph,
    Code,
    /// Secondary text: a link's address, a label.
    Dim,
    /// What the operator should not miss (a choice that touches what an earlier
    /// decision changed).
    Warn,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

impl Span {
    pub fn new(text: &str, style: Style) -> Span {
        Span {
            text: escape_control(text).into_owned(),
            style,
        }
    }
}

/// One line of spans.
pub type Line = Vec<Span>;

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading(Line),
    /// Lines as written: a newline in plain text, or any line break in markdown.
    Para(Vec<Line>),
    List(Vec<Line>),
    /// `label: value` rows.
    Fields(Vec<(String, String)>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Doc {
    pub blocks: Vec<Block>,
}

/// Keys whose text says what a choice does, shown first and as its headline.
const HEADLINE: [&str; 4] = ["action", "title", "name", "summary"];
/// An email's header fields, in the order a mail client shows them.
const HEADER: [&str; 5] = ["from", "to", "cc", "bcc", "subject"];

impl Doc {
    /// The document for choice `index` of `request`: its gate's view when the workflow
    /// wrote one, otherwise the one derived from the value.
    pub fn for_choice(request: &DecisionRequest, index: usize) -> Doc {
        match request.views.get(index).filter(|v| !v.trim().is_empty()) {
            Some(markdown) => Doc::from_markdown(markdown),
            None => Doc::of_value(request.choices.get(index).unwrap_or(&Value::Null)),
        }
    }

    /// The document derived from a value's shape.
    pub fn of_value(value: &Value) -> Doc {
        let mut doc = Doc::default();
        doc.value(value, 0);
        doc
    }

    fn value(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Object(map) => self.object(map, depth),
            Value::Array(items) => self.items(items),
            Value::String(text) => self.text(text),
            Value::Null => {}
            other => self.text(&other.to_string()),
        }
    }

    /// Plain text: paragraphs at blank lines, every line kept.
    fn text(&mut self, text: &str) {
        for para in text.trim_matches('\n').split("\n\n") {
            let lines: Vec<Line> = para
                .lines()
                .map(|line| vec![Span::new(line.trim_end(), Style::Plain)])
                .collect();
            if !lines.is_empty() {
                self.blocks.push(Block::Para(lines));
            }
        }
    }

    fn object(&mut self, map: &Map<String, Value>, depth: usize) {
        let mut rest: Vec<(&String, &Value)> = map.iter().collect();
        let email = map.get("body").is_some_and(Value::is_string)
            && (map.contains_key("subject") || map.contains_key("to"));
        if email {
            let header: Vec<(String, String)> = HEADER
                .iter()
                .filter_map(|key| Some((label(key), scalar_text(map.get(*key)?)?)))
                .collect();
            rest.retain(|(key, _)| !HEADER.contains(&key.as_str()) && *key != "body");
            self.blocks.push(Block::Fields(header));
            self.text(map.get("body").and_then(Value::as_str).unwrap_or_default());
        } else if depth == 0
            && let Some((key, headline)) = HEADLINE
                .iter()
                .find_map(|key| Some((*key, map.get(*key)?.as_str()?)))
        {
            rest.retain(|(k, _)| k.as_str() != key);
            self.blocks
                .push(Block::Para(vec![vec![Span::new(headline, Style::Strong)]]));
        }
        // What a choice touches is Baton's to show beside it (earlier decisions on the
        // same things), not a field to read.
        rest.retain(|(key, _)| key.as_str() != "affects");
        let mut fields = Vec::new();
        let flush = |doc: &mut Doc, fields: &mut Vec<(String, String)>| {
            if !fields.is_empty() {
                doc.blocks.push(Block::Fields(std::mem::take(fields)));
            }
        };
        for (key, value) in rest {
            match value {
                Value::Null => {}
                Value::Array(items) if items.is_empty() => fields.push((label(key), "none".into())),
                Value::String(text) if text.contains('\n') => {
                    flush(self, &mut fields);
                    self.blocks
                        .push(Block::Heading(vec![Span::new(&label(key), Style::Strong)]));
                    self.text(text);
                }
                Value::Array(items) if items.iter().all(|i| scalar_text(i).is_some()) => {
                    let texts: Vec<String> = items.iter().filter_map(scalar_text).collect();
                    if texts.iter().map(|t| t.len() + 2).sum::<usize>() <= 60 {
                        fields.push((label(key), texts.join(", ")));
                    } else {
                        flush(self, &mut fields);
                        self.blocks
                            .push(Block::Heading(vec![Span::new(&label(key), Style::Strong)]));
                        self.blocks.push(Block::List(
                            texts
                                .iter()
                                .map(|t| vec![Span::new(t, Style::Plain)])
                                .collect(),
                        ));
                    }
                }
                Value::Array(items) if items.iter().all(Value::is_object) => {
                    flush(self, &mut fields);
                    self.blocks
                        .push(Block::Heading(vec![Span::new(&label(key), Style::Strong)]));
                    self.table(items);
                }
                Value::Object(inner) if depth < 2 => {
                    flush(self, &mut fields);
                    self.blocks
                        .push(Block::Heading(vec![Span::new(&label(key), Style::Strong)]));
                    self.object(inner, depth + 1);
                }
                other => fields.push((
                    label(key),
                    scalar_text(other).unwrap_or_else(|| compact(other)),
                )),
            }
        }
        flush(self, &mut fields);
    }

    /// A list: records as a table, anything else one item per line.
    fn items(&mut self, items: &[Value]) {
        if !items.is_empty() && items.iter().all(Value::is_object) {
            self.table(items);
        } else {
            self.blocks.push(Block::List(
                items
                    .iter()
                    .map(|i| {
                        vec![Span::new(
                            &scalar_text(i).unwrap_or_else(|| compact(i)),
                            Style::Plain,
                        )]
                    })
                    .collect(),
            ));
        }
    }

    /// Records as a table: a column per key, in the order keys first appear; a cell
    /// reads `before → after` when its record's `before` gives another value. Columns
    /// equal in every row (the campaign all the changes are in) are said once, above.
    fn table(&mut self, items: &[Value]) {
        let mut head: Vec<String> = Vec::new();
        for item in items {
            for key in item.as_object().into_iter().flat_map(Map::keys) {
                if key != "before" && !head.contains(key) {
                    head.push(key.clone());
                }
            }
        }
        let cell = |item: &Value, key: &str| -> String {
            let now = item
                .get(key)
                .map(|v| scalar_text(v).unwrap_or_else(|| compact(v)));
            let before = item
                .get("before")
                .and_then(|b| b.get(key))
                .map(|v| scalar_text(v).unwrap_or_else(|| compact(v)));
            match (before, now) {
                (Some(before), Some(now)) if before != now => format!("{before} → {now}"),
                (_, Some(now)) => now,
                (Some(before), None) => before,
                (None, None) => String::new(),
            }
        };
        let mut rows: Vec<Vec<String>> = items
            .iter()
            .map(|item| head.iter().map(|key| cell(item, key)).collect())
            .collect();
        if rows.len() > 1 {
            let same: Vec<usize> = (0..head.len())
                .filter(|&c| !rows[0][c].is_empty() && rows.iter().all(|r| r[c] == rows[0][c]))
                .collect();
            if !same.is_empty() && same.len() < head.len() {
                self.blocks.push(Block::Fields(
                    same.iter()
                        .map(|&c| (head[c].clone(), rows[0][c].clone()))
                        .collect(),
                ));
                let keep = |c: &usize| !same.contains(c);
                head = (0..head.len())
                    .filter(keep)
                    .map(|c| head[c].clone())
                    .collect();
                rows = rows
                    .into_iter()
                    .map(|r| {
                        r.into_iter()
                            .enumerate()
                            .filter(|(c, _)| keep(c))
                            .map(|(_, v)| v)
                            .collect()
                    })
                    .collect();
            }
        }
        let clean = |texts: Vec<String>| {
            texts
                .iter()
                .map(|t| escape_control(t).into_owned())
                .collect()
        };
        // One record reads better as its fields.
        if let [row] = rows.as_slice() {
            let fields: Vec<(String, String)> = head
                .iter()
                .zip(row)
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            self.blocks.push(Block::Fields(fields));
            return;
        }
        self.blocks.push(Block::Table {
            head: clean(head),
            rows: rows.into_iter().map(clean).collect(),
        });
    }

    /// A document from the markdown a gate's `view` rendered. Raw HTML is shown as
    /// text; a link shows its address beside its text; every line break is kept.
    pub fn from_markdown(markdown: &str) -> Doc {
        let mut doc = Doc::default();
        let mut line: Line = Vec::new();
        let mut lines: Vec<Line> = Vec::new();
        let mut items: Vec<Line> = Vec::new();
        let mut styles: Vec<Style> = Vec::new();
        let mut links: Vec<String> = Vec::new();
        let mut table: Option<(Vec<String>, Vec<Vec<String>>)> = None;
        let mut row: Vec<String> = Vec::new();
        let mut depth = 0usize;
        let style = |styles: &[Style]| styles.last().copied().unwrap_or(Style::Plain);
        let push = |line: &mut Line, text: &str, style: Style| {
            if let Some(last) = line.last_mut().filter(|s| s.style == style) {
                last.text.push_str(&escape_control(text));
            } else {
                line.push(Span::new(text, style));
            }
        };
        let text_of = |line: &Line| line.iter().map(|s| s.text.as_str()).collect::<String>();
        for event in Parser::new_ext(
            markdown,
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
        ) {
            match event {
                Event::Start(Tag::Strong) => styles.push(Style::Strong),
                Event::Start(Tag::Emphasis) => styles.push(Style::Emph),
                Event::End(TagEnd::Strong | TagEnd::Emphasis) => {
                    styles.pop();
                }
                Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
                Event::End(TagEnd::Link) => {
                    let url = links.pop().unwrap_or_default();
                    if !url.is_empty() && !text_of(&line).ends_with(&url) {
                        push(&mut line, &format!(" ({url})"), Style::Dim);
                    }
                }
                Event::Start(Tag::List(_)) => {
                    if !line.is_empty() {
                        items.push(std::mem::take(&mut line));
                    }
                    depth += 1;
                }
                Event::End(TagEnd::List(_)) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && !items.is_empty() {
                        doc.blocks.push(Block::List(std::mem::take(&mut items)));
                    }
                }
                Event::Start(Tag::Item) if depth > 1 => {
                    line.push(Span::new(&"  ".repeat(depth - 1), Style::Plain));
                }
                Event::End(TagEnd::Item) if !line.is_empty() => {
                    items.push(std::mem::take(&mut line));
                }
                Event::End(TagEnd::Heading(_)) => {
                    let mut heading = std::mem::take(&mut line);
                    heading.iter_mut().for_each(|s| s.style = Style::Strong);
                    heading.dedup_by(|next, first| {
                        first.text.push_str(&next.text);
                        true
                    });
                    doc.blocks.push(Block::Heading(heading));
                }
                Event::End(TagEnd::Paragraph) if depth == 0 => {
                    lines.push(std::mem::take(&mut line));
                    doc.blocks.push(Block::Para(std::mem::take(&mut lines)));
                }
                Event::Start(Tag::Table(_)) => table = Some((Vec::new(), Vec::new())),
                Event::End(TagEnd::TableCell) => row.push(text_of(&std::mem::take(&mut line))),
                Event::End(TagEnd::TableHead) => {
                    if let Some((head, _)) = table.as_mut() {
                        *head = std::mem::take(&mut row);
                    }
                }
                Event::End(TagEnd::TableRow) => {
                    if let Some((_, rows)) = table.as_mut() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                Event::End(TagEnd::Table) => {
                    if let Some((head, rows)) = table.take() {
                        doc.blocks.push(Block::Table { head, rows });
                    }
                }
                Event::End(TagEnd::CodeBlock) => {
                    let text = text_of(&std::mem::take(&mut line));
                    doc.blocks.push(Block::Para(
                        text.lines()
                            .map(|l| vec![Span::new(l, Style::Code)])
                            .collect(),
                    ));
                }
                Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => {
                    // A code block's text carries its own newlines.
                    push(&mut line, &text, style(&styles));
                }
                Event::Code(text) => push(&mut line, &text, Style::Code),
                Event::SoftBreak | Event::HardBreak => {
                    if depth > 0 || table.is_some() {
                        push(&mut line, " ", style(&styles));
                    } else {
                        lines.push(std::mem::take(&mut line));
                    }
                }
                _ => {}
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        if !lines.is_empty() {
            doc.blocks.push(Block::Para(lines));
        }
        doc
    }

    /// The document as lines for a terminal `width` columns wide: blocks apart by a
    /// blank line, text wrapped at words, a table as columns when it fits and one
    /// record per line when it does not.
    pub fn lines(&self, width: usize) -> Vec<Line> {
        let width = width.max(10);
        let mut out: Vec<Line> = Vec::new();
        for block in &self.blocks {
            if !out.is_empty() {
                out.push(Vec::new());
            }
            match block {
                Block::Heading(line) => out.extend(wrap(line, width, "")),
                Block::Para(lines) => {
                    for line in lines {
                        out.extend(wrap(line, width, ""));
                    }
                }
                Block::List(items) => {
                    for item in items {
                        let mut line = vec![Span::new("• ", Style::Dim)];
                        line.extend(item.iter().cloned());
                        out.extend(wrap(&line, width, "  "));
                    }
                }
                Block::Fields(fields) => {
                    for (name, value) in fields {
                        let line = vec![
                            Span::new(&format!("{name}: "), Style::Dim),
                            Span::new(value, Style::Plain),
                        ];
                        out.extend(wrap(&line, width, "  "));
                    }
                }
                Block::Table { head, rows } => out.extend(table_lines(head, rows, width)),
            }
        }
        out
    }

    /// The document as plain text lines (bold and the like dropped).
    pub fn text_lines(&self, width: usize) -> Vec<String> {
        self.lines(width)
            .iter()
            .map(|line| {
                line.iter()
                    .map(|s| s.text.as_str())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    /// The document as HTML, every text escaped.
    pub fn html(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Heading(line) => {
                    let _ = write!(out, "<h3>{}</h3>", spans_html(line));
                }
                Block::Para(lines) => {
                    let lines: Vec<String> = lines.iter().map(|l| spans_html(l)).collect();
                    let _ = write!(out, "<p>{}</p>", lines.join("<br>"));
                }
                Block::List(items) => {
                    out.push_str("<ul>");
                    for item in items {
                        let _ = write!(out, "<li>{}</li>", spans_html(item));
                    }
                    out.push_str("</ul>");
                }
                Block::Fields(fields) => {
                    out.push_str("<dl class=\"fields\">");
                    for (name, value) in fields {
                        let _ = write!(
                            out,
                            "<div><dt>{}:</dt> <dd>{}</dd></div>",
                            esc(name),
                            esc(value)
                        );
                    }
                    out.push_str("</dl>");
                }
                Block::Table { head, rows } => {
                    out.push_str("<div class=\"table-scroll\"><table><thead><tr>");
                    for name in head {
                        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(name));
                    }
                    out.push_str("</tr></thead><tbody>");
                    for row in rows {
                        out.push_str("<tr>");
                        for cell in row {
                            let _ = write!(out, "<td>{}</td>", esc(cell));
                        }
                        out.push_str("</tr>");
                    }
                    out.push_str("</tbody></table></div>");
                }
            }
        }
        out
    }
}

fn esc(text: &str) -> String {
    minijinja::HtmlEscape(text).to_string()
}

fn spans_html(line: &[Span]) -> String {
    line.iter()
        .map(|span| {
            let text = esc(&span.text);
            match span.style {
                Style::Plain => text,
                Style::Strong => format!("<strong>{text}</strong>"),
                Style::Emph => format!("<em>{text}</em>"),
                Style::Code => format!("<code>{text}</code>"),
                Style::Dim => format!("<span class=\"muted\">{text}</span>"),
                Style::Warn => format!("<strong class=\"conflict\">{text}</strong>"),
            }
        })
        .collect()
}

/// A key as a person reads it: `max_cpc` → `Max cpc`; a key already written for
/// people (`Campaign Status`) as it is.
fn label(key: &str) -> String {
    if key.contains(' ') || key.chars().any(char::is_uppercase) {
        return key.to_string();
    }
    let spaced = key.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// A scalar as text; `None` for objects, lists and text over several lines.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.contains('\n') => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("yes".into()),
        Value::Bool(false) => Some("no".into()),
        Value::Null => Some("none".into()),
        _ => None,
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    crate::terminal::shorten(&text, 200)
}

/// Wraps spans at spaces to `width` columns; lines after the first start with
/// `indent`. A word longer than a line is cut.
pub fn wrap(line: &[Span], width: usize, indent: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut current: Line = Vec::new();
    let mut used = 0usize;
    let push = |current: &mut Line, text: &str, style: Style| {
        if let Some(last) = current.last_mut().filter(|s| s.style == style) {
            last.text.push_str(text);
        } else {
            current.push(Span {
                text: text.to_string(),
                style,
            });
        }
    };
    for span in line {
        // Words with the spaces before them, so that spacing is kept.
        let mut rest = span.text.as_str();
        while !rest.is_empty() {
            let start = rest.len() - rest.trim_start_matches(' ').len();
            let end = rest[start..].find(' ').map_or(rest.len(), |i| start + i);
            let (piece, tail) = rest.split_at(end);
            rest = tail;
            let mut piece = piece;
            loop {
                let w = display_width(piece);
                if used + w <= width {
                    push(&mut current, piece, span.style);
                    used += w;
                    break;
                }
                if used > display_width(indent) {
                    out.push(std::mem::take(&mut current));
                    current.push(Span {
                        text: indent.to_string(),
                        style: Style::Plain,
                    });
                    used = display_width(indent);
                    piece = piece.trim_start_matches(' ');
                    continue;
                }
                // A word wider than the line: cut it where it fills the line.
                let room = width.saturating_sub(used).max(1);
                let mut cut = 0;
                let mut cols = 0;
                for (i, c) in piece.char_indices() {
                    let cw = display_width(c.encode_utf8(&mut [0; 4]));
                    if cols + cw > room {
                        break;
                    }
                    cols += cw;
                    cut = i + c.len_utf8();
                }
                let cut = cut.max(piece.chars().next().map_or(1, char::len_utf8));
                push(&mut current, &piece[..cut], span.style);
                used += cols;
                piece = &piece[cut..];
                if piece.is_empty() {
                    break;
                }
                out.push(std::mem::take(&mut current));
                current.push(Span {
                    text: indent.to_string(),
                    style: Style::Plain,
                });
                used = display_width(indent);
            }
        }
    }
    out.push(current);
    out
}

fn table_lines(head: &[String], rows: &[Vec<String>], width: usize) -> Vec<Line> {
    let columns = head.len();
    let mut widths: Vec<usize> = head.iter().map(|h| display_width(h)).collect();
    for row in rows {
        for (c, cell) in row.iter().enumerate().take(columns) {
            widths[c] = widths[c].max(display_width(cell));
        }
    }
    let total: usize = widths.iter().sum::<usize>() + 2 * columns.saturating_sub(1);
    let mut out = Vec::new();
    if total <= width {
        let row_line = |cells: &[String], style: Style| -> Line {
            let mut text = String::new();
            for (c, cell) in cells.iter().enumerate().take(columns) {
                if c > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if c + 1 < columns {
                    text.push_str(&" ".repeat(widths[c] - display_width(cell)));
                }
            }
            vec![Span { text, style }]
        };
        out.push(row_line(head, Style::Strong));
        for row in rows {
            out.push(row_line(row, Style::Plain));
        }
        return out;
    }
    // Too wide for columns: one record per line, each value named.
    for row in rows {
        let mut line = vec![Span::new("• ", Style::Dim)];
        for (c, cell) in row.iter().enumerate().take(columns) {
            if cell.is_empty() {
                continue;
            }
            if line.len() > 1 {
                line.push(Span::new(" · ", Style::Dim));
            }
            line.push(Span::new(&format!("{}: ", head[c]), Style::Dim));
            line.push(Span::new(cell, Style::Plain));
        }
        out.extend(wrap(&line, width, "  "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_email_reads_as_an_email_whole() {
        let doc = Doc::of_value(&json!({
            "to": "ana@example.com",
            "subject": "Next steps",
            "body": "Hi Ana,\n\nThanks for the call.\nTalk soon,\nSam",
        }));
        let text = doc.text_lines(80).join("\n");
        assert_eq!(
            text,
            "To: ana@example.com\nSubject: Next steps\n\nHi Ana,\n\nThanks for the call.\nTalk soon,\nSam"
        );
    }

    #[test]
    fn change_rows_are_a_table_with_shared_columns_said_once_and_before_after() {
        let doc = Doc::of_value(&json!({
            "action": "Lower two bids",
            "changes": [
                {"Campaign": "Brand", "Keyword": "boots", "Max CPC": "0.90", "before": {"Max CPC": "1.20"}},
                {"Campaign": "Brand", "Keyword": "shoes", "Max CPC": "0.50"},
            ],
        }));
        let text = doc.text_lines(80).join("\n");
        assert!(
            text.starts_with("Lower two bids\n\nChanges\n\nCampaign: Brand\n\n"),
            "{text}"
        );
        assert!(text.contains("boots    1.20 → 0.90"), "{text}");
        assert!(text.contains("shoes    0.50"), "{text}");
        // Narrow: one record per line, nothing cut.
        let narrow = doc.text_lines(16);
        assert!(narrow.iter().all(|l| display_width(l) <= 16), "{narrow:?}");
        let words = narrow
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            words.contains("Keyword: boots · Max CPC: 1.20 → 0.90"),
            "{words}"
        );
    }

    #[test]
    fn markdown_views_keep_line_breaks_show_links_and_escape_html() {
        let doc = Doc::from_markdown(
            "# Pause **Brand**\nSpend: *$80*/day\nline two\n\n- one\n- [two](https://x.example)\n\n| a | b |\n|---|---|\n| 1 | <b>2</b> |\n",
        );
        let text = doc.text_lines(80).join("\n");
        assert_eq!(
            text,
            "Pause Brand\n\nSpend: $80/day\nline two\n\n• one\n• two (https://x.example)\n\na  b\n1  <b>2</b>"
        );
        let html = doc.html();
        assert!(
            html.contains("<h3><strong>Pause Brand</strong></h3>"),
            "{html}"
        );
        assert!(html.contains("<em>$80</em>"), "{html}");
        assert!(
            html.contains("<td>&lt;b&gt;2&lt;&#x2f;b&gt;</td>"),
            "{html}"
        );
    }

    #[test]
    fn long_words_and_lines_wrap_within_the_width_and_bidi_is_escaped() {
        let doc = Doc::of_value(&json!(format!("{} end \u{202e}txt.exe", "x".repeat(50))));
        let lines = doc.text_lines(20);
        assert!(lines.iter().all(|l| display_width(l) <= 20), "{lines:?}");
        assert!(lines.join("").contains("\\u{202e}"), "{lines:?}");
    }
}
