// A statement run to its end: postgres-nio returns a query's row sequence as soon as the server
// describes its rows, and an error raised while executing it (a duplicate key in a function it
// calls, say) comes with the rows. Draining them makes that error the statement's own, before
// the next statement meets an aborted transaction instead.

import Logging
import PostgresNIO

extension PostgresConnection {
    func execute(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
