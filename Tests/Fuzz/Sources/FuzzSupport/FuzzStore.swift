// What the fuzz targets share: a store on a temporary SQLite file with the shipped migrations and
// a few rows of every collection, and a way to wait for async work from libFuzzer's synchronous
// callback. Opened once per process: a fresh database per input would spend the run on
// migrations instead of on the input.

import Dispatch
import FeedbaseModel
import FeedbaseSQLite
import Foundation
import FuzzDriver
import Logging
import Synchronization

public enum FuzzStore {
    /// The repository's own migrations/ (this file is Tests/Fuzz/Sources/FuzzSupport/FuzzStore.swift).
    public static let migrations = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations").path

    /// Quiet: a fuzz run answers hundreds of thousands of bad requests, each worth a log line.
    public static let logger: Logger = {
        var logger = Logger(label: "feedbase-fuzz")
        logger.logLevel = .critical
        return logger
    }()

    /// A store on a file in a fresh directory under `$TMPDIR` (run.sh points it at a directory of
    /// its own and removes it), with rows for filters and bands to find.
    public static let shared: SQLiteStore = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-fuzz-\(UUID().uuidString)").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // synchronous OFF: the file is thrown away, and fsyncs would slow every run down.
            let configuration = StoreConfiguration(
                path: directory + "/fuzz.sqlite", migrationsDirectory: migrations,
                connection: ConnectionOptions(synchronous: .off), readers: 1)
            let store = try SQLiteStore(configuration, logger: logger)
            let items = try waitFor { try await seed(store) }
            seeded.withLock { $0 = items }
            return store
        } catch {
            // Not reachable by an input: the harness itself cannot start.
            FileHandle.standardError.write(Data("fuzz: cannot open the store in \(directory): \(error)\n".utf8))
            exit(2)
        }
    }()

    /// Items of the shipped collections with every column set, and some NULLs.
    public static let seedItems: [(collection: String, body: String)] = [
        ("projects", #"{"name":"Launch","description":"the first one"}"#),
        ("projects", #"{"name":"Übung ☃","archived":true}"#),
        ("tasks", #"{"project_id":1,"title":"Write docs","done":false,"priority":2,"estimate":1.5,"due":"2026-12-01T09:00:00Z","tags":["docs","v1"],"attachment":"aGVsbG8="}"#),
        ("tasks", #"{"project_id":1,"title":"Ship it","done":true,"priority":5,"estimate":0.25,"tags":{"a":{"b":[1,2.5,null]}}}"#),
        ("tasks", #"{"project_id":2,"title":"a,b \"quoted\" (parens) %25","priority":null}"#),
        // The generated key (a UUIDv7, "019…") sorts before "fixed-id": seed order is key order.
        ("comments", #"{"task_id":1,"body":"looks good","posted_on":"2026-11-30","remind_at":"09:30:00"}"#),
        ("comments", #"{"id":"fixed-id","task_id":2,"body":"needs work"}"#),
    ]

    /// The seed items as created, by collection, in key order.
    public static var items: [String: [Item]] {
        _ = shared
        return seeded.withLock { $0 }
    }

    private static let seeded = Mutex<[String: [Item]]>([:])

    private static func seed(_ store: SQLiteStore) async throws -> [String: [Item]] {
        var items: [String: [Item]] = [:]
        for (collection, body) in seedItems {
            items[collection, default: []] += try await store.create(in: collection, body: Array(body.utf8)).items
        }
        return items
    }
}

/// Runs `work` on the concurrency pool and blocks this thread (libFuzzer's, never a pool
/// thread) until it finishes.
public func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await work()) } catch { result = .failure(error) }
        outcome.result.withLock { $0 = result }
        outcome.done.signal()
    }
    outcome.done.wait()
    guard let result = outcome.result.withLock({ $0 }) else { preconditionFailure("signalled before the result was set") }
    return try result.get()
}

/// A result handed from a task to the thread waiting for it (a class: a Mutex cannot be
/// captured by the task's closure itself).
private final class Outcome<T: Sendable>: Sendable {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
}

/// `waitFor` for work that cannot fail.
public func waitFor(_ work: @escaping @Sendable () async -> Void) {
    // The throwing form with a closure that never throws: nothing to catch.
    _ = try? waitFor { () async throws -> Bool in
        await work()
        return true
    }
}

/// The fuzzer's input as bytes.
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A target's test: libFuzzer's `LLVMFuzzerTestOneInput`.
public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// Runs libFuzzer (its arguments and exit status) on `test`: the body of each target's entry point.
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: FuzzTest) -> Int32 {
    feedbase_fuzz_main(argc, argv, test)
}
