//! What the log reports through `tracing`: spans on open, recovery, rotation, truncation
//! and retention; a warning for a slow fsync and for a cut tail; an error when poisoned.
use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{Blob, dir};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{Options, SyncPolicy, Wal};

/// Records every span's name and every event's level and message.
#[derive(Default, Clone)]
struct Recorder {
    spans: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<Vec<(Level, String)>>>,
    next: Arc<AtomicU64>,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.spans
            .lock()
            .unwrap()
            .push(span.metadata().name().into());
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        self.events
            .lock()
            .unwrap()
            .push((*event.metadata().level(), m.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Records what `f` reports, beside other tests of this binary that run the log with no
/// subscriber.
///
/// `tracing` caches each callsite's interest for the whole process, and while one
/// dispatcher is registered it asks only the registering thread's: a callsite another test
/// reached first would stay "never" and the recorder would miss it. A second dispatcher kept
/// alive for the process, interested "sometimes", makes every callsite ask the current
/// thread's subscriber on each use.
fn recording(rec: &Recorder, f: impl FnOnce()) {
    static ANCHOR: OnceLock<tracing::Dispatch> = OnceLock::new();
    ANCHOR.get_or_init(|| tracing::Dispatch::new(Anchor));
    tracing::subscriber::with_default(rec.clone(), f);
}

/// A subscriber that records nothing and asks every callsite to check on each use.
struct Anchor;

impl Subscriber for Anchor {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    fn has_event(&self, level: Level, text: &str) -> bool {
        self.events
            .lock()
            .unwrap()
            .iter()
            .any(|(l, m)| *l == level && m.contains(text))
    }
    fn has_span(&self, name: &str) -> bool {
        self.spans.lock().unwrap().iter().any(|s| s == name)
    }
}

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .max_segments(Some(3))
}

#[test]
fn spans_cover_open_recovery_rotation_truncation_and_retention() {
    let rec = Recorder::default();
    recording(&rec, || {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), opts(&fs)).unwrap();
        for k in 1..=300 {
            wal.append(&Blob::nth(k)).unwrap();
        }
        wal.truncate_back(250).unwrap();
        wal.truncate_front(200).unwrap();
    });
    for name in [
        "wal.open",
        "wal.recover",
        "wal.rotate",
        "wal.retention",
        "wal.truncate_back",
        "wal.truncate_front",
    ] {
        assert!(rec.has_span(name), "no span {name}");
    }
}

#[test]
fn a_slow_fsync_a_cut_tail_and_poisoning_are_reported() {
    let rec = Recorder::default();
    recording(&rec, || {
        let fs = SimFs::new();
        let wal = Wal::open(
            dir(),
            opts(&fs)
                .sync(SyncPolicy::Never)
                .slow_fsync(Duration::from_millis(20)),
        )
        .unwrap();
        wal.append(&Blob::nth(1)).unwrap();
        wal.sync().unwrap();
        assert!(
            !rec.has_event(Level::WARN, "slow fsync"),
            "a fast fsync is not slow"
        );
        fs.set_sync_delay(Duration::from_millis(25));
        wal.append(&Blob::nth(2)).unwrap();
        wal.sync().unwrap();
        assert!(rec.has_event(Level::WARN, "slow fsync"));
        fs.set_sync_delay(Duration::ZERO);
        wal.append(&Blob::nth(3)).unwrap();
        assert_eq!(
            wal.iter().unwrap().count(),
            3,
            "the third is written, not synced"
        );
        let torn = fs.crash(Crash::TornPrefix(5));
        fs.set_fault(Some(Fault {
            op: Some(Op::Sync),
            skip: 0,
            persistent: true,
            error: FaultError::Eio,
        }));
        assert!(wal.sync().is_err());
        assert!(rec.has_event(Level::ERROR, "poisoned"));
        std::mem::forget(wal);
        let reopened = Wal::open(dir(), opts(&torn)).unwrap();
        assert_eq!(reopened.last_index(), 2);
        assert!(rec.has_event(Level::WARN, "recovery cut"));
    });
}
