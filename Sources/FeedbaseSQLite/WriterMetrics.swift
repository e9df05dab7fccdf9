// What the SQLite engine records: each group commit's size and each WAL checkpoint, through
// swift-metrics' API with the handles made once from the app's factory (the engine knows no
// backend). Both are recorded on the thread that does the work (the writer, the checkpointer),
// after the work, so a write waits for nothing more than an atomic add and the histogram's own
// lock, which only the writer thread takes. The queue's depth is a state, read at scrape time
// (`SQLiteStore.queuedWrites`).

import CoreMetrics

public struct WriterMetrics: Sendable {
    /// The gauge of `SQLiteStore.queuedWrites`, which the app sets at each scrape.
    public static let queueDepth = "feedbase_sqlite_write_queue_depth"

    /// `feedbase_sqlite_write_group_size`: writes committed together in one transaction.
    let groupSize: Recorder
    /// `feedbase_sqlite_wal_checkpoints_total{by="checkpointer"}`: the background thread's.
    let backgroundCheckpoints: Counter
    /// `{by="writer"}`: the WAL passed twice the threshold and the writer finished the copy.
    let writerCheckpoints: Counter

    public init(factory: any MetricsFactory) {
        groupSize = Recorder(label: "feedbase_sqlite_write_group_size", dimensions: [], aggregate: true, factory: factory)
        backgroundCheckpoints = Counter(label: "feedbase_sqlite_wal_checkpoints_total", dimensions: [("by", "checkpointer")], factory: factory)
        writerCheckpoints = Counter(label: "feedbase_sqlite_wal_checkpoints_total", dimensions: [("by", "writer")], factory: factory)
    }

    /// Records nothing.
    public static var none: WriterMetrics { WriterMetrics(factory: NOOPMetricsHandler.instance) }
}
