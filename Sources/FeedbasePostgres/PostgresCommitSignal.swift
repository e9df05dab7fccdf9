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
        try await client.withLiveConnection { connection in
            try await connection.execute("SELECT set_config('synchronous_commit', 'off', true), pg_notify(\(channel), '')", logger: logger)
        }
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

    /// Runs until cancelled: calls `advance` with the head each time it grew past `head`.
    /// `listening` is the connection LISTEN runs on: a connection of its own, outside the
    /// client's pool, which it would otherwise hold for good.
    public func run(
        client: PostgresClient, listening: PostgresConnection.Configuration, from head: Int64, logger: Logger,
        advance: @escaping @Sendable (Int64) async -> Void
    ) async {
        let (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listen(listening, logger: logger, signal: signal) }
            group.addTask {
                while !Task.isCancelled {
                    signal.yield()
                    try? await Task.sleep(for: pollInterval)
                }
            }
            var known = head
            for await _ in signals {
                // A failed read (a connection lost, a pool busy) is tried again after
                // retryInterval rather than left to the next signal, which may be a poll away.
                var now: Int64?
                while now == nil && !Task.isCancelled {
                    do {
                        now = try await reader.head(on: client, logger: logger)
                    } catch {
                        logger.debug("reading the log's head failed; reading again", metadata: ["error": "\(String(reflecting: error))"])
                        try? await Task.sleep(for: retryInterval)
                    }
                }
                guard let now, !Task.isCancelled else { break }
                if now > known {
                    known = now
                    await advance(now)
                }
            }
            group.cancelAll()
        }
    }

    /// LISTENs on a connection of its own, on a new one after each failure, until cancelled. A
    /// signal once listening covers the commits made before LISTEN took effect.
    private func listen(_ configuration: PostgresConnection.Configuration, logger: Logger, signal: AsyncStream<Void>.Continuation) async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: attempt, logger: logger)
                do {
                    // Bound to the connection's life: a LISTEN that waits on a terminated
                    // connection would leave the node to its slow poll for good.
                    try await PostgresConnectionWatch.shared.run(on: connection) { [channel] connection in
                        try await connection.listen(on: channel) { notifications in
                            signal.yield()
                            for try await _ in notifications { signal.yield() }
                        }
                    }
                } catch {
                    logger.debug("listening for commits failed; listening again", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await connection.close()
            } catch {
                logger.debug("connecting to listen for commits failed; trying again", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: retryInterval)
        }
        signal.finish()
    }
}
