// How nodes learn that the log moved without polling hard. The engine NOTIFYs a channel after
// each of its commits, on its own, outside the writer's transaction: a NOTIFY inside it would take
// the cluster-wide notify lock from the commit through the WAL flush, serializing every
// notifying commit (docs/POSTGRES.md). Each node LISTENs on one connection and, as a safety net
// for other programs' writes (which notify no one) and for a lost listening connection, also
// reads the head every `pollInterval`. Either way it reads the head and reports it when it grew.

import Logging
import PostgresNIO

public enum PostgresCommitSignal {
    /// Tells every listening node that the log may have moved. Call it after the commit, never
    /// inside the transaction; a lost signal costs at most one poll interval. A NOTIFY takes an
    /// xid and the notify queue's lock to its commit: committed asynchronously (set_config
    /// local to this one-statement transaction), it holds that lock across no WAL flush, and a
    /// wake-up needs no durability.
    public static func notify(on client: PostgresClient, channel: String = PostgresChangeLog.channel, logger: Logger) async throws {
        try await client.query("SELECT set_config('synchronous_commit', 'off', true), pg_notify(\(channel), '')", logger: logger)
    }
}

public struct PostgresChangeWatcher: Sendable {
    public var reader: PostgresFeedReader
    public var channel: String
    public var pollInterval: Duration
    /// How long to wait before listening again after the listening connection failed.
    public var retryInterval: Duration

    public init(
        reader: PostgresFeedReader = PostgresFeedReader(), channel: String = PostgresChangeLog.channel,
        pollInterval: Duration = .seconds(1), retryInterval: Duration = .milliseconds(500)
    ) {
        self.reader = reader
        self.channel = channel
        self.pollInterval = pollInterval
        self.retryInterval = retryInterval
    }

    /// Runs until cancelled: calls `advance` with the head each time it grew past `head`. A
    /// failed read of the head is retried at the next signal or poll.
    public func run(
        client: PostgresClient, from head: Int64, logger: Logger, advance: @escaping @Sendable (Int64) async -> Void
    ) async {
        let (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listen(client: client, logger: logger, signal: signal) }
            group.addTask {
                while !Task.isCancelled {
                    signal.yield()
                    try? await Task.sleep(for: pollInterval)
                }
            }
            var known = head
            for await _ in signals {
                guard !Task.isCancelled else { break }
                guard let now = try? await reader.head(on: client, logger: logger) else { continue }
                if now > known {
                    known = now
                    await advance(now)
                }
            }
            group.cancelAll()
        }
    }

    /// LISTENs on a connection of the pool, again after each failure, until cancelled. A signal
    /// once listening covers the commits made before LISTEN took effect.
    private func listen(client: PostgresClient, logger: Logger, signal: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        signal.yield()
                        for try await _ in notifications { signal.yield() }
                    }
                }
            } catch {
                logger.debug("listening for commits failed; listening again", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: retryInterval)
        }
        signal.finish()
    }
}
