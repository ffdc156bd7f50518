//! `host serve` in a real browser: Debian's chromium, headless, driven through
//! chromedriver (WebDriver) with fantoccini. The server is the real `host` binary on
//! a real store; runs are started with the real CLI, which goes through the server.
//! Screenshots of the pages land in `target/screenshots/` (the README's are copies).

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use baton_tests::model_server::{ModelServer, Reply};
use baton_tests::{Scratch, http};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Score the leads, draft three emails for the top one, decide, queue the one chosen.
pub(crate) const REVIEW: &str = r##"
name = "web-review"
summary = "{{ steps.score.output.top.lead.contact }} at {{ steps.score.output.top.lead.company }}"
[plugins.scorer]
source = "{scorer}"
[plugins.drafter]
source = "{drafter}"
[plugins.outbox]
source = "{outbox}"

[[steps]]
id = "score"
uses = "scorer"
input = "{{ input }}"

[[steps]]
id = "draft"
uses = "drafter"
input = { lead = "{{ steps.score.output.top }}" }

[[steps]]
id = "review"
approve = "draft"
title = "Follow up with {{ steps.score.output.top.lead.contact }}?"
reason = "Score {{ steps.score.output.top.score }}: {{ steps.score.output.top.reason }}"
severity = "high"
choices = "steps.draft.output.variants"
context = { drafted = "{{ steps.draft.output.drafted_by }}" }
edit_schema = "#/$defs/email"

[[steps]]
id = "queue"
uses = "outbox"
input = { email = "{{ steps.review.output }}" }
"##;

const WAITING: i32 = 3;

/// A running `host serve`, stopped (SIGTERM, then waited for) when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) url: String,
}

impl Served {
    pub(crate) fn start(scratch: &Scratch) -> Served {
        let mut child = scratch
            .command(&["serve", "--bind", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start host serve");
        let url = baton_tests::served_url(&mut child);
        Served { child, url }
    }

    /// Kills the server as a crash or the OOM killer would (SIGKILL), and waits.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }

    /// Stops the server as Ctrl-C would, and waits for it.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        terminate(&self.child);
        let status = self.child.wait().expect("wait for host serve");
        std::mem::forget(self);
        status
    }
}

/// SIGTERM, as a service manager stops it.
fn terminate(child: &Child) {
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
}

impl Drop for Served {
    fn drop(&mut self) {
        terminate(&self.child);
        let _ = self.child.wait();
    }
}

/// The generated operator token `host serve` keeps in the state directory.
fn generated_token(scratch: &Scratch) -> String {
    std::fs::read_to_string(scratch.state_dir().join("serve-token"))
        .expect("host serve kept its generated token")
        .trim()
        .to_string()
}

/// The screen a browser test looks through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Screen {
    /// A 420 px window.
    Narrow,
    /// Chromium's emulation of a 390x844 touch phone.
    Phone,
    /// A 1280 px desktop window.
    Desktop,
}

/// chromedriver and a headless chromium session, at phone width.
struct Browser {
    driver: Child,
    client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        Browser::start_as(Screen::Narrow).await
    }

    /// A browser on `screen`.
    async fn start_as(screen: Screen) -> Browser {
        let port = free_port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "start chromedriver: install Debian's chromium and chromium-driver (.ci/run does)",
            );
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic",
                match screen {
                    Screen::Desktop => "--window-size=1280,900",
                    Screen::Narrow | Screen::Phone => "--window-size=420,900",
                },
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if screen == Screen::Phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
            });
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver gave no session: {e}"),
            }
        };
        Browser {
            driver,
            client,
            _profile: profile,
        }
    }

    /// A browser signed in to `served` with the generated token.
    async fn signed_in(served: &Served, scratch: &Scratch) -> Browser {
        let browser = Browser::start().await;
        browser
            .sign_in(&served.url, &generated_token(scratch))
            .await;
        browser
    }

    async fn sign_in(&self, url: &str, token: &str) {
        self.client
            .goto(&format!("{url}/login?token={token}"))
            .await
            .unwrap();
    }

    async fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client.perform_actions(keys).await.unwrap();
    }

    async fn press_with_ctrl(&self, key: char) {
        let ctrl = char::from(Key::Control);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: ctrl })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up { value: ctrl });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// An element's text as written (not as styled), spaces collapsed.
    async fn text(&self, css: &str) -> String {
        self.wait(css).await;
        let text = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .prop("textContent")
            .await
            .unwrap()
            .unwrap_or_default();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The text a person sees in an element: it is displayed, its top is inside the
    /// window, and the text is as rendered (hidden parts left out).
    async fn seen(&self, css: &str) -> String {
        self.wait(css).await;
        let element = self.client.find(Locator::Css(css)).await.unwrap();
        assert!(
            element.is_displayed().await.unwrap(),
            "{css} is on the page but not displayed"
        );
        let on_screen = self
            .client
            .execute(
                "const r = document.querySelector(arguments[0]).getBoundingClientRect();
                 return r.height > 0 && r.top >= 0 && r.top < window.innerHeight;",
                vec![json!(css)],
            )
            .await
            .unwrap();
        assert_eq!(on_screen, json!(true), "{css} is outside the window");
        let text = element.text().await.unwrap();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Waits (up to 15 s) until `css`'s text is `text`: the page a click or a key
    /// asked for has replaced the one before.
    async fn until_text(&self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            let now = self
                .client
                .execute(
                    "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;",
                    vec![json!(css)],
                )
                .await
                .unwrap_or(Value::Null);
            if now == json!(text) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{css} never read {text:?}; it reads {now}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many of the elements `css` selects the browser renders (not hidden by
    /// `display`, `visibility`, a closed disclosure or an ancestor).
    async fn shown(&self, css: &str) -> u64 {
        self.client
            .execute(
                "return [...document.querySelectorAll(arguments[0])].filter(e => e.checkVisibility()).length;",
                vec![json!(css)],
            )
            .await
            .unwrap()
            .as_u64()
            .unwrap()
    }

    /// Waits (up to 15 s) for an element to be on the page.
    async fn wait(&self, css: &str) {
        let started = Instant::now();
        while self.client.find(Locator::Css(css)).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no {css} on the page after 15 s; it shows:\n{}",
                self.client.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves what the browser shows as `target/screenshots/NAME`; with
    /// `BATON_UPDATE_DOCS=1`, as `docs/NAME` too (the pictures the docs show).
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = baton_tests::target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), &png).unwrap();
        if std::env::var_os("BATON_UPDATE_DOCS").is_some() {
            std::fs::write(baton_tests::workspace_root().join("docs").join(name), &png).unwrap();
        }
    }

    async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    /// chromedriver ends the browser it started; a failed test leaves neither behind.
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // The browser outlives a killed chromedriver: end it by its own profile.
        let _ = std::process::Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self._profile.path().display()))
            .status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scratch with the review workflow, and `host serve` running on it.
