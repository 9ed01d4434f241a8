//! A durable job queue: a producer appends jobs; a consumer follows the log, processes
//! each job once it is durable, saves its position in a state record, and drops processed
//! jobs from the front. The consumer is stopped mid-way and restarted: it resumes where it
//! stopped, and every job is processed exactly once.
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use wal_core::{Options, SyncPolicy, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug, Clone, PartialEq)]
#[wal(type_id = 1)]
struct Job {
    id: u64,
    payload: String,
}

/// The state record holding the index of the last job processed.
const POSITION: &str = "consumer";

/// Processes jobs until `stop_after` of them are done; returns the ids.
fn consume(wal: &Wal, stop_after: usize) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let done_up_to = wal
        .state(POSITION)?
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let mut follower = wal.follow(done_up_to.max(wal.first_index() - 1) + 1)?;
    let mut ids = Vec::new();
    while ids.len() < stop_after {
        let Some(item) = follower.next_timeout(Duration::from_secs(30)) else {
            return Err("no job came within 30 s".into());
        };
        let raw = item?;
        let job: Job = raw.decode()?;
        ids.push(job.id); // "process" it
        wal.save_state(POSITION, &raw.index().to_le_bytes())?;
        // Processed jobs are no longer needed: drop them every 100.
        if raw.index() % 100 == 0 {
            wal.truncate_front(raw.index() + 1)?;
        }
    }
    Ok(ids)
}

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let opts = || {
        Options::default()
            .segment_size(16 << 10)
            .sync(SyncPolicy::Always)
    };
    let total: u64 = 1_000;
    let wal = Arc::new(Wal::open(dir.path(), opts())?);
    let producer = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || -> Result<(), wal_core::Error> {
            for id in 0..total {
                wal.append(&Job {
                    id,
                    payload: format!("resize image {id}"),
                })?;
            }
            Ok(())
        })
    };
    // The first consumer stops after 400 jobs (a deploy, a crash).
    let first = consume(&wal, 400)?;
    println!("consumer 1 processed {} jobs, then stopped", first.len());
    producer.join().map_err(|_| "producer panicked")??;
    Arc::try_unwrap(wal).map_err(|_| "still shared")?.close()?;

    // A new process: the consumer resumes from its saved position.
    let wal = Wal::open(dir.path(), opts())?;
    println!(
        "reopened: jobs {}..={} still in the log",
        wal.first_index(),
        wal.last_index()
    );
    let left = usize::try_from(wal.last_index() + 1 - wal.first_index())?;
    let rest = consume(&wal, left)?;
    println!("consumer 2 processed {} jobs", rest.len());
    check(
        rest.first() == Some(&400),
        "the restarted consumer resumes right after the last job processed",
    )?;
    let all: Vec<u64> = first.iter().chain(&rest).copied().collect();
    let unique: BTreeSet<u64> = all.iter().copied().collect();
    check(
        all.len() as u64 == total && unique.len() as u64 == total,
        "every job is processed exactly once",
    )?;
    check(
        all.windows(2).all(|w| w[0] < w[1]),
        "jobs are processed in the order they were queued",
    )?;
    check(
        wal.first_index() > 900,
        "processed jobs are dropped from the front",
    )?;
    println!(
        "ok: {total} jobs processed exactly once across a restart; the log now starts at {}",
        wal.first_index()
    );
    Ok(())
}
