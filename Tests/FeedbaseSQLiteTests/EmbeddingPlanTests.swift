// How embedding is served, read from SQLite's own plan: each embedded relation is a correlated
// subquery that looks its rows up through the foreign key's index (to-many) or the referenced
// key (to-one), never a scan of the related table per item.

import FeedbaseTestSupport
import Logging
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct EmbeddingPlanTests {
    static let schema = """
        CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE tasks (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL REFERENCES projects(id), title TEXT, priority INTEGER, done BOOLEAN);
        CREATE INDEX tasks_project ON tasks (project_id);
        CREATE TABLE comments (id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id), body TEXT);
        CREATE INDEX comments_task ON comments (task_id);
        """

    @Test func embeddedRowsAreFoundThroughTheForeignKeysIndex() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("plan.sqlite")
        var configuration = StoreConfiguration(path: path, migrationsDirectory: try directory.migrations(["0001_t.sql": Self.schema]), readers: 1)
        configuration.feed = false
        let store = try SQLiteStore(configuration, logger: Logger(label: "test"))
        defer { Task { await store.close() } }
        let connection = try Connection(path: path)

        func plan(_ collection: String, _ embeds: [Embed]) throws -> [String] {
            var query = ListQuery()
            query.embeds = embeds
            let listing = Listing(collection: try #require(store.schema[collection]), query: query)
            let statement = try listing.pageStatement(on: connection, schema: store.schema).select
            return try connection.query("EXPLAIN QUERY PLAN " + statement.text, statement.values) { $0.text(3) ?? "" }
        }
        var tasks = Embed(key: "tasks", relation: "tasks")
        tasks.embeds = [Embed(key: "comments", relation: "comments")]
        tasks.filters = [Filter(column: "done", op: .eq, operand: .value("false"))]
        tasks.order = [Ordering(column: "priority", descending: true)]
        tasks.limit = 5
        let toMany = try plan("projects", [tasks])
        #expect(toMany.contains("SEARCH e1 USING INDEX tasks_project (project_id=?)"), "\(toMany)")
        #expect(toMany.contains("SEARCH e2 USING INDEX comments_task (task_id=?)"), "\(toMany)")
        #expect(!toMany.contains { $0.hasPrefix("SCAN e") }, "\(toMany)")
        let toOne = try plan("comments", [Embed(key: "task", relation: "task")])
        #expect(toOne.contains("SEARCH e1 USING INTEGER PRIMARY KEY (rowid=?)"), "\(toOne)")
    }
}