fn served() -> (Scratch, PathBuf, Served) {
    let scratch = Scratch::new();
    let workflow = scratch.workflow("review.toml", REVIEW);
    let served = Served::start(&scratch);
    (scratch, workflow, served)
}

/// Starts a run through the server with `host run`; returns its id.
fn start_run(scratch: &Scratch, workflow: &std::path::Path) -> String {
    let leads = baton_tests::workspace_root().join("examples/leads.json");
    let out = scratch
        .host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            leads.to_str().unwrap(),
            "--json",
        ])
        .expect_code(WAITING)
        .stderr_has("through host serve at")
        .json();
    out["run"].as_str().unwrap().to_string()
}

fn show(scratch: &Scratch, run: &str) -> Value {
    scratch.host(&["show", run, "--json"]).expect_code(0).json()
}

#[tokio::test]
async fn enter_approves_the_default_and_the_page_shows_what_the_run_did_next() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    let browser = Browser::signed_in(&served, &scratch).await;
    assert_eq!(browser.text("#position").await, "1 of 1");
    assert!(browser.text("#title").await.starts_with("Follow up with"));
    browser.press(char::from(Key::Enter)).await;
    // What the decision did, in words: the approved email's subject, and the run.
    let after = browser.seen("#after").await;
    assert!(
        after.starts_with("Approved: ")
            && after.contains("The web-review run is done.")
            && after.contains("See the run"),
        "{after}"
    );
    assert!(!after.contains(&run), "an id is not words: {after}");
    browser.wait("#empty").await;
    browser
        .client
        .goto(&format!("{}/runs/{run}", served.url))
        .await
        .unwrap();
    assert_eq!(browser.text("#run-status").await, "completed");
    // The run says what it is about; its timeline who decided what, and what was
    // approved, in words; outputs wait behind a disclosure.
    let heading = browser.seen("h1").await;
    assert!(
        heading.starts_with("Ana Okafor at Northwind Analytics"),
        "{heading}"
    );
    let timeline = browser.text("#timeline").await;
    assert!(
        timeline.contains("approved as proposed by tester"),
        "{timeline}"
    );
    let state = show(&scratch, &run);
    let subject = state["steps"]["review"]["output"]["subject"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(browser.seen(".chosen").await.contains(&subject));
    assert_eq!(
        browser.shown(".output .view").await,
        0,
        "outputs show unasked"
    );
    browser.screenshot("web-run.png").await;
    browser
        .client
        .goto(&format!("{}/runs", served.url))
        .await
        .unwrap();
    let listed = browser.seen(".list li").await;
    assert!(
        listed.starts_with("Ana Okafor at Northwind Analytics COMPLETED web-review"),
        "{listed}"
    );
    browser.close().await;
    let state = show(&scratch, &run);
    assert_eq!(state["status"], "completed");
    assert_eq!(
        state["steps"]["review"]["output"], state["steps"]["draft"]["output"]["variants"][0],
        "the default was approved"
    );
    let decided = scratch.decisions_made(&run);
    assert_eq!(
        decided[0]["by"], "tester",
        "the signed-in operator is in the audit trail"
    );
}

#[tokio::test]
async fn on_a_phone_the_decision_its_default_and_the_way_to_refuse_are_on_the_first_screen() {
    let (scratch, workflow, served) = served();
    start_run(&scratch, &workflow);
    let browser = Browser::start_as(Screen::Phone).await;
    browser
        .sign_in(&served.url, &generated_token(&scratch))
        .await;
    browser.wait("#decision").await;
    assert!(browser.seen("#title").await.starts_with("Follow up with"));
    assert!(
        browser
            .seen(".choice.default button")
            .await
            .starts_with("Approve:"),
        "the default's button has no key hint on a phone"
    );
    // Reject and edit stay on the first screen, however long the decision is.
    assert_eq!(browser.seen("[data-open=reject-panel]").await, "Reject");
    assert_eq!(browser.seen("[data-open=edit-panel]").await, "Edit");
    let bottom = browser
        .client
        .execute(
            "const r = document.querySelector('[data-open=reject-panel]').getBoundingClientRect();
             return r.bottom <= window.innerHeight;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bottom, json!(true), "Reject is cut by the screen's edge");
    // The default starts on the first screen: who it goes to and its subject.
    let default = browser.seen("#default-view").await;
    assert!(default.starts_with("To:"), "{default}");
    let subject = browser
        .client
        .execute(
            "const d = [...document.querySelectorAll('#default-view dt')].find(e => e.textContent === 'Subject:');
             const r = d.getBoundingClientRect();
             return r.bottom <= window.innerHeight;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        subject,
        json!(true),
        "the subject is below the first screen"
    );
    // No keyboard hints where there is no keyboard.
    assert_eq!(
        browser.shown("kbd, .keys").await,
        0,
        "keyboard hints show on a touch phone"
    );
    browser.screenshot("web-focus-phone.png").await;
    // Scrolled to it, the whole email is on the phone's screen, wrapped, with the bar
    // to edit, reject or skip still at its foot.
    browser
        .client
        .execute(
            "document.getElementById('default-view').scrollIntoView({block: 'start'});",
            vec![],
        )
        .await
        .unwrap();
    let whole = browser
        .client
        .execute(
            "const r = document.getElementById('default-view').getBoundingClientRect();
             const bar = document.querySelector('.decision .actions').getBoundingClientRect();
             return r.top >= 0 && r.bottom <= bar.top;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        whole,
        json!(true),
        "the email does not fit a phone's screen above the bar"
    );
    browser.screenshot("web-focus-phone-email.png").await;
    browser.close().await;
}

