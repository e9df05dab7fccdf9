import PostgresNIO

extension PostgresClient {
    /// `run()` in a task of its own, called before this returns: a lease asked for right after
    /// (the store's first query) then finds the client running, where a plain `Task` may not
    /// have begun yet and postgres-nio logs a warning ("run() hasn't been called yet") for a
    /// lease that is fine. Cancelling the task closes the client.
    func startRunning() -> Task<Void, Never> {
        if #available(macOS 26, *) {
            return Task.immediate { await self.run() }
        }
        return Task { await self.run() }
    }
}
