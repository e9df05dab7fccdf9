// Dropping a test's database when its server stops: a test process of the system tier makes
// hundreds (one per TestServer on PostgreSQL), and each holds a copy of template1 on disk.

extension PostgresCluster {
    /// Drops `database`, closing any connection still on it (PostgreSQL 13's `WITH (FORCE)`).
    public func dropDatabase(_ database: Database) async throws {
        let maintenance = Database(host: host, port: port, username: username, name: "postgres")
        _ = try await psql("DROP DATABASE IF EXISTS \(database.name) WITH (FORCE)", on: maintenance)
    }
}