/// Every line of the default email's body is in the page, wrapped within it (nothing
/// runs off to the side), and the page shows no JSON for it unasked.
async fn email_reads_whole(browser: &Browser, scratch: &Scratch, run: &str) {
    let state = show(scratch, run);
    let email = &state["steps"]["draft"]["output"]["variants"][0];
    let view = browser.seen("#default-view").await;
    assert!(
        view.contains(&format!("Subject: {}", email["subject"].as_str().unwrap())),
        "{view}"
    );
    for line in email["body"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(view.contains(&line), "{line:?} is not shown: {view}");
    }
    assert!(
        !view.contains("\\n") && !view.contains("\"body\""),
        "{view}"
    );
    let fits = browser
        .client
        .execute(
            "const v = document.getElementById('default-view');
             return v.scrollWidth <= v.clientWidth && v.getBoundingClientRect().right <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "the email runs off the side");
}

#[tokio::test]
async fn on_a_desktop_the_email_reads_whole_and_an_edit_is_made_field_by_field() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    let browser = Browser::start_as(Screen::Desktop).await;
    browser
        .sign_in(&served.url, &generated_token(&scratch))
        .await;
    browser.wait("#decision").await;
    email_reads_whole(&browser, &scratch, &run).await;
    browser.screenshot("web-focus.png").await;
    // The edit form has a field per part of the email, from the plugin's schema.
    browser.press('e').await;
    let label = browser.seen("#fields-form label[for=field-3]").await;
    assert!(label.starts_with("Subject"), "{label}");
    let set = |id: &'static str, text: &'static str| {
        let client = browser.client.clone();
        async move {
            client
                .execute(
                    "const f = document.getElementById(arguments[0]); f.value = arguments[1];",
                    vec![json!(id), json!(text)],
                )
                .await
                .unwrap();
        }
    };
    let submit = || async {
        browser
            .client
            .find(Locator::Css("#fields-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    };
    // Too short for the schema: refused in words, beside the form, nothing decided.
    set("field-3", "Hi").await;
    submit().await;
    let error = browser.seen("#fields-error").await;
    assert!(error.contains("subject"), "{error}");
    assert_eq!(show(&scratch, &run)["status"], "waiting");
    set("field-3", "My own subject line").await;
    submit().await;
    let after = browser.seen("#after").await;
    assert!(
        after.starts_with("Approved your edit: My own subject line."),
        "{after}"
    );
    browser.close().await;
    let state = show(&scratch, &run);
    let mut expected = state["steps"]["draft"]["output"]["variants"][0].clone();
    expected["subject"] = json!("My own subject line");
    assert_eq!(
        state["steps"]["review"]["output"], expected,
        "only the subject changed"
    );
}

#[tokio::test]
async fn on_a_desktop_the_stats_table_shows_every_column() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    scratch
        .host(&["approve", &format!("{run}/review")])
        .expect_code(0);
    let browser = Browser::start_as(Screen::Desktop).await;
    browser
        .sign_in(&served.url, &generated_token(&scratch))
        .await;
    browser
        .client
        .goto(&format!("{}/stats", served.url))
        .await
        .unwrap();
    browser.wait("table").await;
    let fits = browser
        .client
        .execute(
            "const box = document.querySelector('#gates-box');
             const last = document.querySelector('#gates thead th:last-child').getBoundingClientRect();
             return [box.scrollWidth <= box.clientWidth, last.right <= window.innerWidth,
                     document.querySelector('#gates thead th:last-child').textContent];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!([true, true, "Spot checks"]), "the table is cut");
    browser.close().await;
}

#[tokio::test]
async fn a_digit_picks_that_alternative() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    let browser = Browser::signed_in(&served, &scratch).await;
    browser.wait("#decision").await;
    browser.press('2').await;
    browser.wait("#after").await;
    browser.close().await;
    let state = show(&scratch, &run);
    assert_eq!(state["status"], "completed");
    assert_eq!(
        state["steps"]["review"]["output"],
        state["steps"]["draft"]["output"]["variants"][2]
    );
    assert_eq!(
        state["decisions"][format!("{run}/review")]["outcome"]["choice"],
        2
    );
}

