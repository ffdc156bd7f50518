//! `host focus`: the inbox one decision at a time, critical first, in a terminal
//! view (ratatui). Each key decides at once through the same engine call as
//! `host approve` and `host reject`, and the run continues before the next decision
//! is shown.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;

use baton_core::{DecisionId, DecisionOutcome, DecisionRecord, OnTimeout, RunId, Severity};
use baton_engine::{Decision, EngineError};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::{DefaultTerminal, Frame};
use serde_json::Value;

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::report::{choice_summary, glance};
use crate::terminal::{escape_control, say};
use crate::view::{self, Doc, Span as ViewSpan};
use baton_service::{Service, ServiceError};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Keys: Enter approves the default, 1-3 pick an alternative, e edits the value \
in $EDITOR (checked against the plugin's schema), r rejects (with an optional reason), s puts it off \
until the others are decided, v reads every choice whole, Space / Page Down and Page Up scroll a long \
decision, ? help, q quits.\n\nWithout a terminal, use `host inbox` and \
`host approve` / `host reject`."
)]
pub struct FocusArgs {}

pub async fn focus(global: &GlobalArgs, _args: FocusArgs) -> Result<Exit, Failure> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Failure::Usage(
            "host focus needs a terminal, and this is not one (piped or CI); list the pending \
             decisions with `host inbox` and decide with `host approve ID [--choice N | --edit FILE]` \
             or `host reject ID --reason TEXT`"
                .into(),
        ));
    }
    let service = match Access::open(global).await? {
        Access::Local(service) => *service,
        Access::Server(server) => {
            return Err(Failure::Usage(format!(
                "host serve ({}, pid {}) holds the state store; decide in its web inbox at {}, or stop it first",
                server.url, server.pid, server.url
            )));
        }
    }
    // The screen draws its own progress.
    .observe(None);
    let mut focus = Focus {
        service: &service,
        queue: Vec::new(),
        skipped: Vec::new(),
        decided: 0,
        last: None,
        problem: None,
        mode: Mode::Decide,
        drafts: BTreeMap::new(),
        earlier: Vec::new(),
        about: None,
        scroll: 0,
        room: Cell::new((0, 0)),
        suspended: Vec::new(),
        shown: None,
    };
    focus.reload()?;
    if focus.queue.is_empty() {
        for suspension in &focus.suspended {
            say!("AUTO-APPROVAL SUSPENDED: {}", suspension.message());
        }
        say!("no pending decisions or spot checks; `host inbox` lists them as they arrive");
        return Ok(Exit::Success);
    }
    // Load every workflow involved (once per run, once per file) before the screen
    // is taken, so that compiling messages are not drawn over it. One that does not
    // load says why when its decision is made.
    let runs: BTreeSet<RunId> = focus
        .queue
        .iter()
        .map(|d| d.request.id.run.clone())
        .collect();
    for run in &runs {
        if let Ok(state) = focus.service.run(run) {
            let _ = focus
                .service
                .workflow(std::path::Path::new(&state.workflow_path))
                .await;
        }
    }
    let mut terminal = ratatui::init();
    let result = focus.run(&mut terminal).await;
    ratatui::restore();
    result?;
    say!("focus: {}", focus.tally());
    Ok(Exit::Success)
}

#[derive(Clone, Debug, PartialEq)]
enum Mode {
    Decide,
    /// Typing a rejection reason.
    Reason(String),
    Help,
    /// Every choice read whole, the alternatives too.
    Full,
}

struct Focus<'a> {
    /// Keeps each workflow it loaded, so a decision does not load it again.
    service: &'a Service,
    /// Pending decisions, critical first, then oldest; the ones skipped in this
    /// session after the others, in the order they were skipped.
    queue: Vec<DecisionRecord>,
    /// Skipped in this session, oldest skip first: they come back after the others.
    skipped: Vec<DecisionId>,
    decided: usize,
    /// What the last decision did to its run.
    last: Option<String>,
    /// Why the last key did nothing (an invalid edit, a missing alternative).
    problem: Option<String>,
    mode: Mode,
    /// Edits that did not pass, kept so the operator fixes them instead of starting over.
    drafts: BTreeMap<DecisionId, String>,
    /// What earlier decisions of its run did to what the first decision touches.
    earlier: Vec<baton_core::Earlier>,
    /// What the first decision's run is about.
    about: Option<String>,
    /// How far the decision (or the full view) is scrolled, in lines.
    scroll: u16,
    /// The furthest it can scroll and a page's height, as last drawn.
    room: Cell<(u16, u16)>,
    /// Auto-approvals spot checks suspended: said above every decision.
    suspended: Vec<baton_core::Suspension>,
    /// The decision last recorded as shown, so it is recorded once.
    shown: Option<DecisionId>,
}

