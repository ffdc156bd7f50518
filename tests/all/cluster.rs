//! Baton as a service: several `host worker` and `host serve` processes over one
//! PostgreSQL, all real processes of the real binary, with workers killed and the
//! database restarted under them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use baton_tests::{Postgres, Scratch};
use serde_json::Value;

/// A step that keeps a worker busy for a moment (so that a kill lands mid-step), a
/// gate, and a step after it.
const DRAFT_REVIEW_SEND: &str = r#"
name = "outreach"

[plugins.work]
source = "{hostile}"
config = { mode = "slow", millis = "15" }

[plugins.echo]
source = "{hostile}"

[[steps]]
id = "draft"
uses = "work"
input = { note = "write to the lead" }

[[steps]]
id = "review"
approve = "draft"
title = "Send this note?"

[[steps]]
id = "send"
uses = "echo"
input = { sent = "{{ steps.review.output.note }}" }
"#;

/// A background `host` process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `host serve` with its own state directory (its address and local token live
/// there; its runs live in the scratch's PostgreSQL store).
fn serve(scratch: &Scratch, state: &Path) -> Process {
    serve_at(scratch, state).0
}

/// [`serve`], and the address it serves at.
fn serve_at(scratch: &Scratch, state: &Path) -> (Process, String) {
    let mut child = scratch
        .command(&["serve", "--bind", "127.0.0.1:0", "--lease", "2s"])
        .env("BATON_STATE", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start host serve");
    let url = baton_tests::served_url(&mut child);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (Process(child), url)
}

/// Sends a raw HTTP/1.1 request to `url` (`http://127.0.0.1:PORT`) with the session
/// cookie, and reads the answer until `until` returns true or the server closes.
fn http(
    url: &str,
    request_line: &str,
    cookie: &str,
    body: Option<&str>,
    until: impl Fn(&str) -> bool,
) -> String {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{request_line} HTTP/1.1\r\nHost: {address}\r\nCookie: baton_session={cookie}\r\nConnection: close\r\n"
    );
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or_default());
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !until(&String::from_utf8_lossy(&answer)) {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn every_server_on_one_database_shows_the_others_changes_live_and_accepts_their_forms() {
    let scratch = Scratch::on_postgres();
    let token = "a-long-operator-token-for-ana";
    scratch.host_config(&format!("[operators.ana]\ntoken = \"{token}\"\n"));
    let states: Vec<PathBuf> = ["server-a", "server-b"]
        .iter()
        .map(|name| scratch.path().join(name))
        .collect();
    let (_a, url_a) = serve_at(&scratch, &states[0]);
    let (_b, url_b) = serve_at(&scratch, &states[1]);
    let run = scratch.start_note_run();

    // A form signed by server A is accepted by server B.
    let page = http(&url_a, "GET /", token, None, |text| {
        text.contains("</html>")
    });
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF token on server A's page: {page}"))
        .to_string();
    assert!(!csrf.is_empty(), "{page}");
    let out = http(
        &url_b,
        "POST /logout",
        token,
        Some(&format!("csrf={csrf}")),
        |text| text.contains("\r\n\r\n"),
    );
    assert!(
        out.starts_with("HTTP/1.1 303") && out.contains("location: /login"),
        "server B refused server A's form: {out}"
    );

    // Server B's live stream tells of a decision made through server A.
    let run_id = run.clone();
    let listener = std::thread::spawn(move || {
        http(&url_b, "GET /events", token, None, |text| {
            text.contains(&run_id) && text.contains("completed")
        })
    });
    // The stream is open before the decision is made.
    std::thread::sleep(Duration::from_millis(500));
    approve_through(&scratch, &states[0], "ana", &format!("{run}/review")).unwrap();
    let heard = listener.join().unwrap();
    assert!(
        heard.contains("event: change") && heard.contains(&run) && heard.contains("completed"),
        "server B's page never heard of the decision made through server A: {heard}"
    );
}

/// `host worker`, what it says written to `log`.
fn worker(scratch: &Scratch, log: &Path) -> Process {
    Process(
        scratch
            .command(&[
                "worker",
                "--poll",
                "300ms",
                "--lease",
                "2s",
                "--concurrency",
                "4",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start host worker"),
    )
}

/// Queues a run whose first step takes seconds, waits until one of the live
/// workers says it drives it and the step has started, and kills that worker (SIGKILL) in the middle of the
/// step; returns the run.
fn kill_mid_step(
    scratch: &Scratch,
    slow: &Path,
    workers: &mut [Option<Process>],
    logs: &[PathBuf],
) -> String {
    let run = loop {
        let out = scratch.host(&["run", slow.to_str().unwrap(), "--enqueue", "--json"]);
        if out.code == Some(0) {
            break out.json()["run"].as_str().unwrap().to_string();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no worker took {run}");
        let driver = (0..workers.len()).find(|&i| {
            workers[i].is_some()
                && std::fs::read_to_string(&logs[i])
                    .unwrap_or_default()
                    .contains(&format!("run {run}: driving"))
        });
        let started = || {
            let shown = scratch.host(&["show", &run, "--json"]);
            shown.code == Some(0) && shown.json()["steps"]["draft"]["status"] == "running"
        };
        if let Some(i) = driver
            && started()
        {
            drop(workers[i].take());
            eprintln!("cluster test: killed worker {i} in the middle of {run}'s first step");
            return run;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `host approve ID` sent through the server whose state directory is `state`, as
/// `operator`: whether it was made (exit 0), or the error it gave.
fn approve_through(
    scratch: &Scratch,
    state: &Path,
    operator: &str,
    id: &str,
) -> Result<(), String> {
    let out = scratch
        .command(&["approve", id])
        .env("BATON_STATE", state)
        .env("BATON_OPERATOR", operator)
        .stdin(Stdio::null())
        .output()
        .expect("run host approve");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("(through host serve at"),
        "host approve did not go through the server: {stderr}"
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr)
    }
}

/// The pending decisions' ids, read from the store directly.
fn pending(scratch: &Scratch) -> Option<Vec<String>> {
    let inbox = scratch.host(&["inbox", "--json"]);
    if inbox.code != Some(0) {
        eprintln!("inbox: {}", inbox.stderr);
        return None;
    }
    Some(
        inbox
            .json()
            .as_array()?
            .iter()
            .filter_map(|d| d["request"]["id"].as_str().map(str::to_string))
            .collect(),
    )
}

/// How many runs are `running` (queued, or being driven), from the store directly.
fn running(scratch: &Scratch) -> Option<usize> {
    let runs = scratch.host(&["runs", "--json"]);
    if runs.code != Some(0) {
        return None;
    }
    Some(
        runs.json()
            .as_array()?
            .iter()
            .filter(|r| r["status"] == "running")
            .count(),
    )
}

/// A small deterministic generator, seeded from the clock and printed, so that a
/// failing order of servers can be replayed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn three_workers_and_two_servers_complete_every_run_once_through_kills_and_a_database_restart() {
    const RUNS: usize = 300;
    let database = Postgres::dedicated();
    let scratch = Scratch::on_database(database.database());
    let workflow = scratch.workflow("outreach.toml", DRAFT_REVIEW_SEND);
    let states: Vec<PathBuf> = ["server-a", "server-b"]
        .iter()
        .map(|name| scratch.path().join(name))
        .collect();
    let operators = ["ana", "ben"];
    // The schema is created once, before everyone starts.
    scratch.host(&["store", "migrate"]).expect_code(0);
    let _servers: Vec<Process> = states.iter().map(|state| serve(&scratch, state)).collect();
    let slow = scratch.workflow(
        "slow.toml",
        &DRAFT_REVIEW_SEND.replace("millis = \"15\"", "millis = \"2500\""),
    );
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| scratch.path().join(format!("worker-{i}.log")))
        .collect();
    let mut workers: Vec<Option<Process>> =
        logs.iter().map(|log| Some(worker(&scratch, log))).collect();
    let mut interrupted = Vec::new();

    // Runs are queued by four processes at a time, while the workers drive them and
    // the decisions are made; an enqueue the restart cut off is tried again (and may
    // have made a run anyway: the checks below cover every run in the store).
    let queued = AtomicUsize::new(0);
    let enqueuing_done = AtomicUsize::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("cluster test: servers picked with seed {seed}");
    let mut dice = Dice(seed);
    // Who made each decision, as the server answered; who was sent each one (a
    // call the restart cut off may have been made, and is sent again).
    let mut made_by: BTreeMap<String, &str> = BTreeMap::new();
    let mut sent_to: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    let mut last_error: BTreeMap<String, String> = BTreeMap::new();
    let (mut killed, mut restarted) = (0, false);
    let deadline = Instant::now() + Duration::from_secs(300);
    std::thread::scope(|threads| {
        for _ in 0..4 {
            let (queued, done, scratch, workflow) = (&queued, &enqueuing_done, &scratch, &workflow);
            threads.spawn(move || {
                while queued.load(Ordering::SeqCst) < RUNS && Instant::now() < deadline {
                    let out =
                        scratch.host(&["run", workflow.to_str().unwrap(), "--enqueue", "--json"]);
                    if out.code == Some(0) {
                        queued.fetch_add(1, Ordering::SeqCst);
                    } else {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Decide every decision that shows up, each through one of the servers at
        // random; two workers are killed (SIGKILL) and the database restarted while
        // runs are queued, driven and decided.
        loop {
            if Instant::now() > deadline {
                let said: Vec<String> = logs
                    .iter()
                    .map(|log| {
                        let text = std::fs::read_to_string(log).unwrap_or_default();
                        let lines: Vec<&str> = text.lines().collect();
                        lines[lines.len().saturating_sub(8)..].join("\n")
                    })
                    .collect();
                panic!(
                    "not every run finished: {} queued, {} decided; last errors: {last_error:?}\nruns: {}\nworkers said: {said:#?}",
                    queued.load(Ordering::SeqCst),
                    made_by.len(),
                    scratch
                        .host(&["runs"])
                        .stdout
                        .lines()
                        .filter(|line| !line.contains("completed"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            let Some(waiting) = pending(&scratch) else {
                // The database is restarting.
                std::thread::sleep(Duration::from_millis(200));
                continue;
            };
            let all_queued = enqueuing_done.load(Ordering::SeqCst) == 4;
            if waiting.is_empty() && all_queued && running(&scratch) == Some(0) {
                break;
            }
            let fresh: Vec<String> = waiting
                .into_iter()
                .filter(|id| !made_by.contains_key(id))
                .collect();
            if fresh.is_empty() {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            // Four decisions at a time, each to a server picked at random.
            let picks: Vec<(String, usize)> = fresh
                .into_iter()
                .map(|id| (id, (dice.roll() % 2) as usize))
                .collect();
            for chunk in picks.chunks(4) {
                let now_queued = queued.load(Ordering::SeqCst);
                if killed < 2 && now_queued >= RUNS / 4 * (killed + 1) {
                    interrupted.push(kill_mid_step(&scratch, &slow, &mut workers, &logs));
                    killed += 1;
                }
                if !restarted && now_queued >= RUNS * 2 / 3 {
                    eprintln!("cluster test: restarting PostgreSQL at {now_queued} queued");
                    database.restart();
                    restarted = true;
                }
                let results: Vec<(String, usize, Result<(), String>)> =
                    std::thread::scope(|inner| {
                        let handles: Vec<_> = chunk
                            .iter()
                            .map(|(id, server)| {
                                let (scratch, states) = (&scratch, &states);
                                inner.spawn(move || {
                                    let made = approve_through(
                                        scratch,
                                        &states[*server],
                                        operators[*server],
                                        id,
                                    );
                                    (id.clone(), *server, made)
                                })
                            })
                            .collect();
                        handles.into_iter().map(|h| h.join().unwrap()).collect()
                    });
                for (id, server, made) in results {
                    let earlier = sent_to.get(&id).cloned().unwrap_or_default();
                    sent_to
                        .entry(id.clone())
                        .or_default()
                        .insert(operators[server]);
                    match made {
                        Ok(()) => {
                            made_by.insert(id, operators[server]);
                        }
                        // Made by an earlier call whose answer the restart cut off.
                        Err(e) if e.contains("already decided") && !earlier.is_empty() => {
                            let by = operators
                                .iter()
                                .find(|name| e.contains(&format!("by {name}")))
                                .copied()
                                .unwrap_or_else(|| panic!("{id}: {e}"));
                            assert!(earlier.contains(by), "{id} was decided by {by}: {e}");
                            made_by.insert(id, by);
                        }
                        // The database, or the server's connection to it, is coming
                        // back: sent again on the next round.
                        Err(e) => {
                            last_error.insert(id, e);
                        }
                    }
                }
            }
        }
    });
    assert_eq!(killed, 2);
    assert!(restarted);
    eprintln!(
        "cluster test: {} decisions, {} sent again after an error",
        made_by.len(),
        last_error.len()
    );

    // Every run completed; each step's output committed once; each decision made
    // once, by the operator whose server it was sent to; every chain verifies.
    let export = scratch.path().join("cluster.jsonl");
    scratch
        .host(&["store", "export", "--to", export.to_str().unwrap()])
        .expect_code(0);
    let mut statuses: BTreeMap<String, String> = BTreeMap::new();
    let mut completed: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut decided: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut started = 0;
    for line in std::fs::read_to_string(&export).unwrap().lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        if let Some(summary) = line.get("summary") {
            statuses.insert(
                summary["id"].as_str().unwrap().into(),
                summary["status"].as_str().unwrap().into(),
            );
        }
        let event = &line["entry"]["event"];
        let run = line["run"].as_str().unwrap_or_default().to_string();
        match event["event"].as_str() {
            Some("step_started") => started += 1,
            Some("step_completed") => {
                *completed
                    .entry((run, event["key"]["step"].as_str().unwrap().into()))
                    .or_default() += 1;
            }
            Some("decision_made") => decided
                .entry(event["id"].as_str().unwrap().into())
                .or_default()
                .push(event["by"].as_str().unwrap().into()),
            _ => {}
        }
    }
    assert!(statuses.len() >= RUNS, "{} runs", statuses.len());
    let unfinished: Vec<_> = statuses.iter().filter(|(_, s)| *s != "completed").collect();
    assert!(unfinished.is_empty(), "{unfinished:?}");
    for run in statuses.keys() {
        for step in ["draft", "send"] {
            assert_eq!(
                completed.get(&(run.clone(), step.to_string())),
                Some(&1),
                "run {run}, step {step}"
            );
        }
        let id = format!("{run}/review");
        assert_eq!(decided.get(&id).map(Vec::len), Some(1), "{id}: {decided:?}");
        assert_eq!(decided[&id][0], made_by[&id], "{id} was decided by another");
    }
    // The steps the kills interrupted ran again (a worker killed later may have
    // been running one of them again too), and committed once (above).
    for run in &interrupted {
        let shown = scratch.host(&["show", run, "--json"]).expect_code(0).json();
        let attempts = shown["steps"]["draft"]["attempts"].as_u64().unwrap();
        assert!(attempts >= 2, "{shown}");
    }
    let verified = scratch
        .host(&["audit", "--verify", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(verified["runs"], statuses.len(), "{verified}");
    eprintln!(
        "cluster test: {} steps started again after a kill or the restart",
        started - 2 * statuses.len()
    );
}
