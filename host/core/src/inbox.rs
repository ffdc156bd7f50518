//! The index of pending decisions, in the order the inbox lists them (critical
//! first, then oldest first), so that reading the first screen of the inbox costs
//! the same at ten waiting runs as at ten thousand.
//!
//! The index is derived from the log: each append carries an [`InboxChange`], worked
//! out by [`InboxChange::between`] from the run's state before and after the events,
//! and a store writes it in the same atomic write as the events. A store rebuilds
//! the index from the runs themselves ([`entries_of`]) when it has none, and `host
//! audit --verify` rebuilds it when it disagrees with the logs.

use serde::{Deserialize, Serialize};

use crate::event::{RunEvent, Severity};
use crate::ids::DecisionId;
use crate::state::{DecisionRecord, RunState};

/// Where a pending decision sorts: severity, then the time its gate opened, then its
/// id (unique). Bytes that sort in that order are [`InboxKey::to_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InboxKey {
    pub severity: Severity,
    pub opened_at: u64,
    pub id: DecisionId,
}

impl InboxKey {
    pub fn of(record: &DecisionRecord) -> InboxKey {
        InboxKey {
            severity: record.request.severity,
            opened_at: record.opened_at,
            id: record.request.id.clone(),
        }
    }

    /// A severity byte, the opening time big-endian, then the id as its parts (the
    /// run, the gate's step, 0, and its item big-endian after a 1 if it has one), so
    /// that byte order is inbox order, items in number order (`review/4` before
    /// `review/10`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let run = self.id.run.as_str();
        let step = self.id.gate.step.as_str();
        let mut bytes = Vec::with_capacity(16 + run.len() + step.len());
        bytes.push(self.severity as u8);
        bytes.extend_from_slice(&self.opened_at.to_be_bytes());
        bytes.extend_from_slice(run.as_bytes());
        bytes.push(b'/');
        bytes.extend_from_slice(step.as_bytes());
        bytes.push(0);
        if let Some(item) = self.id.gate.item {
            bytes.push(1);
            bytes.extend_from_slice(&item.to_be_bytes());
        }
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<InboxKey> {
        let (&severity, rest) = bytes.split_first()?;
        let severity = [
            Severity::Critical,
            Severity::High,
            Severity::Monitor,
            Severity::Info,
        ]
        .into_iter()
        .find(|s| *s as u8 == severity)?;
        let (opened_at, id) = rest.split_at_checked(8)?;
        let end = id.iter().position(|b| *b == 0)?;
        let (names, item) = (&id[..end], &id[end + 1..]);
        let (run, step) = std::str::from_utf8(names).ok()?.split_once('/')?;
        let item = match item {
            [] => None,
            [1, item @ ..] => Some(u32::from_be_bytes(item.try_into().ok()?)),
            _ => return None,
        };
        let step = crate::StepId::try_from(step.to_string()).ok()?;
        Some(InboxKey {
            severity,
            opened_at: u64::from_be_bytes(opened_at.try_into().ok()?),
            id: DecisionId::new(run.parse().ok()?, crate::StepKey { step, item }),
        })
    }
}

/// One line of the inbox: a pending decision with what is shown beside it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The run's workflow.
    pub workflow: String,
    /// What the run is about, once its summary rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub record: DecisionRecord,
}

/// What an append does to the index: entries it removes, entries it writes (new, or
/// changed, e.g. shown to someone).
#[derive(Clone, Debug, Default)]
pub struct InboxChange {
    pub remove: Vec<InboxKey>,
    pub put: Vec<(InboxKey, InboxEntry)>,
}

impl InboxChange {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.put.is_empty()
    }

    /// What `events`, just applied to `state`, did to the run's pending decisions;
    /// `pending_before` lists those pending before them. Costs nothing for a run that
    /// has none before or after, which is most appends.
    pub fn between(
        pending_before: &[DecisionId],
        state: &RunState,
        events: &[RunEvent],
    ) -> InboxChange {
        let mut change = InboxChange::default();
        for id in pending_before {
            if let Some(record) = state.decisions.get(id)
                && record.status != crate::DecisionStatus::Pending
            {
                change.remove.push(InboxKey::of(record));
            }
        }
        // A new summary is shown beside every pending decision of the run.
        let all = events
            .iter()
            .any(|e| matches!(e, RunEvent::Described { .. }));
        for record in state.pending() {
            let id = &record.request.id;
            let touched = all
                || !pending_before.contains(id)
                || events.iter().any(|e| e.decision() == Some(id));
            if touched {
                change
                    .put
                    .push((InboxKey::of(record), entry(state, record)));
            }
        }
        change
    }

    /// The change that writes every pending decision of `state` (a rebuild).
    pub fn all_of(state: &RunState) -> InboxChange {
        InboxChange {
            remove: vec![],
            put: entries_of(state),
        }
    }
}

/// The ids of the decisions pending in `state`.
pub fn pending_ids(state: &RunState) -> Vec<DecisionId> {
    state.pending().map(|d| d.request.id.clone()).collect()
}

/// Every pending decision of `state` as the index keeps it.
pub fn entries_of(state: &RunState) -> Vec<(InboxKey, InboxEntry)> {
    state
        .pending()
        .map(|record| (InboxKey::of(record), entry(state, record)))
        .collect()
}

fn entry(state: &RunState, record: &DecisionRecord) -> InboxEntry {
    InboxEntry {
        workflow: state.workflow.clone(),
        about: state.about.clone(),
        record: record.clone(),
    }
}

/// A page of the inbox: up to the limit asked for, in order, and how many are pending
/// in all.
#[derive(Clone, Debug, Default)]
pub struct InboxPage {
    pub entries: Vec<(InboxKey, InboxEntry)>,
    pub total: u64,
}

/// A page of `entries` (every pending decision, any order) after `after`: what a
/// store without an index answers, and what the tests compare an index with.
pub fn page_of(
    mut entries: Vec<(InboxKey, InboxEntry)>,
    after: Option<&InboxKey>,
    limit: usize,
) -> InboxPage {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let total = entries.len() as u64;
    let entries = entries
        .into_iter()
        .filter(|(key, _)| after.is_none_or(|after| key > after))
        .take(limit)
        .collect();
    InboxPage { entries, total }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bytes_sort_as_the_inbox_does_and_read_back() {
        let run = crate::RunId::generate();
        let key = |severity, opened_at, step: &str, item| InboxKey {
            severity,
            opened_at,
            id: DecisionId::new(
                run.clone(),
                crate::StepKey {
                    step: crate::StepId::try_from(step.to_string()).unwrap(),
                    item,
                },
            ),
        };
        let keys = [
            key(Severity::Critical, 900, "b", None),
            key(Severity::High, 5, "a", None),
            key(Severity::High, 5, "a", Some(4)),
            key(Severity::High, 5, "a", Some(10)),
            key(Severity::High, 5, "ab", None),
            key(Severity::High, 256, "a", None),
            key(Severity::Info, 1, "a", None),
        ];
        // The same order as the ids' own.
        let mut sorted = keys.to_vec();
        sorted.sort();
        assert_eq!(sorted, keys);
        let mut bytes: Vec<_> = keys.iter().map(InboxKey::to_bytes).collect();
        bytes.reverse();
        bytes.sort();
        let back: Vec<_> = bytes
            .iter()
            .map(|b| InboxKey::from_bytes(b).unwrap())
            .collect();
        assert_eq!(back, keys);
        assert_eq!(InboxKey::from_bytes(&[7, 0, 0]), None);
    }
}