/// Whether `record` is a spot check (an auto-approved decision to review) rather
/// than a decision to make.
fn is_review(record: &DecisionRecord) -> bool {
    record.spot_check.is_some() && record.outcome.is_some()
}

impl Focus<'_> {
    /// Reads every pending decision from the store: the ones not skipped first, then
    /// the skipped ones, so that a skip puts a decision off rather than dropping it.
    fn reload(&mut self) -> Result<(), Failure> {
        let inbox = self.service.inbox()?;
        self.suspended = inbox.suspended;
        // Decisions first, then spot checks (they change nothing, so they wait).
        let (mut later, mut queue): (Vec<DecisionRecord>, Vec<DecisionRecord>) = inbox
            .pending
            .into_iter()
            .chain(inbox.spot_checks)
            .map(|(record, _)| record)
            .partition(|d| self.skipped.contains(&d.request.id));
        later.sort_by_key(|d| self.skipped.iter().position(|id| *id == d.request.id));
        queue.extend(later);
        // A decision on screen is shown: its wait ends, its handling starts.
        if let Some(first) = queue.first()
            && !is_review(first)
            && self.shown.as_ref() != Some(&first.request.id)
        {
            self.service
                .shown(&first.request.id, self.service.operator(), "focus");
            self.shown = Some(first.request.id.clone());
        }
        if queue.first().map(|d| &d.request.id) != self.queue.first().map(|d| &d.request.id) {
            self.scroll = 0;
        }
        self.queue = queue;
        let head = self
            .queue
            .first()
            .and_then(|first| Some((first, self.service.run(&first.request.id.run).ok()?)));
        (self.earlier, self.about) = match head {
            Some((first, state)) => (state.earlier_on(&first.request.id), state.about),
            None => (Vec::new(), None),
        };
        Ok(())
    }

    /// How many of the pending decisions were skipped in this session.
    fn put_off(&self) -> usize {
        self.queue
            .iter()
            .filter(|d| self.skipped.contains(&d.request.id))
            .count()
    }

    /// What the session did, in one line that agrees with itself.
    fn tally(&self) -> String {
        let left = self.queue.len();
        let put_off = self.put_off();
        match (left, put_off) {
            (0, _) => format!("{} decided; nothing left to decide", self.decided),
            (_, 0) => format!(
                "{} decided; {left} still pending (host inbox)",
                self.decided
            ),
            _ => format!(
                "{} decided; {left} still pending, {put_off} of them skipped (host inbox)",
                self.decided
            ),
        }
    }

    async fn run(&mut self, terminal: &mut DefaultTerminal) -> Result<(), Failure> {
        loop {
            terminal
                .draw(|frame| self.draw(frame))
                .map_err(|e| Failure::Host(format!("cannot draw on the terminal: {e}")))?;
            let Event::Key(key) =
                event::read().map_err(|e| Failure::Host(format!("cannot read a key: {e}")))?
            else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
                return Ok(());
            }
            match self.mode.clone() {
                Mode::Help => self.mode = Mode::Decide,
                Mode::Full => {
                    if !self.scrolled(key.code) {
                        self.mode = Mode::Decide;
                        self.scroll = 0;
                    }
                }
                Mode::Reason(mut text) => match key.code {
                    KeyCode::Esc => self.mode = Mode::Decide,
                    KeyCode::Enter => {
                        self.mode = Mode::Decide;
                        let reason = Some(text.trim().to_string()).filter(|r| !r.is_empty());
                        self.decide(Decision::Reject { reason }, "rejected").await?;
                    }
                    KeyCode::Backspace => {
                        text.pop();
                        self.mode = Mode::Reason(text);
                    }
                    KeyCode::Char(c) => {
                        text.push(c);
                        self.mode = Mode::Reason(text);
                    }
                    _ => self.mode = Mode::Reason(text),
                },
                Mode::Decide => {
                    if self.queue.is_empty() {
                        if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                            return Ok(());
                        }
                        continue;
                    }
                    self.problem = None;
                    if self.scrolled(key.code) {
                        continue;
                    }
                    match key.code {
                        KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                        KeyCode::Enter => {
                            self.decide(Decision::Approve { choice: 0 }, "approved")
                                .await?
                        }
                        KeyCode::Char(c @ '1'..='3') => {
                            let choice = c as usize - '0' as usize;
                            if choice < self.queue[0].request.choices.len() {
                                self.decide(Decision::Approve { choice }, "approved alternative")
                                    .await?;
                            } else {
                                self.problem = Some(format!(
                                    "there is no alternative {choice}; this decision has {}",
                                    self.queue[0].request.choices.len() - 1
                                ));
                            }
                        }
                        KeyCode::Char('e') => self.edit(terminal).await?,
                        KeyCode::Char('r') => self.mode = Mode::Reason(String::new()),
                        KeyCode::Char('s') => {
                            let id = self.queue[0].request.id.clone();
                            self.last =
                                Some(format!("skipped {id}; it comes back after the others"));
                            self.skipped.retain(|skipped| *skipped != id);
                            self.skipped.push(id);
                            self.reload()?;
                        }
                        KeyCode::Char('v') => {
                            self.mode = Mode::Full;
                            self.scroll = 0;
                        }
                        KeyCode::Char('?') => self.mode = Mode::Help,
                        _ => {}
                    }
                }
            }
        }
    }

    /// Scrolls for the paging keys (Space and Page Down a page on, Page Up or `b` a
    /// page back, arrows and j/k a line, Home the top); false for any other key.
    fn scrolled(&mut self, code: KeyCode) -> bool {
        let (most, page) = self.room.get();
        let page = page.saturating_sub(1).max(1);
        let to = match code {
            KeyCode::Char(' ') | KeyCode::PageDown => self.scroll.saturating_add(page),
            KeyCode::PageUp | KeyCode::Char('b') => self.scroll.saturating_sub(page),
            KeyCode::Down | KeyCode::Char('j') => self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll.saturating_sub(1),
            KeyCode::Home => 0,
            KeyCode::End => most,
            _ => return false,
        };
        self.scroll = to.min(most);
        true
    }

    /// Decides the current decision; the run continues at once, and the line says
    /// where it went. A refusal (an invalid edit, a decision made elsewhere) is shown
    /// and nothing is recorded.
    async fn decide(&mut self, decision: Decision, verb: &str) -> Result<(), Failure> {
        let id = self.queue[0].request.id.clone();
        if is_review(&self.queue[0]) {
            return self.answer_spot_check(decision).await;
        }
        let decided = self
            .service
            .decide(&id, decision, self.service.operator(), false)
            .await;
        match decided.map(|acted| acted.outcome) {
            Ok(outcome) => {
                self.decided += 1;
                self.drafts.remove(&id);
                self.last = Some(
                    crate::report::decided_line(&outcome.state, &id)
                        .unwrap_or_else(|| format!("{verb} {id}")),
                );
            }
            Err(ServiceError::Engine(EngineError::InvalidEdit { reason })) => {
                self.problem = Some(format!(
                    "the edit does not match the plugin's schema: {}; press e to fix it",
                    escape_control(&reason)
                ));
            }
            Err(refused @ ServiceError::ChangedCode { .. }) => {
                self.problem = Some(format!(
                    "{refused}; continue it with host approve or host reject --allow-changed, or press s to skip it here"
                ));
            }
            Err(ServiceError::Invalid(problem)) => {
                self.problem = Some(format!("{problem}; press s to skip it here"));
            }
            Err(other) => self.problem = Some(crate::exit::failure(other).to_string()),
        }
        self.reload()
    }

    /// Answers the spot check on screen with what the operator would have decided.
    async fn answer_spot_check(&mut self, decision: Decision) -> Result<(), Failure> {
        let id = self.queue[0].request.id.clone();
        let (would, note) = match decision {
            Decision::Approve { choice } => (DecisionOutcome::Approved { choice }, None),
            Decision::Edit { value } => (DecisionOutcome::Edited { value }, None),
            Decision::Reject { reason } => (
                DecisionOutcome::Rejected {
                    reason: reason.clone(),
                },
                reason,
            ),
        };
        let answer = baton_core::SpotCheckAnswer { would, note };
        let agrees = answer.agrees();
        match self
            .service
            .spot_check(&id, answer, self.service.operator())
        {
            Ok(checked) => {
                self.decided += 1;
                self.drafts.remove(&id);
                self.last = Some(match &checked.suspended {
                    Some(suspension) => {
                        crate::serve::notify_suspension(self.service, suspension, None).await;
                        suspension.message()
                    }
                    None if agrees => format!("spot check of {id}: you agree; recorded"),
                    None => format!(
                        "spot check of {id}: you would have decided otherwise; recorded (it changes nothing the run did)"
                    ),
                });
            }
            Err(other) => self.problem = Some(crate::exit::failure(other).to_string()),
        }
        self.reload()
    }

    /// Opens the value (or the last draft that did not pass) in `$VISUAL` / `$EDITOR`,
    /// then approves the edit if it parses and matches the schema.
    async fn edit(&mut self, terminal: &mut DefaultTerminal) -> Result<(), Failure> {
        let record = &self.queue[0];
        if !record.request.editable {
            self.problem = Some("this gate does not allow edits (edit = false)".into());
            return Ok(());
        }
        let id = record.request.id.clone();
        let default = record.request.choices.first().unwrap_or(&Value::Null);
        let original = plain::write(default);
        let start = self.drafts.get(&id).cloned().unwrap_or(original.clone());
        let edited = run_editor(terminal, &start, plain::suffix(default))?;
        if edited.trim() == original.trim() {
            self.last = Some("the edit changed nothing; nothing decided".into());
            return Ok(());
        }
        match plain::read(default, &edited) {
            Ok(value) => {
                self.drafts.insert(id, edited);
                self.decide(Decision::Edit { value }, "approved your edit of")
                    .await
            }
            Err(e) => {
                self.problem = Some(format!("{e}; press e to fix it"));
                self.drafts.insert(id, edited);
                Ok(())
            }
        }
    }

    fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let [header, body, status, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(5),
            Constraint::Length(3),
            Constraint::Length(1),
        ])
        .areas(area);
        let done = self.decided;
        let total = done + self.queue.len();
        let mut position = if self.queue.is_empty() {
            format!("{total} of {total}")
        } else {
            format!("{} of {total}", done + 1)
        };
        match self.put_off() {
            0 => {}
            put_off => position.push_str(&format!(" ({put_off} skipped, for later)")),
        }
        let mut top = vec![
            " Baton focus ".bold().reversed(),
            Span::raw(format!("  {position}")),
        ];
        if let Some(suspension) = self.suspended.first() {
            top.push(Span::raw("  "));
            top.push(
                format!(
                    " AUTO-APPROVAL SUSPENDED: {} ({} of {} spot checks agreed) ",
                    escape_control(&suspension.what()),
                    suspension.agreed,
                    suspension.checked
                )
                .fg(Color::Red)
                .bold(),
            );
        }
        frame.render_widget(Line::from(top), header);
        let width = body.width.saturating_sub(1) as usize;
        let content = match (self.queue.first(), &self.mode) {
            (None, _) => vec![
                Line::from(""),
                Line::from("Inbox empty: nothing waits for you.".bold()),
                Line::from(format!("{}. Press q to quit.", self.tally())),
            ],
            (Some(record), Mode::Full) => every_choice(record, width),
            (Some(record), _) => self.decision(record, width),
        };
        let most = (content.len() as u16).saturating_sub(body.height);
        self.room.set((most, body.height));
        let scroll = self.scroll.min(most);
        let more = match (scroll > 0, scroll < most) {
            (_, true) => Some(format!(
                " more below: Space/PgDn · {} of {} lines ",
                scroll + body.height,
                content.len()
            )),
            (true, false) => Some(" end · PgUp/b back ".to_string()),
            _ => None,
        };
        frame.render_widget(Paragraph::new(content).scroll((scroll, 0)), body);
        if let Some(more) = more {
            let [_, corner] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(body);
            let tag = Line::from(more).reversed().right_aligned();
            frame.render_widget(tag, corner);
        }
        let mut lines = Vec::new();
        if let Some(last) = &self.last {
            lines.push(Line::from(escape_control(last).into_owned()).fg(Color::Green));
        }
        if let Some(problem) = &self.problem {
            lines.push(Line::from(escape_control(problem).into_owned()).fg(Color::Red));
        }
        if let Mode::Reason(text) = &self.mode {
            let verb = match self.queue.first() {
                Some(record) if is_review(record) => {
                    "You would have rejected it. Why (optional), Enter to record"
                }
                _ => "Reject. Reason (optional), Enter to reject",
            };
            lines.push(Line::from(format!("{verb}, Esc to cancel: {text}")));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), status);
        let keys = match self.queue.first() {
            Some(record) if is_review(record) => {
                "SPOT CHECK: Enter agree  1-3 I'd have chosen it  r I'd have rejected  s skip  v every choice  q quit"
            }
            _ => {
                "Enter approve  1-3 alternative  e edit  r reject  s skip  v every choice  Space more  ? help  q quit"
            }
        };
        frame.render_widget(Line::from(keys).dim(), footer);
        if self.mode == Mode::Help {
            frame.render_widget(Clear, body);
            frame.render_widget(help(), body);
        }
    }

    /// The decision as lines `width` wide: what it is and why, the workflow's context,
    /// the default read whole (an email, every change row), and the alternatives.
    fn decision(&self, record: &DecisionRecord, width: usize) -> Vec<Line<'static>> {
        let request = &record.request;
        let severity = request.severity;
        let color = severity_color(severity);
        let mut lines = vec![Line::from("")];
        if is_review(record) {
            let ago = record
                .decided_at
                .map(|at| {
                    let now = baton_core::Clock::now(self.service.clock());
                    format!(" {} ago", crate::report::wait_time(now.saturating_sub(at)))
                })
                .unwrap_or_default();
            let head = [ViewSpan::new(
                &format!(
                    "SPOT CHECK: auto-approved{ago}{}. Agree, or what would you have done? A review changes nothing by itself.",
                    request
                        .kind
                        .as_deref()
                        .map(|k| format!(" (kind {k})"))
                        .unwrap_or_default()
                ),
                view::Style::Warn,
            )];
            lines.extend(view::wrap(&head, width, "").into_iter().map(styled));
            lines.push(Line::from(""));
        }
        let title = vec![
            ViewSpan::new(&format!("[{}] ", severity.as_str()), view::Style::Strong),
            ViewSpan::new(&request.title, view::Style::Strong),
        ];
        for (n, line) in view::wrap(&title, width, "").into_iter().enumerate() {
            let mut line = styled(line);
            if n == 0
                && let Some(first) = line.spans.first_mut()
            {
                first.style = first.style.fg(color);
            }
            lines.push(line);
        }
        if !request.reason.is_empty() {
            let reason = [ViewSpan::new(&request.reason, view::Style::Plain)];
            lines.extend(view::wrap(&reason, width, "").into_iter().map(styled));
        }
        let about = match &self.about {
            Some(about) => format!("{} · {}", escape_control(about), request.id),
            None => request.id.to_string(),
        };
        lines.push(Line::from(about).dim());
        if let Some(context) = &request.context {
            lines.push(Line::from(""));
            lines.extend(glance(context).into_iter().map(Line::from));
        }
        if !self.earlier.is_empty() {
            lines.push(Line::from(""));
            for line in crate::report::earlier_lines(&self.earlier) {
                let line = [ViewSpan::new(&format!("! {line}"), view::Style::Warn)];
                lines.extend(view::wrap(&line, width, "  ").into_iter().map(styled));
            }
        }
        let note = |index: usize| {
            crate::report::conflict_note(&self.earlier, index)
                .map(|note| ViewSpan::new(&format!("  [! {note}]"), view::Style::Warn))
        };
        lines.push(Line::from(""));
        let mut head = vec![ViewSpan::new(
            if is_review(record) {
                "  Enter  agrees with what was approved (the default):"
            } else {
                "  Enter  approves the default:"
            },
            view::Style::Strong,
        )];
        head.extend(note(0));
        lines.extend(
            view::wrap(&head, width, "         ")
                .into_iter()
                .map(styled),
        );
        lines.extend(indented(&Doc::for_choice(request, 0), width));
        if request.choices.len() > 1 {
            lines.push(Line::from(""));
            lines.push(Line::from("  Alternatives (v reads them whole):").dim());
        }
        for (index, choice) in request.choices.iter().enumerate().skip(1) {
            let mut line = vec![
                ViewSpan::new(&format!("  {index:>5}  "), view::Style::Strong),
                ViewSpan::new(&choice_summary(choice), view::Style::Plain),
            ];
            line.extend(note(index));
            lines.extend(
                view::wrap(&line, width, "         ")
                    .into_iter()
                    .map(styled),
            );
        }
        if let Some(expires) = request.expires_at.filter(|_| !is_review(record)) {
            lines.push(Line::from(""));
            lines.push(
                Line::from(format!(
                    "expires {}; then {}",
                    baton_engine::format_time(expires),
                    match request.on_timeout {
                        OnTimeout::Reject => "it is rejected",
                        OnTimeout::ApproveDefault => "the default is approved",
                    }
                ))
                .dim(),
            );
        }
        lines
    }
}

