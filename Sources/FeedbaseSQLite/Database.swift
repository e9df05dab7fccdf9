// The concurrency model of the store, and why it never blocks an event loop:
//
// - One writer connection on its own thread serialises every write. Callers `await write { }`;
//   the job is queued and the caller's thread (an event loop, a task) returns at once.
// - The writer commits in groups: it takes every job queued when its previous commit ended (up
//   to `maxBatch`), runs them in one `BEGIN IMMEDIATE` transaction, each inside its own SAVEPOINT
//   (a failing job is rolled back to its savepoint alone), then COMMITs once: one fsync for the
//   whole group. A job's continuation is resumed only after that COMMIT, so an acknowledged
//   write is durable. No timer: a lone write pays one commit, a crowd shares one.
// - A pool of reader connections, each on its own thread, serves `await read { }`; every read is
//   one deferred transaction, so everything it returns comes from one WAL snapshot.
// - SQLite handles never cross threads: a Connection is created before its thread starts and is
//   used by that thread alone.

import CoreMetrics
import FeedbaseModel
import Foundation
import Synchronization

/// A FIFO of jobs for worker threads, guarded by an NSCondition (a mutex plus the condition
/// variable the idle threads sleep on). NSCondition rather than Mutex because threads must block.
final class JobQueue<Job: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false

    /// False when the queue is closed (the job is not taken).
    func push(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Blocks until jobs are queued; takes up to `limit` of them. Nil once closed and drained.
    func take(upTo limit: Int) -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count && !closed { condition.wait() }
        guard head < jobs.count else { return nil }
        let end = min(jobs.count, head + limit)
        let taken = Array(jobs[head..<end])
        head = end
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 {
            jobs.removeFirst(head)
            head = 0
        }
        return taken
    }

    /// Jobs queued and not yet taken (read at scrape time: the lock is the push's, briefly).
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Lets `close()` wait, without blocking a thread, until every worker thread has exited.
final class ThreadGroup: Sendable {
    private let state: Mutex<(running: Int, waiters: [CheckedContinuation<Void, Never>])>

    init(count: Int) { state = Mutex((count, [])) }

    func threadExited() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// Moves a connection to the thread that will own it. Unchecked because a Connection is not
/// Sendable; it is sound because the creating thread drops its reference before the move.
private struct ConnectionTransfer: @unchecked Sendable {
    let connection: Connection
}

/// A write job: runs on the writer thread inside its own savepoint, and says whether it succeeded
/// and how to report the outcome once the group's COMMIT is known.
struct WriteJob: Sendable {
    struct Outcome {
        var succeeded: Bool
        /// Why the job failed, when it did: if SQLite then aborted the whole transaction (disk
        /// full, I/O error), the group's other jobs fail with the same kind.
        var failure: StoreError? = nil
        /// Called after COMMIT (with nil) or after a failed group (with the error).
        var complete: @Sendable (StoreError?) -> Void
    }
    var run: @Sendable (Connection) -> Outcome
    /// Called instead of `run` when the job never runs (the group could not begin).
    var fail: @Sendable (StoreError) -> Void
}

final class Database: Sendable {
    private let writes = JobQueue<WriteJob>()
    /// Called on the writer thread after every group of writes.
    let commitObservers = CommitObservers()
    private let reads = JobQueue<@Sendable (Connection) -> Void>()
    private let threads: ThreadGroup
    let readerCount: Int
    let maxBatch: Int

    /// Wakes the checkpointer thread; nil when SQLite checkpoints in the writer's commits.
    private let checkpoints: CheckpointSignal?

    /// Takes ownership of the connections: none may be used by the caller afterwards.
    /// `checkpointer`: a connection for WAL checkpoints on a thread of their own, run when the
    /// WAL passes `checkpointPages` (Checkpointer.swift); nil leaves them to SQLite's commits.
    /// `metrics`: group sizes and checkpoints are recorded into it (WriterMetrics.swift).
    init(
        writer: Connection, readers: [Connection], checkpointer: Connection? = nil, checkpointPages: Int32 = 1000, maxBatch: Int = 256,
        metrics: WriterMetrics = .none
    ) throws {
        self.readerCount = readers.count
        self.maxBatch = maxBatch
        self.threads = ThreadGroup(count: readers.count + 1 + (checkpointer == nil ? 0 : 1))
        if let checkpointer {
            let signal = CheckpointSignal(pages: checkpointPages, writerCheckpoints: metrics.writerCheckpoints)
            try Checkpointer.install(on: writer, signal: signal)
            checkpoints = signal
            let transfer = ConnectionTransfer(connection: checkpointer)
            let threads = self.threads
            let thread = Thread {
                Checkpointer.run(transfer.connection, signal: signal, counted: metrics.backgroundCheckpoints)
                threads.threadExited()
            }
            thread.name = "feedbase-checkpointer"
            thread.start()
        } else {
            checkpoints = nil
        }
        let writerTransfer = ConnectionTransfer(connection: writer)
        let writes = self.writes, reads = self.reads, threads = self.threads
        let observers = commitObservers
        let notify: @Sendable () -> Void = { observers.notify() }
        let signal = checkpoints
        let writerThread = Thread {
            Database.writerLoop(writerTransfer.connection, queue: writes, maxBatch: maxBatch, groupSize: metrics.groupSize, committed: notify)
            // The WAL hook holds the signal unretained: this closure keeps it alive while the
            // writer may still commit (the Database may be gone already), and the hook goes first.
            if let signal { Checkpointer.uninstall(from: writerTransfer.connection, signal: signal) }
            threads.threadExited()
        }
        writerThread.name = "feedbase-writer"
        writerThread.start()
        for (index, reader) in readers.enumerated() {
            let transfer = ConnectionTransfer(connection: reader)
            let thread = Thread {
                while let jobs = reads.take(upTo: 1) {
                    for job in jobs { job(transfer.connection) }
                }
                threads.threadExited()
            }
            thread.name = "feedbase-reader-\(index)"
            thread.start()
        }
    }

