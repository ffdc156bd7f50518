#!/usr/bin/env bash
# The lead follow-up, end to end: build the plugins and the host, score the sample
# leads, draft three follow-ups for the top lead, check their tone, stop at the approval
# gate, approve the default as an operator would, tag its links, and print the email
# that went into the outbox.
# Runs are kept in target/demo-state (set BATON_STATE to use another store).
set -euo pipefail
cd "$(dirname "$0")/../.."

./tools/setup.sh
# `cargo shared-build` (.cargo/config.toml) is `cargo build` with the features the test
# suite resolves, so that `cargo test --workspace` afterwards reuses this build.
cargo shared-build -q --bin host
host=target/debug/host
export BATON_STATE="${BATON_STATE:-target/demo-state}"

# --build builds each plugin (Rust, Python, JavaScript) whose sources are newer than its
# component, with the `build` command of its declaration.
echo "\$ host run examples/lead-followup/workflow.toml --input examples/leads.json --build"
status=0
"$host" run examples/lead-followup/workflow.toml --input examples/leads.json --build || status=$?
if [ "$status" -ne 3 ]; then
  echo "expected the run to wait at its gate (exit 3), got exit $status" >&2
  exit 1
fi

decision="$("$host" inbox --ids | tail -n 1)"
echo
echo "\$ host approve $decision"
"$host" approve "$decision"

echo
echo "\$ host show ${decision%%/*} --step queue"
"$host" show "${decision%%/*}" --step queue