#[tokio::test]
async fn an_invalid_edit_is_shown_beside_the_field_and_a_valid_one_is_approved() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    let browser = Browser::signed_in(&served, &scratch).await;
    browser.wait("#decision").await;
    browser.press('e').await;
    // The form by field comes first; the JSON editor is a click away.
    browser
        .client
        .find(Locator::Css("#edit-panel details summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The field opened with the default in it: replace it with a wrong shape.
    let set = "const f = document.getElementById('edit-value'); f.value = arguments[0]; f.focus();";
    browser
        .client
        .execute(set, vec![json!("{\"subject\": 42}")])
        .await
        .unwrap();
    browser.press_with_ctrl(char::from(Key::Enter)).await;
    let error = browser.text("#edit-error").await;
    assert!(
        error.contains("does not fit the plugin's output schema"),
        "{error}"
    );
    assert_eq!(
        browser
            .client
            .find(Locator::Id("edit-value"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"subject\": 42}"),
        "the operator's text is kept to fix"
    );
    let state = show(&scratch, &run);
    assert_eq!(state["status"], "waiting", "nothing was decided");
    let mut mine = state["steps"]["draft"]["output"]["variants"][0].clone();
    mine["subject"] = json!("My own subject line");
    browser
        .client
        .execute(set, vec![json!(mine.to_string())])
        .await
        .unwrap();
    browser.press_with_ctrl(char::from(Key::Enter)).await;
    let after = browser.seen("#after").await;
    assert!(
        after.starts_with("Approved your edit: My own subject line. The web-review run is done."),
        "{after}"
    );
    browser.close().await;
    let state = show(&scratch, &run);
    assert_eq!(
        state["steps"]["review"]["output"]["subject"],
        "My own subject line"
    );
    assert_eq!(
        state["decisions"][format!("{run}/review")]["status"],
        "edited"
    );
}

#[tokio::test]
async fn r_rejects_with_a_reason() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    let browser = Browser::signed_in(&served, &scratch).await;
    browser.wait("#decision").await;
    // Hidden means hidden: until asked for, neither the edit form nor the reject
    // form shows (the browser's own idea of displayed: computed style and size).
    let displayed = |id: &'static str| {
        let client = browser.client.clone();
        async move {
            client
                .find(Locator::Id(id))
                .await
                .unwrap()
                .is_displayed()
                .await
                .unwrap()
        }
    };
    assert!(
        !displayed("edit-panel").await,
        "the edit form shows unasked"
    );
    assert!(
        !displayed("reject-panel").await,
        "the reject form shows unasked"
    );
    browser.press('r').await;
    assert!(
        displayed("reject-panel").await,
        "r did not open the reject form"
    );
    assert!(!displayed("edit-panel").await);
    let reason = browser
        .client
        .find(Locator::Id("reject-reason"))
        .await
        .unwrap();
    reason
        .send_keys("too pushy for a first touch")
        .await
        .unwrap();
    browser.press(char::from(Key::Enter)).await;
    let after = browser.seen("#after").await;
    assert!(after.contains("rejected"), "{after}");
    browser.close().await;
    let state = show(&scratch, &run);
    assert_eq!(state["status"], "rejected");
    let decision = &state["decisions"][format!("{run}/review")];
    assert_eq!(decision["outcome"]["reason"], "too pushy for a first touch");
    assert_eq!(decision["decided_by"], "tester");
}

#[tokio::test]
async fn a_new_decision_appears_without_a_reload() {
    let (scratch, workflow, served) = served();
    let browser = Browser::signed_in(&served, &scratch).await;
    browser.wait("#empty").await;
    // Give the page's event stream a moment to connect, and mark this page load.
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser
        .client
        .execute("window.sameLoad = true;", vec![])
        .await
        .unwrap();
    let _run = start_run(&scratch, &workflow);
    browser.wait("#decision").await;
    assert!(browser.text("#title").await.starts_with("Follow up with"));
    assert_eq!(
        browser
            .client
            .execute("return window.sameLoad === true;", vec![])
            .await
            .unwrap(),
        json!(true),
        "the decision arrived by server-sent event, not by a reload"
    );
    browser.close().await;
}

#[tokio::test]
async fn requests_without_a_valid_token_or_csrf_token_are_refused() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    let url = &served.url;
    let (status, body) = http(url, "GET", "/api/runs", &[], "");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("no valid token"), "{body}");
    let (status, _) = http(
        url,
        "GET",
        "/api/runs",
        &[("Authorization", "Bearer not-a-token")],
        "",
    );
    assert_eq!(status, 401);
    let (status, _) = http(url, "GET", "/", &[], "");
    assert_eq!(status, 303, "pages send strangers to sign in");
    let form = format!("csrf=x&decision={run}%2Freview&action=approve");
    let (status, _) = http(
        url,
        "POST",
        "/decide",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(status, 401);
    let token = generated_token(&scratch);
    let cookie = format!("baton_session={token}");
    let (status, body) = http(
        url,
        "POST",
        "/decide",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        &form,
    );
    assert_eq!(
        status, 403,
        "a signed-in browser without the form's CSRF token: {body}"
    );
    let (status, body) = http(
        url,
        "POST",
        &format!("/api/decisions/{run}/review"),
        &[("Content-Type", "application/json"), ("Cookie", &cookie)],
        r#"{"approve": 0}"#,
    );
    assert_eq!(
        status, 403,
        "the API through the cookie needs the CSRF header: {body}"
    );
    // The browser is sent to the sign-in page, and a wrong token is refused there.
    let browser = Browser::start().await;
    browser.client.goto(url).await.unwrap();
    browser.wait("#token").await;
    browser.sign_in(url, "wrong-token-wrong-token").await;
    assert!(
        browser
            .text(".error")
            .await
            .contains("not one this server knows")
    );
    browser.close().await;
    assert_eq!(
        show(&scratch, &run)["status"],
        "waiting",
        "nothing was decided"
    );
    let bearer = format!("Bearer {token}");
    let (status, body) = http(
        url,
        "POST",
        &format!("/api/decisions/{run}/review"),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &bearer),
        ],
        r#"{"approve": 1}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "completed"
    );
}

#[tokio::test]
async fn only_the_gates_approvers_may_decide() {
    let scratch = Scratch::new();
    scratch.host_config(
        "[operators.maria]\ntoken = \"maria-token-0123456789\"\n[operators.li]\ntoken = \"li-token-0123456789abc\"\n",
    );
    let workflow = scratch.workflow(
        "review.toml",
        &REVIEW.replace(
            "severity = \"high\"",
            "severity = \"high\"\napprovers = [\"maria\"]",
        ),
    );
    let served = Served::start(&scratch);
    let run = start_run(&scratch, &workflow);
    let browser = Browser::start().await;
    browser.sign_in(&served.url, "li-token-0123456789abc").await;
    let refusal = browser.text(".decision .error").await;
    assert!(
        refusal.contains("Only maria may decide this; you are li"),
        "{refusal}"
    );
    // Enter does nothing: the buttons are disabled for li.
    browser.press(char::from(Key::Enter)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(browser.client.find(Locator::Id("after")).await.is_err());
    browser.close().await;
    let decide = |token: &str| {
        http(
            &served.url,
            "POST",
            &format!("/api/decisions/{run}/review"),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &format!("Bearer {token}")),
            ],
            r#"{"approve": 0}"#,
        )
    };
    let (status, body) = decide("li-token-0123456789abc");
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("li may not decide") && body.contains("maria"),
        "{body}"
    );
    assert_eq!(show(&scratch, &run)["status"], "waiting");
    let (status, body) = decide("maria-token-0123456789");
    assert_eq!(status, 200, "{body}");
    assert_eq!(scratch.decisions_made(&run)[0]["by"], "maria");
}

