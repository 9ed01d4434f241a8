//! Client writes per second through a 3-node openraft cluster in one process (in-process
//! router, no sockets), with each node's log on `wal-openraft` against the same cluster on
//! the in-memory log store of openraft's own `memstore` example (the ceiling: it never
//! touches a disk). The state machine is the same in-memory key-value one for both.
//!
//!   cargo run --release --bin raft -- [--writes N] [--clients C] [--dir DIR]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::storage::RaftLogStorage;
use openraft::{BasicNode, Config, Raft};
use wal_openraft::LogStore;
use wal_openraft::testing::{NodeId, Request, Router, StateMachine, TypeConfig};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The in-memory log store of openraft's `examples/memstore` (openraft 0.9.25), condensed.
mod memstore {
    use std::collections::BTreeMap;
    use std::fmt::Debug;
    use std::ops::RangeBounds;
    use std::sync::Arc;

    use openraft::storage::{LogFlushed, RaftLogStorage};
    use openraft::{LogId, LogState, RaftLogId, RaftLogReader, StorageError, Vote};
    use tokio::sync::Mutex;
    use wal_openraft::testing::{NodeId, TypeConfig};

    type Entry = openraft::Entry<TypeConfig>;

    #[derive(Default)]
    struct Inner {
        last_purged: Option<LogId<NodeId>>,
        log: BTreeMap<u64, Entry>,
        committed: Option<LogId<NodeId>>,
        vote: Option<Vote<NodeId>>,
    }

    /// The log in a `BTreeMap` behind a mutex.
    #[derive(Clone, Default)]
    pub struct MemLogStore(Arc<Mutex<Inner>>);

    impl RaftLogReader<TypeConfig> for MemLogStore {
        async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
            &mut self,
            range: RB,
        ) -> Result<Vec<Entry>, StorageError<NodeId>> {
            Ok(self
                .0
                .lock()
                .await
                .log
                .range(range)
                .map(|(_, e)| e.clone())
                .collect())
        }
    }

    impl RaftLogStorage<TypeConfig> for MemLogStore {
        type LogReader = Self;

        async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
            let inner = self.0.lock().await;
            let last = inner.log.values().next_back().map(|e| *e.get_log_id());
            Ok(LogState {
                last_purged_log_id: inner.last_purged,
                last_log_id: last.or(inner.last_purged),
            })
        }

        async fn get_log_reader(&mut self) -> Self {
            self.clone()
        }

        async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
            self.0.lock().await.vote = Some(*vote);
            Ok(())
        }

        async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
            Ok(self.0.lock().await.vote)
        }

        async fn save_committed(
            &mut self,
            c: Option<LogId<NodeId>>,
        ) -> Result<(), StorageError<NodeId>> {
            self.0.lock().await.committed = c;
            Ok(())
        }

        async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
            Ok(self.0.lock().await.committed)
        }

        async fn append<I>(
            &mut self,
            entries: I,
            callback: LogFlushed<TypeConfig>,
        ) -> Result<(), StorageError<NodeId>>
        where
            I: IntoIterator<Item = Entry> + Send,
            I::IntoIter: Send,
        {
            let mut inner = self.0.lock().await;
            for e in entries {
                inner.log.insert(e.get_log_id().index, e);
            }
            callback.log_io_completed(Ok(()));
            Ok(())
        }

        async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
            let mut inner = self.0.lock().await;
            let _ = inner.log.split_off(&log_id.index);
            Ok(())
        }

        async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
            let mut inner = self.0.lock().await;
            inner.last_purged = Some(log_id);
            inner.log = inner.log.split_off(&(log_id.index + 1));
            Ok(())
        }
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Starts a 3-node cluster whose node `id` keeps its log in `make(id)`, writes `writes` keys
/// from `clients` concurrent clients through the leader, and returns writes per second.
async fn run<LS, F>(make: F, writes: u64, clients: u64) -> Result<f64, Error>
where
    LS: RaftLogStorage<TypeConfig>,
    F: Fn(NodeId) -> LS,
{
    let config = Arc::new(
        Config {
            heartbeat_interval: 100,
            election_timeout_min: 500,
            election_timeout_max: 1000,
            max_payload_entries: 1024,
            ..Config::default()
        }
        .validate()?,
    );
    let router = Router::default();
    let mut rafts = Vec::new();
    for id in 1..=3 {
        let raft = Raft::new(
            id,
            Arc::clone(&config),
            router.clone(),
            make(id),
            Arc::new(StateMachine::default()),
        )
        .await?;
        router.add(id, raft.clone());
        rafts.push(raft);
    }
    let members: BTreeMap<NodeId, BasicNode> =
        (1..=3).map(|id| (id, BasicNode::default())).collect();
    rafts[0].initialize(members).await?;
    rafts[0]
        .wait(Some(Duration::from_secs(10)))
        .current_leader(1, "leader")
        .await?;
    let leader = rafts[0].clone();
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let leader = leader.clone();
            tokio::spawn(async move {
                for k in (c..writes).step_by(usize::try_from(clients).unwrap_or(1)) {
                    let req = Request::Set {
                        key: format!("key-{k}"),
                        value: format!("value-{k}"),
                    };
                    leader.client_write(req).await.expect("write");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    for raft in rafts {
        raft.shutdown().await?;
    }
    Ok(writes as f64 / secs)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let writes: u64 = arg("--writes").map_or(Ok(20_000), |s| s.parse())?;
    let clients: u64 = arg("--clients").map_or(Ok(64), |s| s.parse())?;
    let root: PathBuf = match arg("--dir") {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir(),
    };
    let dir = tempfile::tempdir_in(&root)?;
    let mem = run(|_| memstore::MemLogStore::default(), writes, clients).await?;
    let disk_dir: &Path = dir.path();
    let wal = run(
        |id| LogStore::<TypeConfig>::open(disk_dir.join(format!("node-{id}"))).expect("open log"),
        writes,
        clients,
    )
    .await?;
    println!("| log store | client writes/s ({writes} writes, {clients} clients, 3 nodes) |");
    println!("|---|---:|");
    println!("| openraft memstore (in memory, the ceiling) | {mem:.0} |");
    println!("| wal-openraft (fsync per group commit) | {wal:.0} |");
    println!("ratio wal-openraft / memstore: {:.2}", wal / mem);
    Ok(())
}
