//! The files against the anchors recorded in the database. An anchor says how many
//! lines a chain (named by the hash of its first line) held at a time and the hash of
//! the last of them, so a file shorter than an anchor lost its tail, a line whose hash
//! differs from the anchor at its number was rewritten, and lines after a chain's last
//! anchor when that anchor is `shutdown` were written by someone else. A file whose chain
//! no anchor names while its instance anchored another chain was replaced; an anchored
//! chain no file holds is missing; two files holding one chain are one file given twice.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
};

use super::{scan::ScannedFile, Finding, Place};
use crate::cold::{entities::audit_anchor, AnchorReason};

/// The anchors by chain, and the chains found in the files so far.
pub(super) struct ChainAnchors<'a> {
    /// Each chain's anchors, in the order they were recorded.
    by_chain: BTreeMap<&'a str, Vec<&'a audit_anchor::Model>>,
    /// The instances that recorded any anchor.
    instances: HashSet<&'a str>,
    /// The line numbers anchors refer to: a scan keeps their hashes.
    pub(super) wanted: HashSet<usize>,
    /// The file each chain was first found in.
    seen: HashMap<String, PathBuf>,
}

impl<'a> ChainAnchors<'a> {
    pub(super) fn new(anchors: &'a [audit_anchor::Model]) -> ChainAnchors<'a> {
        let mut by_chain: BTreeMap<&str, Vec<&audit_anchor::Model>> = BTreeMap::new();
        for anchor in anchors {
            by_chain.entry(&anchor.chain).or_default().push(anchor);
        }
        ChainAnchors {
            by_chain,
            instances: anchors.iter().map(|a| a.instance.as_str()).collect(),
            wanted: anchors.iter().map(anchored_lines).collect(),
            seen: HashMap::new(),
        }
    }

    /// Checks the chain of the file at `path`: returns the most lines an anchor of it
    /// covers and what is wrong at its lines. A chain nobody could have anchored (its
    /// instance recorded no anchor at all) is not a problem, but a note.
    pub(super) fn check_file(
        &mut self,
        path: &Path,
        scanned: &ScannedFile,
        notes: &mut Vec<String>,
    ) -> (Option<usize>, Vec<Finding>) {
        let mut findings = Vec::new();
        let Some(chain) = &scanned.chain else {
            return (None, findings);
        };
        if let Some(first) = self.seen.get(chain) {
            findings.push(Finding::at_line(
                path,
                1,
                format!(
                    "the same chain as {}: a file was given twice or copied",
                    first.display()
                ),
            ));
        } else {
            self.seen.insert(chain.clone(), path.to_path_buf());
        }
        let anchored = match self.by_chain.get(chain.as_str()) {
            Some(chain_anchors) => check_anchors(path, scanned, chain_anchors, &mut findings),
            None => {
                self.unanchored(path, scanned, &mut findings, notes);
                None
            }
        };
        (anchored, findings)
    }

    /// A file whose chain no anchor names.
    fn unanchored(
        &self,
        path: &Path,
        scanned: &ScannedFile,
        findings: &mut Vec<Finding>,
        notes: &mut Vec<String>,
    ) {
        let instance = scanned.instance.as_deref().unwrap_or("?");
        if self.instances.contains(instance) {
            findings.push(Finding::at_line(
                path,
                1,
                format!(
                    "no anchor names this chain, although instance {instance} recorded \
                     anchors for another: the file was rewritten or replaced (or its \
                     instance died before its first anchor)"
                ),
            ));
        } else {
            notes.push(format!(
                "{}: no anchor recorded for instance {instance} (it never reached \
                 its first anchor): its hash chain was checked, not its length",
                path.display()
            ));
        }
    }

    /// The anchored chains found in none of the files checked.
    pub(super) fn missing_chains(&self) -> Vec<Finding> {
        self.by_chain
            .iter()
            .filter(|(chain, _)| !self.seen.contains_key(**chain))
            .filter_map(|(_, chain_anchors)| chain_anchors.iter().max_by_key(|a| a.lines))
            .map(|last| Finding {
                place: Place::Chain {
                    instance: last.instance.clone(),
                    file: last.file.clone(),
                },
                reason: format!(
                    "{} lines were anchored at {} ({}), but no file given holds this chain: \
                     the file is missing, or it was replaced by a rewritten one",
                    last.lines,
                    recorded(last),
                    last.reason
                ),
            })
            .collect()
    }
}

/// When an anchor was recorded, for messages.
fn recorded(anchor: &audit_anchor::Model) -> String {
    anchor
        .recorded_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn anchored_lines(anchor: &audit_anchor::Model) -> usize {
    usize::try_from(anchor.lines).unwrap_or(usize::MAX)
}

/// Checks one file against the anchors of its chain (oldest first); returns the most
/// lines an anchor covers.
fn check_anchors(
    path: &Path,
    scanned: &ScannedFile,
    anchors: &[&audit_anchor::Model],
    findings: &mut Vec<Finding>,
) -> Option<usize> {
    let lines = scanned.report.lines;
    let longest = anchors.iter().max_by_key(|a| a.lines)?;
    let anchored = anchored_lines(longest);
    if anchored > lines {
        findings.push(Finding::at_line(
            path,
            lines + 1,
            format!(
                "missing: {anchored} lines were anchored at {} ({}), the file ends at line \
                 {lines}: lines {}–{anchored} were cut off",
                recorded(longest),
                longest.reason,
                lines + 1
            ),
        ));
    }
    findings.extend(first_rewritten(path, scanned, anchors));
    if let Some(last) = anchors.last() {
        findings.extend(after_shutdown(path, lines, last));
    }
    Some(anchored)
}

/// The first anchored line, shortest anchor first, whose hash is not the anchor's.
fn first_rewritten(
    path: &Path,
    scanned: &ScannedFile,
    anchors: &[&audit_anchor::Model],
) -> Option<Finding> {
    let mut by_length = anchors.to_vec();
    by_length.sort_by_key(|a| a.lines);
    let mut intact_through = 0;
    for anchor in by_length {
        let at = anchored_lines(anchor);
        match scanned.anchored_hashes.get(&at) {
            Some(hash) if *hash == anchor.hash => intact_through = at,
            Some(_) => {
                return Some(Finding::at_line(
                    path,
                    at,
                    format!(
                        "not the line anchored here at {} ({}): the chain was rewritten at or \
                         before this line{}",
                        recorded(anchor),
                        anchor.reason,
                        match intact_through {
                            0 => String::new(),
                            line => format!(", after line {line} (which matches its anchor)"),
                        }
                    ),
                ));
            }
            None => return None,
        }
    }
    None
}

/// The lines after `last`, the chain's latest anchor, if it was recorded at shutdown.
fn after_shutdown(path: &Path, lines: usize, last: &audit_anchor::Model) -> Vec<Finding> {
    let closed_at = anchored_lines(last);
    if last.reason != AnchorReason::Shutdown.as_str() || lines <= closed_at {
        return Vec::new();
    }
    (closed_at + 1..=lines)
        .map(|line| {
            Finding::at_line(
                path,
                line,
                format!(
                    "written after instance {} shut down cleanly at {} with {closed_at} \
                     lines: not written by the instance",
                    last.instance,
                    recorded(last)
                ),
            )
        })
        .collect()
}