#[test]
fn the_commands_go_through_the_running_server_and_back_to_the_store_when_it_stops() {
    let (scratch, workflow, served) = served();
    let run = start_run(&scratch, &workflow);
    let runs = scratch.host(&["runs"]);
    runs.expect_code(0);
    assert!(
        runs.stderr
            .contains(&format!("through host serve at {}", served.url)),
        "{}",
        runs.stderr
    );
    assert!(runs.stdout.contains(&run));
    let inbox = scratch.host(&["inbox", "--ids"]);
    inbox.expect_code(0);
    assert_eq!(inbox.stdout.trim(), format!("{run}/review"));
    // Resuming a waiting run changes nothing; cancelling another ends it.
    scratch
        .host(&["resume", &run])
        .expect_code(WAITING)
        .stderr_has("through host serve at");
    let other = start_run(&scratch, &workflow);
    scratch
        .host(&["cancel", &other])
        .expect_code(1)
        .stderr_has("through host serve at");
    assert_eq!(show(&scratch, &other)["status"], "cancelled");
    let done = scratch
        .host(&[
            "approve",
            &format!("{run}/review"),
            "--choice",
            "1",
            "--json",
        ])
        .expect_code(0)
        .stderr_has("through host serve at")
        .json();
    assert_eq!(done["status"], "completed");
    scratch.host(&["audit", "--verify"]).expect_code(0);
    let stats = scratch.host(&["stats", "--json"]).expect_code(0).json();
    assert_eq!(stats[0]["gates"][0]["alternative_chosen"], 1);
    assert!(
        served.stop().success(),
        "host serve stops cleanly on SIGTERM"
    );
    assert!(!scratch.state_dir().join("server.json").exists());
    let runs = scratch.host(&["runs"]);
    runs.expect_code(0);
    assert!(
        !runs.stderr.contains("through host serve"),
        "{}",
        runs.stderr
    );
    assert!(runs.stdout.contains("completed"));
}

#[test]
fn timeouts_expire_on_time_while_it_serves_and_the_webhook_hears_of_waiting_runs() {
    let hook = ModelServer::start(vec![Reply::json(json!({ "ok": true }))]);
    let scratch = Scratch::new();
    let text = REVIEW.replace(
        "severity = \"high\"",
        "severity = \"high\"\ntimeout = \"2s\"\non_timeout = \"reject\"",
    ) + &format!("\n[notify]\nwebhook = \"{}/hook\"\n", hook.base_url());
    let workflow = scratch.workflow("review.toml", &text);
    let served = Served::start(&scratch);
    let run = start_run(&scratch, &workflow);
    let started = Instant::now();
    let state = loop {
        let state = show(&scratch, &run);
        // Reads answer while the worker continues the run, so it may be seen
        // `running` between the expiry and its end.
        let settled = state["status"] != "waiting" && state["status"] != "running";
        if settled || started.elapsed() > Duration::from_secs(20) {
            break state;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        state["status"], "rejected",
        "expired by the server itself: {state}"
    );
    let decision = &state["decisions"][format!("{run}/review")];
    assert_eq!(decision["decided_by"], "timeout");
    let received = hook.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let body = &received[0].body;
    assert_eq!(body["event"], "run_waiting");
    assert_eq!(body["run"], run.as_str());
    assert_eq!(body["decisions"][0]["id"], format!("{run}/review"));
    assert_eq!(body["link"], format!("{}/runs/{run}", served.url));
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("1 decision waiting in web-review")
    );
}

/// A three-step workflow whose middle step takes `millis` of CPU (the hostile
/// plugin's `slow` mode), so that a test can kill the server in the middle of it.
fn slow_middle(scratch: &Scratch, millis: u64) -> PathBuf {
    let hostile = baton_tests::plugin("hostile-guest");
    scratch.workflow(
        "slow.toml",
        &format!(
            r#"
name = "slow-middle"
[plugins.quick]
source = "{hostile}"
[plugins.slow]
source = "{hostile}"
config = {{ mode = "slow", millis = "{millis}" }}
limits = {{ timeout = "60s" }}

[[steps]]
id = "first"
uses = "quick"
input = "{{{{ input }}}}"

[[steps]]
id = "middle"
uses = "slow"
input = "{{{{ steps.first.output }}}}"

[[steps]]
id = "last"
uses = "quick"
input = "{{{{ steps.middle.output }}}}"
"#,
            hostile = hostile.display()
        ),
    )
}

