//! Three openraft nodes in one process, each keeping its Raft log in its own directory of
//! this log (`wal-openraft`), connected by an in-process router. 1,000 client writes to a
//! key-value state machine; meanwhile a follower is stopped and restarted from its log and
//! catches up, and the leader is stopped and a new one elected. At the end every node's
//! state machine holds the same 1,000 keys and every node's log opens cleanly in the strict
//! recovery mode with every frame verified.
//!
//! `cargo run -p wal-examples --example replicated_kv`

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::{BasicNode, Config, Raft};
use wal_core::{RecoveryMode, Wal};
use wal_openraft::LogStore;
use wal_openraft::testing::{NodeId, Request, Router, StateMachine, TypeConfig};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A running node: its Raft handle and its state machine.
struct Node {
    raft: Raft<TypeConfig>,
    sm: Arc<StateMachine>,
}

/// Starts node `id` on its log directory (created, or reopened after a stop).
async fn start(id: NodeId, root: &Path, router: &Router) -> Result<Node, Error> {
    let config = Arc::new(
        Config {
            heartbeat_interval: 50,
            election_timeout_min: 200,
            election_timeout_max: 400,
            ..Config::default()
        }
        .validate()?,
    );
    let log = LogStore::<TypeConfig>::open(root.join(format!("node-{id}")))?;
    let sm = Arc::new(StateMachine::default());
    let raft = Raft::new(id, config, router.clone(), log, Arc::clone(&sm)).await?;
    router.add(id, raft.clone());
    Ok(Node { raft, sm })
}

/// Stops node `id`: unreachable at once, then shut down (its log closed).
async fn stop(
    id: NodeId,
    nodes: &mut BTreeMap<NodeId, Node>,
    router: &Router,
) -> Result<(), Error> {
    router.remove(id);
    let node = nodes.remove(&id).ok_or("no such node")?;
    node.raft.shutdown().await?;
    Ok(())
}

/// The current leader, once one is elected among the running nodes.
async fn leader(nodes: &BTreeMap<NodeId, Node>) -> Result<NodeId, Error> {
    for _ in 0..200 {
        for node in nodes.values() {
            if let Some(l) = node.raft.metrics().borrow().current_leader
                && nodes.contains_key(&l)
            {
                return Ok(l);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("no leader elected".into())
}

/// Writes keys `range` through the leader (retrying through a new leader if it changes).
async fn write(nodes: &BTreeMap<NodeId, Node>, range: std::ops::Range<u32>) -> Result<(), Error> {
    for k in range {
        let req = Request::Set {
            key: format!("key-{k:04}"),
            value: format!("value-{k}"),
        };
        let mut tries = 0;
        loop {
            let l = leader(nodes).await?;
            match nodes[&l].raft.client_write(req.clone()).await {
                Ok(_) => break,
                Err(e) if tries < 20 => {
                    tries += 1;
                    eprintln!("write {k}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Waits until every running node has applied the highest last log index any of them has
/// (the leader's: a node just restarted may still name itself leader from its own log, so
/// no single node's view is trusted).
async fn settle(nodes: &BTreeMap<NodeId, Node>) -> Result<u64, Error> {
    leader(nodes).await?;
    let last = nodes
        .values()
        .filter_map(|n| n.raft.metrics().borrow().last_log_index)
        .max()
        .unwrap_or(0);
    for node in nodes.values() {
        node.raft
            .wait(Some(Duration::from_secs(20)))
            .applied_index_at_least(Some(last), "catch up")
            .await?;
    }
    Ok(last)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let root = tempfile::tempdir()?;
    let router = Router::default();
    let mut nodes = BTreeMap::new();
    for id in 1..=3 {
        nodes.insert(id, start(id, root.path(), &router).await?);
    }
    let members: BTreeMap<NodeId, BasicNode> =
        (1..=3).map(|id| (id, BasicNode::default())).collect();
    nodes[&1].raft.initialize(members).await?;
    let first = leader(&nodes).await?;
    println!("node {first} leads; writing 400 keys");
    write(&nodes, 0..400).await?;

    let follower = (1..=3).find(|&id| id != first).ok_or("no follower")?;
    stop(follower, &mut nodes, &router).await?;
    println!("follower {follower} stopped; writing 300 keys without it");
    write(&nodes, 400..700).await?;
    nodes.insert(follower, start(follower, root.path(), &router).await?);
    let applied = settle(&nodes).await?;
    println!("follower {follower} restarted from its log and caught up to index {applied}");

    stop(first, &mut nodes, &router).await?;
    let second = leader(&nodes).await?;
    println!("leader {first} stopped; node {second} elected; writing 300 keys");
    write(&nodes, 700..1_000).await?;
    nodes.insert(first, start(first, root.path(), &router).await?);
    let applied = settle(&nodes).await?;
    println!("node {first} restarted and caught up to index {applied}");

    let mut states = Vec::new();
    for (id, node) in &nodes {
        let kv = node.sm.data.read().await.kv.clone();
        assert_eq!(kv.len(), 1_000, "node {id} holds {} keys", kv.len());
        states.push(kv);
    }
    assert!(
        states.windows(2).all(|w| w[0] == w[1]),
        "state machines differ"
    );
    let keys: BTreeSet<_> = states[0].keys().cloned().collect();
    assert_eq!(keys.len(), 1_000);
    println!("all 3 state machines hold the same 1,000 keys");

    let ids: Vec<_> = nodes.keys().copied().collect();
    for id in ids {
        stop(id, &mut nodes, &router).await?;
    }
    for id in 1..=3u64 {
        let dir = root.path().join(format!("node-{id}"));
        let wal = open_when_released(&dir)?;
        assert!(
            wal.recovery_report().is_clean(),
            "node {id}: {:?}",
            wal.recovery_report()
        );
        let n = wal.iter()?.try_fold(0u64, |n, e| e.map(|_| n + 1))?;
        println!(
            "node {id}: log verified in strict mode, {n} entries (indexes {}..={})",
            wal.first_index(),
            wal.last_index()
        );
    }
    Ok(())
}

/// Opens a node's log in the strict recovery mode, once its store has released it.
fn open_when_released(dir: &Path) -> Result<Wal, Error> {
    let opts = || wal_core::Options::default().recovery(RecoveryMode::Strict);
    for _ in 0..100 {
        match Wal::open(dir, opts()) {
            Err(wal_core::Error::Locked { .. }) => std::thread::sleep(Duration::from_millis(50)),
            other => return Ok(other?),
        }
    }
    Err(format!("{} stayed locked", dir.display()).into())
}
