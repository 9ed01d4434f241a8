//! An async server: 1,000 tokio tasks on a 2-thread runtime each handle a request by
//! appending it and answer only once it is durable (`append_async`). No thread waits per
//! request: the log's syncer thread group-commits, so the tasks share fsyncs. It prints how
//! many appends each fsync served, and checks after a reopen that every answered request is
//! in the log.
use std::sync::Arc;
use std::time::Instant;

use wal_core::{Options, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug, Clone, PartialEq)]
#[wal(type_id = 1)]
struct Request {
    client: u64,
    body: String,
}

const TASKS: u64 = 1_000;

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let wal = Arc::new(Wal::open(dir.path(), Options::default())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let start = Instant::now();
    let answers = runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|client| {
                let wal = Arc::clone(&wal);
                tokio::spawn(async move {
                    let request = Request {
                        client,
                        body: format!("transfer 10 from {client} to {}", client + 1),
                    };
                    // Answered only once the request is durable.
                    let index = wal.append_async(&request).await?;
                    Ok::<_, wal_core::Error>((index, request))
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await);
        }
        answers
    });
    let elapsed = start.elapsed();
    let mut answered = Vec::new();
    for a in answers {
        answered.push(a??);
    }
    let stats = wal.stats();
    println!(
        "{TASKS} requests answered in {elapsed:.2?} with {} fsyncs: {:.1} appends per fsync, fsync p50 {:.2?}",
        stats.fsyncs, stats.appends_per_fsync, stats.fsync_latency.p50
    );
    check(stats.appends == TASKS, "every request was appended once")?;
    check(
        stats.fsyncs < TASKS / 2,
        "the tasks share fsyncs rather than one each",
    )?;
    wal.shutdown()?;
    drop(wal);

    let wal = Wal::open(dir.path(), Options::default())?;
    let mut found = 0;
    for (index, request) in &answered {
        let logged: Request = wal.get(*index)?;
        check(&logged == request, "an answered request is in the log")?;
        found += 1;
    }
    println!("ok: all {found} answered requests found after a reopen");
    Ok(())
}