fn severity_color(severity: Severity) -> Color {
    match severity {
        Severity::Critical => Color::Red,
        Severity::High => Color::Yellow,
        Severity::Monitor => Color::Cyan,
        Severity::Info => Color::Gray,
    }
}

/// A view's line in the terminal's styles.
fn styled(line: view::Line) -> Line<'static> {
    Line::from(
        line.into_iter()
            .map(|span| {
                let style = match span.style {
                    view::Style::Plain => Style::new(),
                    view::Style::Strong => Style::new().add_modifier(Modifier::BOLD),
                    view::Style::Emph => Style::new().add_modifier(Modifier::ITALIC),
                    view::Style::Code => Style::new().fg(Color::Cyan),
                    view::Style::Dim => Style::new().add_modifier(Modifier::DIM),
                    view::Style::Warn => Style::new().fg(Color::Yellow),
                };
                Span::styled(span.text, style)
            })
            .collect::<Vec<_>>(),
    )
}

/// A document drawn nine columns in, under its key.
fn indented(doc: &Doc, width: usize) -> Vec<Line<'static>> {
    const INDENT: usize = 9;
    doc.lines(width.saturating_sub(INDENT))
        .into_iter()
        .map(|line| {
            let mut line = styled(line);
            line.spans.insert(0, Span::raw(" ".repeat(INDENT)));
            line
        })
        .collect()
}

