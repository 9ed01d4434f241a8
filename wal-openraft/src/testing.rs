//! A key-value state machine in memory and its type configuration, for tests and examples
//! (after the one in openraft's own `raft-kv-memstore` example, openraft 0.9.25), and an
//! in-process network for clusters in one process. Behind the `testing` feature.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use openraft::Raft;
use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, RaftSnapshotBuilder, RaftTypeConfig, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};
use tokio::sync::RwLock;

/// A node id.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The type configuration of the tests.
    pub TypeConfig:
        D = Request,
        R = Response,
);

/// A write: set `key` to `value`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Sets a key.
    Set {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
}

/// What a write returns: the value set.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The value set, if the entry was a write.
    pub value: Option<String>,
}

/// The state machine's data.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct Data {
    /// The last entry applied.
    pub last_applied: Option<LogId<NodeId>>,
    /// The last membership applied.
    pub last_membership: StoredMembership<NodeId, BasicNode>,
    /// The keys and values.
    pub kv: BTreeMap<String, String>,
}

/// A snapshot kept: its meta and its bytes.
type Stored = (SnapshotMeta<NodeId, BasicNode>, Vec<u8>);

/// The state machine and its last snapshot.
#[derive(Debug, Default)]
pub struct StateMachine {
    /// The data.
    pub data: RwLock<Data>,
    snapshot: RwLock<Option<Stored>>,
    snapshots: std::sync::atomic::AtomicU64,
}

impl RaftSnapshotBuilder<TypeConfig> for Arc<StateMachine> {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let data = self.data.read().await;
        let bytes =
            serde_json::to_vec(&data.kv).map_err(|e| StorageIOError::read_state_machine(&e))?;
        let n = self
            .snapshots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let meta = SnapshotMeta {
            last_log_id: data.last_applied,
            last_membership: data.last_membership.clone(),
            snapshot_id: format!("{:?}-{n}", data.last_applied),
        };
        let mut current = self.snapshot.write().await;
        drop(data);
        *current = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for Arc<StateMachine> {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        let data = self.data.read().await;
        Ok((data.last_applied, data.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
    {
        let mut data = self.data.write().await;
        let mut out = Vec::new();
        for entry in entries {
            data.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => out.push(Response { value: None }),
                EntryPayload::Normal(Request::Set { key, value }) => {
                    data.kv.insert(key, value.clone());
                    out.push(Response { value: Some(value) });
                }
                EntryPayload::Membership(m) => {
                    data.last_membership = StoredMembership::new(Some(entry.log_id), m);
                    out.push(Response { value: None });
                }
            }
        }
        Ok(out)
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<<TypeConfig as RaftTypeConfig>::SnapshotData>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<<TypeConfig as RaftTypeConfig>::SnapshotData>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let kv = serde_json::from_slice(&bytes)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let mut data = self.data.write().await;
        *data = Data {
            last_applied: meta.last_log_id,
            last_membership: meta.last_membership.clone(),
            kv,
        };
        let mut current = self.snapshot.write().await;
        drop(data);
        *current = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(self
            .snapshot
            .read()
            .await
            .as_ref()
            .map(|(meta, bytes)| Snapshot {
                meta: meta.clone(),
                snapshot: Box::new(Cursor::new(bytes.clone())),
            }))
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        Arc::clone(self)
    }
}

/// The running nodes by id.
type Nodes = Arc<Mutex<BTreeMap<NodeId, Raft<TypeConfig>>>>;

/// An in-process network for clusters in one process: a message to a node is a call on its
/// `Raft` handle; a node not added (or removed: stopped) is unreachable.
#[derive(Clone, Default)]
pub struct Router(Nodes);

/// A connection of the [`Router`] to one node.
pub struct Client {
    target: NodeId,
    router: Router,
}

impl Router {
    /// Makes node `id` reachable through `raft`.
    pub fn add(&self, id: NodeId, raft: Raft<TypeConfig>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, raft);
    }

    /// Makes node `id` unreachable.
    pub fn remove(&self, id: NodeId) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    fn get(&self, id: NodeId) -> Option<Raft<TypeConfig>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }
}

fn unreachable<E: std::error::Error>(target: NodeId) -> RPCError<NodeId, BasicNode, E> {
    let e = std::io::Error::other(format!("node {target} is stopped"));
    RPCError::Unreachable(Unreachable::new(&e))
}

impl RaftNetworkFactory<TypeConfig> for Router {
    type Network = Client;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> Client {
        Client {
            target,
            router: self.clone(),
        }
    }
}

impl RaftNetwork<TypeConfig> for Client {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let raft = self
            .router
            .get(self.target)
            .ok_or_else(|| unreachable(self.target))?;
        raft.append_entries(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let raft = self
            .router
            .get(self.target)
            .ok_or_else(|| unreachable(self.target))?;
        raft.install_snapshot(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let raft = self
            .router
            .get(self.target)
            .ok_or_else(|| unreachable(self.target))?;
        raft.vote(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}