    /// Runs `body` in a read transaction on a reader thread.
    func read<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await readStatement { connection in try connection.transaction(.deferred) { try body(connection) } }
    }

    /// Runs `body` on a reader thread without an explicit transaction: for a read that is one
    /// statement, which SQLite already runs on one snapshot (saves a BEGIN and a COMMIT).
    func readStatement<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            readStatement(body) { continuation.resume(with: $0) }
        }
    }

    /// The callback form of `readStatement`: `completion` runs on the reader thread (or at once,
    /// when the database is closed). A caller that is not a Swift task, an event loop, saves
    /// the two thread hops into and out of the concurrency pool this way.
    func readStatement<T>(
        _ body: @escaping @Sendable (Connection) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let accepted = reads.push { connection in completion(Result { try body(connection) }) }
        if !accepted { completion(.failure(StoreError(.internal, "the database is closed"))) }
    }

    /// The callback form of `read`.
    func read<T>(
        _ body: @escaping @Sendable (Connection) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        readStatement({ connection in try connection.transaction(.deferred) { try body(connection) } }, completion: completion)
    }

    /// Runs `body` on the writer thread inside a transaction shared with other queued writes, and
    /// returns once that transaction has committed. If `body` throws, its changes alone are undone.
    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = WriteJob(
                run: { connection in
                    do {
                        let value = try body(connection)
                        return WriteJob.Outcome(succeeded: true) { groupError in
                            if let groupError { continuation.resume(throwing: groupError) } else { continuation.resume(returning: value) }
                        }
                    } catch {
                        // A batch's failure wraps the store's: the group needs its kind (disk full).
                        let cause = error as? StoreError ?? (error as? BatchFailure)?.error as? StoreError
                        return WriteJob.Outcome(succeeded: false, failure: cause) { _ in continuation.resume(throwing: error) }
                    }
                },
                fail: { error in continuation.resume(throwing: error) })
            if !writes.push(job) { continuation.resume(throwing: StoreError(.internal, "the database is closed")) }
        }
    }

    /// Dropping the last reference lets the threads finish the queued jobs, close their
    /// connections and exit.
    deinit {
        writes.close()
        reads.close()
        checkpoints?.close()
    }

    /// Writes queued behind the group the writer is running.
    var queuedWrites: Int { writes.count }

    /// Finishes the queued jobs, then closes every connection.
    func close() async {
        writes.close()
        reads.close()
        checkpoints?.close()
        await threads.wait()
    }

    private static func writerLoop(
        _ connection: Connection, queue: JobQueue<WriteJob>, maxBatch: Int, groupSize: Recorder, committed: @Sendable () -> Void
    ) {
        while let batch = queue.take(upTo: maxBatch) {
            var pending = batch[...]
            while !pending.isEmpty {
                let count = pending.count
                pending = commitGroup(pending, on: connection)
                groupSize.record(count - pending.count)
            }
            committed()
        }
    }

    /// Runs jobs from the front of `jobs` in one transaction and returns those not yet run: all
    /// of them normally; the rest when SQLite aborted the whole transaction half-way (disk full,
    /// I/O error), which fails the jobs of that transaction but not the ones after it.
    private static func commitGroup(_ jobs: ArraySlice<WriteJob>, on connection: Connection) -> ArraySlice<WriteJob> {
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch let error as StoreError {
            for job in jobs { job.fail(error) }
            return []
        } catch {
            return []
        }
        var completions: [WriteJob.Outcome] = []
        var index = jobs.startIndex
        while index < jobs.endIndex {
            let job = jobs[index]
            index += 1
            let outcome: WriteJob.Outcome
            do {
                try connection.execute("SAVEPOINT job")
                outcome = job.run(connection)
                if connection.isInTransaction {
                    if !outcome.succeeded { try connection.execute("ROLLBACK TO job") }
                    try connection.execute("RELEASE job")
                }
            } catch let error as StoreError {
                job.fail(error)
                continue
            } catch {
                job.fail(StoreError(.internal, "unexpected error: \(error)"))
                continue
            }
            completions.append(outcome)
            if !connection.isInTransaction {
                let cause = outcome.failure
                let error = StoreError(cause?.kind ?? .unavailable, "the database aborted the transaction: " + (cause?.message ?? "disk full or I/O error"), sqliteCode: cause?.sqliteCode)
                for completion in completions { completion.complete(error) }
                return jobs[index...]
            }
        }
        do {
            try connection.execute("COMMIT")
            for completion in completions { completion.complete(nil) }
        } catch {
            connection.rollback()
            let storeError = error as? StoreError ?? StoreError(.internal, "commit failed: \(error)")
            for completion in completions { completion.complete(storeError) }
        }
        return []
    }
}

final class CommitObservers: Sendable {
    private let observers = Mutex<[@Sendable () -> Void]>([])

    func add(_ observer: @escaping @Sendable () -> Void) { observers.withLock { $0.append(observer) } }

    func notify() {
        for observer in observers.withLock({ $0 }) { observer() }
    }
}