/// Every choice read whole, the default first, each under the key that approves it.
fn every_choice(record: &DecisionRecord, width: usize) -> Vec<Line<'static>> {
    let request = &record.request;
    let mut lines = vec![
        Line::from(" Every choice, read whole: Space/PgDn for more, any other key to go back ")
            .reversed(),
    ];
    for index in 0..request.choices.len() {
        lines.push(Line::from(""));
        let head = if index == 0 {
            "  Enter  approves the default:".to_string()
        } else {
            format!("  {index:>5}  approves alternative {index}:")
        };
        lines.push(Line::from(head).bold());
        lines.extend(indented(&Doc::for_choice(request, index), width));
    }
    lines
}

fn help() -> Paragraph<'static> {
    Paragraph::new(vec![
        Line::from("Enter   approve the default (the run continues at once)"),
        Line::from("1-3     approve that alternative instead"),
        Line::from("e       edit the value in $EDITOR; it must match the plugin's schema"),
        Line::from("r       reject, with an optional reason"),
        Line::from("s       skip for now: it comes back after the others"),
        Line::from("v       every choice read whole, the alternatives too"),
        Line::from("Space   a page further (PgDn); PgUp or b a page back; arrows a line"),
        Line::from("q       quit"),
        Line::from(""),
        Line::from("Decisions come critical first, then oldest. Press any key."),
    ])
    .block(Block::default().borders(Borders::ALL).title(" help "))
}