/// `host serve` with its output in a file, to read what it logged.
fn serve_logging(scratch: &Scratch, log: &std::path::Path) -> (Child, String) {
    let file = std::fs::File::create(log).unwrap();
    let child = scratch
        .command(&["serve", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start host serve");
    let started = Instant::now();
    let url = loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("serving the inbox at "))
        {
            break line["serving the inbox at ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "host serve did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (child, url)
}

#[test]
fn a_server_killed_mid_step_continues_the_run_when_it_starts_again() {
    let scratch = Scratch::new();
    let workflow = slow_middle(&scratch, 4000);
    let log = scratch.path().join("serve.log");
    let (child, url) = serve_logging(&scratch, &log);
    // Stopped if the test fails before it kills it.
    let mut server = Served { child, url };
    // `host run` goes through the server and waits for the run to stop.
    let mut running = scratch
        .command(&["run", workflow.to_str().unwrap(), "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the slow step has started, then kill the server in the middle of it.
    let started = Instant::now();
    let run = loop {
        let listed = scratch.host(&["runs", "--json"]);
        let runs: Value = serde_json::from_str(&listed.stdout).unwrap_or(json!([]));
        if let Some(id) = runs[0]["id"].as_str() {
            let state = show(&scratch, id);
            if state["steps"]["middle"]["status"] == "running" {
                break id.to_string();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the slow step never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The step's start is written without a sync (only decisions and stopping runs
    // are synced), and the store writes what it holds every 500 ms: let it, so that
    // the log shows the interrupted attempt. (Without it the step would still run
    // again, as a first attempt.) The step has more than two seconds left.
    std::thread::sleep(Duration::from_millis(1200));
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    std::mem::forget(server);
    let _ = running.kill();
    let _ = running.wait();
    assert!(
        scratch.state_dir().join("server.json").exists(),
        "a killed server leaves its file behind"
    );

    // Started again, the server continues the run by itself: nobody runs `host resume`.
    let (restarted, url) = serve_logging(&scratch, &log);
    let restarted = Served {
        child: restarted,
        url,
    };
    let started = Instant::now();
    let state = loop {
        let state = show(&scratch, &run);
        if state["status"] != "running" || started.elapsed() > Duration::from_secs(60) {
            break state;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(state["status"], "completed", "{state}");
    assert_eq!(
        state["steps"]["middle"]["attempts"], 2,
        "the interrupted step ran again: {state}"
    );
    assert_eq!(state["steps"]["first"]["attempts"], 1, "{state}");
    assert_eq!(state["steps"]["last"]["status"], "completed", "{state}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(&format!(
            "continued run {run} of workflow slow-middle, which a crash had left running: it is completed"
        )),
        "{logged}"
    );
    scratch.host(&["audit", "--verify"]).expect_code(0);
    assert!(restarted.stop().success());
}

#[test]
fn a_server_file_naming_a_process_that_is_not_the_server_falls_back_to_the_store() {
    let scratch = Scratch::new();
    scratch.start_note_run();
    // A file left by a server that is gone, naming a pid that is alive (this test's
    // own, as after a reboot) and a port nobody listens on.
    let file = scratch.state_dir().join("server.json");
    let port = free_port();
    std::fs::write(
        &file,
        json!({
            "url": format!("http://127.0.0.1:{port}"),
            "pid": std::process::id(),
            "token": "left-behind",
        })
        .to_string(),
    )
    .unwrap();
    let runs = scratch.host(&["runs"]);
    runs.expect_code(0);
    assert!(runs.stdout.contains("waiting"), "{}", runs.stdout);
    assert!(
        runs.stderr.contains("which does not answer")
            && runs
                .stderr
                .contains("the state store was free, so it is used directly"),
        "{}",
        runs.stderr
    );
    assert!(!file.exists(), "the stale file is removed");
    // And a cron `host expire` works again.
    std::fs::write(
        &file,
        json!({"url": format!("http://127.0.0.1:{port}"), "pid": std::process::id(), "token": "x"})
            .to_string(),
    )
    .unwrap();
    scratch
        .host(&["expire"])
        .expect_code(0)
        .stderr_has("is used directly");
}

#[tokio::test]
async fn a_damaged_run_is_named_on_the_pages_and_the_other_decisions_stay() {
    let scratch = Scratch::new();
    let runs: Vec<String> = (0..2).map(|_| scratch.start_note_run()).collect();
    baton_tests::damage_first_entry(&scratch.state_dir(), &runs[1]);
    let served = Served::start(&scratch);
    let bearer = format!("Bearer {}", generated_token(&scratch));
    for page in ["/inbox", "/", "/stats"] {
        let (status, body) = http(&served.url, "GET", page, &[("Authorization", &bearer)], "");
        assert_eq!(status, 200, "{page}: {body}");
    }
    // What a person sees, at phone width: the banner on screen, naming the run, on
    // every page that would have listed it.
    let browser = Browser::signed_in(&served, &scratch).await;
    for page in ["/inbox", "/", "/stats"] {
        browser
            .client
            .goto(&format!("{}{page}", served.url))
            .await
            .unwrap();
        let banner = browser.seen(".damaged").await;
        assert!(
            banner.contains("1 run cannot be read and is left out") && banner.contains(&runs[1]),
            "{page}: {banner}"
        );
    }
    // The runs page lists it, marked damaged, not waiting.
    browser
        .client
        .goto(&format!("{}/runs", served.url))
        .await
        .unwrap();
    let banner = browser.seen(".damaged").await;
    assert!(
        banner.contains("1 run cannot be read (marked damaged below)") && banner.contains(&runs[1]),
        "{banner}"
    );
    let listed = browser.seen("main .list").await;
    let rows = browser
        .client
        .execute(
            "return [...document.querySelectorAll('main .list li')].map(li => li.textContent.replace(/\\s+/g, ' '));",
            vec![],
        )
        .await
        .unwrap();
    let row = |run: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .find(|r| r.contains(run))
            .unwrap_or_default()
    };
    assert!(
        row(&runs[1]).contains(" damaged ")
            && !row(&runs[1]).contains("pending")
            && row(&runs[0]).contains(" waiting ")
            && row(&runs[0]).contains("1 pending"),
        "the damaged run is marked and offers nothing to decide: {listed}"
    );
    browser
        .client
        .goto(&format!("{}/inbox", served.url))
        .await
        .unwrap();
    let inbox = browser.seen("main").await;
    assert_eq!(
        inbox.matches("Keep this note?").count(),
        1,
        "the readable run's decision, and only it: {inbox}"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_decision_shows_what_earlier_approvals_did_to_the_same_campaign() {
    let scratch = Scratch::new();
    let served = Served::start(&scratch);
    let started =
        scratch.start_ads_audit(&baton_tests::workspace_root().join("examples/ads-account.json"));
    let run = started["run"].as_str().unwrap().to_string();
    // Pausing "hiking boots", through the server, executes at once.
    scratch
        .host(&["approve", &format!("{run}/review/1")])
        .expect_code(WAITING);
    let browser = Browser::start_as(Screen::Desktop).await;
    browser
        .sign_in(&served.url, &generated_token(&scratch))
        .await;
    browser
        .client
        .goto(&format!("{}/?decision={run}%2Freview%2F3", served.url))
        .await
        .unwrap();
    let keyword = "campaign:Generic - Hiking Boots/ad group:Boots - broad/keyword:hiking boots";
    let earlier = browser.seen("#earlier").await;
    assert_eq!(
        earlier,
        format!("Approved earlier in this run: Pause \"hiking boots\" (Broad) (on {keyword})")
    );
    browser
        .client
        .execute(
            "document.getElementById('conflict-1').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        browser.seen("#conflict-1").await,
        format!("⚠ This choice touches {keyword}, which an earlier decision changed.")
    );
    // The default (the campaign's bidding) touches nothing it changed.
    let marked = browser
        .client
        .execute(
            "return document.querySelectorAll('.conflict').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(marked, json!(1));
    browser.close().await;
}

/// The done-when of issue 23 in a browser: spot checks listed in the inbox and
/// reviewed on their own page (marked as changing nothing), a disagreement that
/// suspends the kind's auto-approval and a banner that says so on every page, the
/// kinds table with the spot checks' agreement, the weekly chart, and the time a
/// decision was on screen.
#[tokio::test]
async fn spot_checks_are_reviewed_in_the_browser_and_the_stats_page_shows_the_weeks() {
    let scratch = Scratch::new();
    let workflow = scratch.spot_checked_ads_audit(None);
    let served = Served::start(&scratch);
    let account = baton_tests::workspace_root().join("examples/ads-account.json");
    scratch.start_ads_audit_of(&workflow, &account);
    let browser = Browser::start_as(Screen::Desktop).await;
    browser
        .sign_in(&served.url, &generated_token(&scratch))
        .await;

    // A decision on screen, then decided: its handling time is recorded.
    browser.wait("#decision").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    browser.press(char::from(Key::Enter)).await;
    browser.wait("#after").await;

    browser
        .client
        .goto(&format!("{}/inbox", served.url))
        .await
        .unwrap();
    assert_eq!(
        browser.seen("#spot-checks-link").await,
        "4 spot checks to review (auto-approved decisions, listed below)"
    );
    assert_eq!(browser.shown("#spot-checks li").await, 4);
    browser
        .client
        .execute(
            "document.getElementById('spot-checks-heading').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        browser.seen("#spot-checks-heading").await,
        "Spot checks 4 to review"
    );
    browser
        .client
        .find(Locator::Css("#spot-checks li a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let note = browser.seen("#review-note").await;
    assert!(
        note.starts_with("Auto-approved")
            && note.contains("(kind negative-keyword/monitor)")
            && note.contains("A review changes nothing by itself"),
        "{note}"
    );
    assert_eq!(browser.text("#position").await, "Spot check 1 of 4");
    // Agree (Enter), then disagree twice: the third answer suspends the rule.
    browser.press(char::from(Key::Enter)).await;
    assert_eq!(
        browser.seen("#after").await,
        "Recorded: you agree with the auto-approval."
    );
    for left in [2, 1] {
        // The page after the last answer (the form posts and the browser follows).
        browser
            .until_text("#position", &format!("Spot check 1 of {}", left + 1))
            .await;
        browser.wait("#reject-form").await;
        let field = browser
            .client
            .find(Locator::Css("#review-note-text"))
            .await
            .unwrap();
        field.send_keys("this term converts").await.unwrap();
        browser
            .client
            .find(Locator::Css("#reject-form button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    browser.until_text("#position", "Spot check 1 of 1").await;
    let after = browser.seen("#after").await;
    assert!(
        after.starts_with("Recorded. auto-approval of ads-audit/review kind negative-keyword/monitor is suspended: spot checks agreed with 1 of 3"),
        "{after}"
    );
    // The banner, on every page.
    for page in ["/inbox", "/", "/stats"] {
        browser
            .client
            .goto(&format!("{}{page}", served.url))
            .await
            .unwrap();
        let banner = browser.seen("#suspended").await;
        assert!(
            banner.starts_with("Auto-approval suspended: auto-approval of ads-audit/review kind negative-keyword/monitor is suspended"),
            "{page}: {banner}"
        );
        assert!(
            banner.contains(
                "host auto-approval resume ads-audit review --kind negative-keyword/monitor"
            ),
            "{banner}"
        );
    }
    // The stats page: the week's bars, and the kind's agreement.
    browser
        .client
        .execute(
            "document.getElementById('weekly-chart').closest('section').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(browser.shown("#weekly-chart").await, 1);
    assert_eq!(
        browser.shown("#weekly-chart rect.bar").await,
        4,
        "plugins, people, auto, checks"
    );
    let bars = browser
        .client
        .execute(
            "return [...document.querySelectorAll('#weekly-chart rect.bar title')].map(t => t.textContent);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        bars,
        json!([
            "6 steps by plugins",
            "1 decision by people",
            "4 auto-approved",
            "3 spot checks"
        ]),
        "the audit and an export per approved finding; one decision in the browser"
    );
    browser.screenshot("web-stats.png").await;
    let row = browser
        .client
        .execute(
            "const row = [...document.querySelectorAll('table.kinds tbody tr')].find(r => r.querySelector('th').textContent.startsWith('negative-keyword/monitor'));
             row.scrollIntoView();
             return row.checkVisibility() ? row.innerText : '';",
            vec![],
        )
        .await
        .unwrap();
    assert!(row.as_str().unwrap().contains("1 of 3 agreed"), "{row}");
    browser.close().await;

    // The decision shown in the browser has a handling time, and a wait.
    let stats = scratch.host(&["stats", "--json"]).expect_code(0).json();
    let gate = &stats[0]["gates"][0];
    assert!(
        gate["median_ms_handling"].as_u64().unwrap() >= 300,
        "{gate}"
    );
    assert!(gate["median_ms_to_shown"].is_u64(), "{gate}");
}

/// The API a system (or an agent) uses for what the system learns: reading a
/// decision records it as shown, spot checks are listed and answered, outcomes are
/// reported after a decision (and refused before), and the `host` commands for them
/// go through the running server.
#[test]
fn the_api_records_a_decision_shown_and_takes_spot_checks_and_outcomes() {
    let scratch = Scratch::new();
    let workflow = scratch.spot_checked_ads_audit(None);
    let served = Served::start(&scratch);
    let account = baton_tests::workspace_root().join("examples/ads-account.json");
    let out = scratch.start_ads_audit_of(&workflow, &account);
    let run = out["run"].as_str().unwrap().to_string();
    let pending = out["decisions"][0]["request"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = &served.url;
    let bearer = format!("Bearer {}", generated_token(&scratch));
    let auth = [("Authorization", bearer.as_str())];
    let json_auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];

    let (status, body) = http(url, "GET", "/api/spot-checks", &auth, "");
    assert_eq!(status, 200, "{body}");
    let checks: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(checks.len(), 4);
    let checked = checks[0]["request"]["id"].as_str().unwrap().to_string();

    let (status, body) = http(url, "GET", &format!("/api/decisions/{pending}"), &auth, "");
    assert_eq!(status, 200, "{body}");
    let record: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(record["status"], "pending");
    let audit = scratch
        .host(&["audit", &run, "--jsonl"])
        .expect_code(0)
        .stdout
        .clone();
    let shown: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"]["event"] == "decision_shown")
        .collect();
    assert_eq!(shown.len(), 1, "{audit}");
    assert_eq!(shown[0]["event"]["via"], "api");
    assert_eq!(shown[0]["event"]["id"], pending.as_str());

    let path = format!("/api/spot-checks/{checked}");
    let (status, body) = http(url, "POST", &path, &json_auth, "{}");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("give exactly one of"), "{body}");
    let (status, body) = http(
        url,
        "POST",
        &path,
        &json_auth,
        r#"{"approve": 0, "note": "fine"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["agrees"], true);
    assert_eq!(answer["suspended"], Value::Null);
    let (status, body) = http(url, "POST", &path, &json_auth, r#"{"approve": 0}"#);
    assert_eq!(status, 409, "answered once: {body}");

    let (status, body) = http(
        url,
        "POST",
        &format!("/api/outcomes/{pending}"),
        &json_auth,
        r#"{"outcome": "good"}"#,
    );
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("record what happened after it once it is decided"),
        "{body}"
    );
    let outcome = format!("/api/outcomes/{checked}");
    let (status, body) = http(url, "POST", &outcome, &json_auth, r#"{"outcome": "meh"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("neither \\\"good\\\" nor \\\"bad\\\""),
        "{body}"
    );
    let (status, body) = http(
        url,
        "POST",
        &outcome,
        &json_auth,
        r#"{"outcome": "bad", "note": "reverted"}"#,
    );
    assert_eq!(status, 200, "{body}");

    // The commands go through the server.
    let next = checks[1]["request"]["id"].as_str().unwrap();
    let said = scratch.host(&["spot-check", next, "--reject", "--note", "converts"]);
    said.expect_code(0).stderr_has("through host serve at");
    assert!(
        said.stdout.contains("you would have decided otherwise"),
        "{}",
        said.stdout
    );
    let listed = scratch
        .host(&["auto-approval", "list"])
        .expect_code(0)
        .stdout
        .clone();
    assert_eq!(
        listed.trim(),
        "no auto-approval was suspended by spot checks"
    );
    let stats = scratch.host(&["stats", "--json"]).expect_code(0).json();
    let gate = &stats[0]["gates"][0];
    assert_eq!(
        gate["spot_checks"],
        json!({ "drawn": 4, "answered": 2, "agreed": 1 })
    );
    assert_eq!(
        gate["outcomes"]["auto_approved"],
        json!({ "good": 0, "bad": 1 })
    );
}

#[test]
fn the_api_lists_pending_decisions_a_page_at_a_time_from_the_index() {
    let scratch = Scratch::new();
    let runs: Vec<String> = (0..3).map(|_| scratch.start_note_run()).collect();
    let served = Served::start(&scratch);
    let bearer = format!("Bearer {}", generated_token(&scratch));
    let auth = [("Authorization", bearer.as_str())];
    let ids = |body: &str| -> Vec<String> {
        serde_json::from_str::<Value>(body)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["request"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, head, body) =
        baton_tests::http_with_headers(&served.url, "GET", "/api/decisions?limit=2", &auth, "");
    assert_eq!(status, 200, "{body}");
    // Oldest first, two of three, and where the rest starts.
    assert_eq!(
        ids(&body),
        vec![format!("{}/review", runs[0]), format!("{}/review", runs[1])]
    );
    assert!(head.to_lowercase().contains("x-total-count: 3"), "{head}");
    let next = head
        .lines()
        .find_map(|line| {
            line.to_lowercase()
                .starts_with("link:")
                .then(|| line.to_string())
        })
        .unwrap_or_else(|| panic!("no Link header: {head}"));
    let path = next
        .split_once('<')
        .unwrap()
        .1
        .split_once('>')
        .unwrap()
        .0
        .to_string();
    let (status, head, body) = baton_tests::http_with_headers(&served.url, "GET", &path, &auth, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), vec![format!("{}/review", runs[2])]);
    assert!(
        !head.to_lowercase().contains("link:"),
        "the last page has no next: {head}"
    );
    // A decision taken leaves the index in the same write.
    scratch
        .host(&["approve", &format!("{}/review", runs[0])])
        .expect_code(0);
    let (_, head, body) =
        baton_tests::http_with_headers(&served.url, "GET", "/api/decisions", &auth, "");
    assert_eq!(
        ids(&body),
        vec![format!("{}/review", runs[1]), format!("{}/review", runs[2])]
    );
    assert!(head.to_lowercase().contains("x-total-count: 2"), "{head}");
    // A cursor the server never gave, or a page too large, is refused with why.
    let (status, body) = http(&served.url, "GET", "/api/decisions?after=zz", &auth, "");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Link header"), "{body}");
    let (status, body) = http(&served.url, "GET", "/api/decisions?limit=0", &auth, "");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limit must be 1 to 1000"), "{body}");
}