/// A value as plain text to edit: a record as TOML (each field on its own line, text
/// over several lines between `"""`), text as itself, anything else as JSON. Never
/// escaped JSON for the things people write.
mod plain {
    use serde_json::Value;

    const HEADER: &str = "# Edit the fields below and save to approve your version; quit without saving\n\
# to change nothing. Text over several lines sits between triple quotes (\"\"\").\n\
# It is checked against the plugin's schema before anything is recorded.\n\n";

    pub fn suffix(value: &Value) -> &'static str {
        match value {
            Value::Object(_) => ".toml",
            Value::String(_) => ".txt",
            _ => ".json",
        }
    }

    pub fn write(value: &Value) -> String {
        match value {
            Value::Object(_) => match toml::to_string_pretty(&without_nulls(value)) {
                Ok(text) => format!("{HEADER}{text}"),
                Err(_) => serde_json::to_string_pretty(value).unwrap_or_default(),
            },
            Value::String(text) => text.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        }
    }

    /// What the operator saved, as the value's kind: TOML for a record, the text for
    /// text, JSON otherwise.
    pub fn read(original: &Value, text: &str) -> Result<Value, String> {
        match original {
            Value::Object(_) => {
                let table: toml::Table = toml::from_str(text)
                    .map_err(|e| format!("the edit is not valid TOML: {}", e.to_string().trim()))?;
                serde_json::to_value(table).map_err(|e| format!("the edit cannot be read: {e}"))
            }
            Value::String(_) => Ok(Value::String(text.trim_end_matches('\n').to_string())),
            _ => serde_json::from_str(text).map_err(|e| {
                format!(
                    "the edit is not JSON (line {}, column {}: {e})",
                    e.line(),
                    e.column()
                )
            }),
        }
    }

    /// TOML has no null: a field without a value is left out.
    fn without_nulls(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(without_nulls)
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        #[test]
        fn an_email_is_edited_as_plain_fields_and_read_back_whole() {
            let email = json!({"to": "ana@example.com", "subject": "Next steps", "body": "Hi Ana,\n\nThanks \"for\" the call.\nSam"});
            let text = write(&email);
            assert!(text.contains("subject = \"Next steps\""), "{text}");
            assert!(text.contains("Hi Ana,\n\nThanks"), "{text}");
            assert!(!text.contains("\\n"), "{text}");
            assert_eq!(read(&email, &text).unwrap(), email);
            let rows =
                json!({"action": "Pause", "changes": [{"Campaign": "A", "Max CPC": "0.90"}]});
            assert_eq!(read(&rows, &write(&rows)).unwrap(), rows);
            assert!(read(&rows, "action = ").unwrap_err().contains("line 1"));
        }
    }
}

/// Leaves the screen, lets the operator edit `text` in `$VISUAL` / `$EDITOR` (default
/// `vi`), and takes the screen back; returns what they saved.
fn run_editor(terminal: &mut DefaultTerminal, text: &str, suffix: &str) -> Result<String, Failure> {
    let host = |e: std::io::Error| Failure::Host(format!("cannot open the editor: {e}"));
    let file = tempfile::Builder::new()
        .prefix("baton-edit-")
        .suffix(suffix)
        .tempfile()
        .map_err(host)?;
    std::fs::write(file.path(), text).map_err(host)?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    disable_raw_mode().map_err(host)?;
    ratatui::crossterm::execute!(std::io::stdout(), LeaveAlternateScreen).map_err(host)?;
    let status = std::process::Command::new(program)
        .args(words)
        .arg(file.path())
        .status();
    enable_raw_mode().map_err(host)?;
    ratatui::crossterm::execute!(std::io::stdout(), EnterAlternateScreen).map_err(host)?;
    terminal.clear().map_err(host)?;
    match status {
        Ok(status) if status.success() => std::fs::read_to_string(file.path()).map_err(host),
        Ok(status) => Err(Failure::Usage(format!(
            "the editor {editor:?} exited with {status}; nothing decided"
        ))),
        Err(e) => Err(Failure::Usage(format!(
            "cannot start the editor {editor:?} (set EDITOR): {e}"
        ))),
    }
}
