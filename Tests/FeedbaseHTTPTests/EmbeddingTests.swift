// Embedded relations against an oracle made of plain single-collection REST requests: every
// embedded object or array must be what a listing of its own collection returns for the
// foreign key's value with the same filters, order and limit. Random data and random embed and
// filter queries (to-one, to-many, nested two levels, with `or` groups), many seeds; a failure
// names its seed and query. Between rounds the sqlite3 shell (psql) writes what other programs store
// (odd values in every embedded column, keys no row has, primary-key changes that keep or break
// the rows referencing them), so embedded rows must read and filter by the plain listing's rule.
// Then the errors, the single item and the access rules.

import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

/// A random choice of parameters for one embedded level, as `name=value` pairs without the path.
private func randomParameters(_ random: inout SeededGenerator, filters: [String], orders: [String]) -> [String] {
    var parameters: [String] = []
    if let filter = filters.randomElement(using: &random), Bool.random(using: &random) { parameters.append(filter) }
    if let order = orders.randomElement(using: &random), Bool.random(using: &random) { parameters.append("order=" + order) }
    if Bool.random(using: &random) { parameters.append("limit=\(Int.random(in: 0...3, using: &random))") }
    return parameters
}

/// SQL literals another program may store in the columns the oracle embeds (one of each type),
/// within the example schema's NOT NULL and CHECK constraints (no BLOB in a non-BLOB column).
/// PostgreSQL's types hold no value of another type: its odd values are its own (NaN,
/// infinities, JSON null, 24:00:00, microseconds), and what it refuses (a broken reference, a
/// key change under referencing rows) is simply not written.
private enum OddEmbeddedValues {
    static let booleans = ["0", "1", "2", "-1", "0.5", "'false'", "'no'", "''", "'true'", "'yes'", "'T'", "'maybe'", "'0'"]
    static let columns: [(table: String, column: String, values: [String])] = [
        ("projects", "archived", booleans),
        ("tasks", "done", booleans),
        ("tasks", "priority", ["NULL", "2.5", "'3'", "4.0", "1.5", "5", "'4'"]),
        ("tasks", "title", ["7", "'alpha'", "'é'", "'Beta'", "'a'", "'*a'"]),
        ("tasks", "project_id", ["2.5", "'3'", "99", "'x'", "1", "'2.0'"]),
        ("comments", "body", ["'No'", "7", "''", "'ok'", "'why'", "'no'"]),
        ("comments", "task_id", ["999", "2.5", "'4'", "'abc'", "3", "'7.0'"]),
        ("projects", "description", ["NULL", "7", "'é'", "1e999", "''", "'a'"]),
        ("tasks", "estimate", ["NULL", "-0.5", "1.5", "'2.5'", "'t'", "1e999", "0.1", "3"]),
        ("tasks", "due", ["NULL", "'2026-01-01T00:00:00.000Z'", "'yesterday'", "'2026-01-01 10:00:00'", "20260101", "''", "-1e999"]),
        ("tasks", "tags", ["NULL", #"'{"a":1}'"#, "'[1,2]'", "'hello'", "'null'", "' [1, 2] '", "2.5", #"'"hello"'"#, "''", "'tRue'"]),
        ("tasks", "attachment", ["NULL", "x'00ff'", "'text'", "''", "5", "2.5", "'é'", "x'74657874'"]),
        ("comments", "posted_on", ["'2026-01-01'", "'2026-1-1'", "5", "1e999", "'2026-01-02'"]),
        ("comments", "remind_at", ["NULL", "'08:30:00'", "'8:30'", "'noon'", "1.5", "-1e999"]),
    ]
    static let postgresBooleans = ["true", "false", "'yes'", "'off'", "'t'", "'0'"]
    static let postgresColumns: [(table: String, column: String, values: [String])] = [
        ("projects", "archived", postgresBooleans),
        ("tasks", "done", postgresBooleans),
        ("tasks", "priority", ["NULL", "1", "5", "'3'", "'4'"]),
        ("tasks", "title", ["'7'", "'alpha'", "'é'", "'Beta'", "'a'", "'*a'"]),
        ("tasks", "project_id", ["99", "1", "'2'", "3"]),
        ("comments", "body", ["'No'", "'7'", "''", "'ok'", "'why'", "'no'"]),
        ("comments", "task_id", ["999", "3", "'4'", "7"]),
        ("projects", "description", ["NULL", "'7'", "'é'", "''", "'a'"]),
        ("tasks", "estimate", ["NULL", "-0.5", "1.5", "'NaN'", "'Infinity'", "'-Infinity'", "0.1", "3", "'-0'"]),
        ("tasks", "due", ["NULL", "'2026-01-01T00:00:00.000Z'", "'infinity'", "'-infinity'", "'2026-01-01 10:00:00+05'", "'2026-01-01 10:00:00.123456'"]),
        ("tasks", "tags", ["NULL", #"'{"a":1}'"#, "'[1,2]'", #"'"hello"'"#, "'null'", "' [1, 2] '", "'2.5'", "'true'", #"'"tRue"'"#]),
        ("tasks", "attachment", ["NULL", #"'\x00ff'"#, "''", "'text'", "'é'", #"'\x74657874'"#]),
        ("comments", "posted_on", ["'2026-01-01'", "'2026-1-1'", "'infinity'", "'2026-01-02'"]),
        ("comments", "remind_at", ["NULL", "'08:30:00'", "'8:30'", "'24:00:00'", "'12:00:00.123456'", "'00:00:00'"]),
    ]

    /// A few random statements: odd values into random rows, and primary-key changes (integer
    /// and text keys) whose referencing rows follow or are left behind, as SQLite allows
    /// without `PRAGMA foreign_keys`.
    static func statements(
        _ random: inout SeededGenerator, engine: Engine, projects: [Int], tasks: [Int], comments: [String], round: Int
    ) -> [String] {
        var statements: [String] = []
        for _ in 0..<Int.random(in: 2...6, using: &random) {
            let (table, column, values) = (engine == .sqlite ? columns : postgresColumns).randomElement(using: &random)!
            let value = values.randomElement(using: &random)!
            let row: String? = switch table {
            case "projects": projects.randomElement(using: &random).map(String.init)
            case "tasks": tasks.randomElement(using: &random).map(String.init)
            default: comments.randomElement(using: &random).map(quoteLiteral)
            }
            guard let row else { continue }
            statements.append("UPDATE \(table) SET \(column) = \(value) WHERE id = \(row);")
        }
        let follow = Bool.random(using: &random)
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            guard let old = projects.randomElement(using: &random) else { break }
            // A new key past every other, which the referencing rows then take (or not).
            statements.append("UPDATE projects SET id = (SELECT max(id) + 1 FROM projects) WHERE id = \(old);")
            if follow { statements.append("UPDATE tasks SET project_id = (SELECT max(id) FROM projects) WHERE project_id = \(old);") }
        case 1:
            guard let old = tasks.randomElement(using: &random) else { break }
            statements.append("UPDATE tasks SET id = (SELECT max(id) + 1 FROM tasks) WHERE id = \(old);")
            if follow { statements.append("UPDATE comments SET task_id = (SELECT max(id) FROM tasks) WHERE task_id = \(old);") }
        case 2:
            guard let old = comments.randomElement(using: &random) else { break }
            statements.append("UPDATE comments SET id = \(quoteLiteral(old + "-\(round)")) WHERE id = \(quoteLiteral(old));")
        default:
            // A key that no row holds yet, then a row that takes it.
            guard let task = tasks.randomElement(using: &random) else { break }
            statements.append("UPDATE tasks SET project_id = 77 WHERE id = \(task);")
            if follow { statements.append("INSERT OR IGNORE INTO projects (id, name) VALUES (77, 'late');") }
        }
        return statements
    }

    static func quoteLiteral(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// The statements as one script per engine: SQLite's shell runs them as they are; on
    /// PostgreSQL each runs in its own block whose refusal (a foreign key, a CHECK) is caught, so
    /// the rest still happen, as separate writes by another program would.
    static func script(_ statements: [String]) -> EngineSQL {
        EngineSQL(
            sqlite: statements.joined(separator: "\n"),
            postgres: statements.map { statement in
                let statement = statement.replacingOccurrences(of: "INSERT OR IGNORE INTO projects (id, name) VALUES (77, 'late');",
                    with: "INSERT INTO projects (id, name) VALUES (77, 'late') ON CONFLICT DO NOTHING;")
                return "DO $$ BEGIN \(statement) EXCEPTION WHEN others THEN NULL; END $$;"
            }.joined(separator: "\n"))
    }
}

@Suite struct EmbeddingTests {
    @Test(arguments: Engine.available, 1...24)
    func embeddedRowsAreWhatPlainListingsOfTheirCollectionsSay(engine: Engine, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        try await withServer(engine) { server in
            for index in 1...4 {
                _ = try await server.request("POST", "/projects", json: #"{"name":"p\#(index)","archived":\#(Bool.random(using: &random))}"#)
            }
            let titles = ["alpha", "beta", "gamma", "delta"]
            var tasks: [String] = []
            for _ in 0..<25 {
                let priority = Int.random(in: 0...5, using: &random)
                tasks.append(
                    #"{"project_id":\#(Int.random(in: 1...4, using: &random)),"title":"\#(titles.randomElement(using: &random)!)","#
                        + #""done":\#(Bool.random(using: &random)),"priority":\#(priority == 0 ? "null" : String(priority))}"#)
            }
            #expect(try await server.request("POST", "/tasks", json: "[" + tasks.joined(separator: ",") + "]").status == 201)
            var comments: [String] = []
            for _ in 0..<40 {
                comments.append(#"{"task_id":\#(Int.random(in: 1...25, using: &random)),"body":"\#(["ok", "no", "why", "yes"].randomElement(using: &random)!)"}"#)
            }
            #expect(try await server.request("POST", "/comments", json: "[" + comments.joined(separator: ",") + "]").status == 201)

            func list(_ target: String) async throws -> [[String: Any]] {
                let response = try await server.request("GET", target)
                #expect(response.status == 200, "seed \(seed): \(target): \(response.text)")
                return try array(response)
            }
            func query(_ parameters: [String], under path: String) -> String {
                parameters.map { path + "." + $0 }.joined(separator: "&")
            }
            let taskFilters = [
                "done=eq.false", "priority=gte.3", "or=(priority.is.null,title.like.*a)", "not.and=(done.is.true,priority.lt.4)",
                "tags=eq.hello", "tags=like.*ell*", "estimate=gt.1", "due=lt.2026-06-01T00:00:00Z", "or=(attachment.eq.dGV4dA%3D%3D,estimate.is.null)",
                "tags=in.(%5B1%2C2%5D,null,tRue)", "estimate=not.eq.1.5",
            ]
            let taskOrders = ["priority.desc", "title", "id.desc", "done,priority.desc", "estimate", "due.desc,title"]
            let commentFilters = ["body=neq.no", "body=in.(ok,why)", "remind_at=is.null", "posted_on=eq.2026-01-01", "remind_at=like.*0*", "body=ilike.n*"]
            let commentOrders = ["body", "body.desc", "posted_on", "remind_at.desc"]
            let taskColumns = "id,title,priority,done,estimate,due,tags,attachment"

            for round in 0..<6 {
                // Another program writes odd values and changes keys.
                let projectIDs = try await list("/projects?select=id&limit=1000").compactMap { $0["id"] as? Int }
                let taskIDs = try await list("/tasks?select=id&limit=1000").compactMap { $0["id"] as? Int }
                let commentIDs = try await list("/comments?select=id&limit=1000").compactMap { $0["id"] as? String }
                let writes = OddEmbeddedValues.statements(
                    &random, engine: engine, projects: projectIDs, tasks: taskIDs, comments: commentIDs, round: round)
                try await server.foreignWrite(OddEmbeddedValues.script(writes))

                // Projects with their tasks, and each task's comments.
                let tasksParameters = randomParameters(&random, filters: taskFilters, orders: taskOrders)
                let commentsParameters = randomParameters(&random, filters: commentFilters, orders: commentOrders)
                let top = Bool.random(using: &random) ? "&archived=is.false" : ""
                let target = "/projects?select=id,name,description,tasks(\(taskColumns),comments(id,body,posted_on,remind_at))&order=id" + top + "&"
                    + [query(tasksParameters, under: "tasks"), query(commentsParameters, under: "tasks.comments")].filter { !$0.isEmpty }.joined(separator: "&")
                var expected: [[String: Any]] = []
                for project in try await list("/projects?select=id,name,description&order=id" + top) {
                    var project = project
                    var embedded: [[String: Any]] = []
                    let limit = tasksParameters.contains { $0.hasPrefix("limit=") } ? "" : "&limit=1000"
                    for task in try await list("/tasks?select=\(taskColumns)&project_id=eq.\(project["id"] ?? "")&" + tasksParameters.joined(separator: "&") + limit) {
                        var task = task
                        let commentsLimit = commentsParameters.contains { $0.hasPrefix("limit=") } ? "" : "&limit=1000"
                        task["comments"] = try await list("/comments?select=id,body,posted_on,remind_at&task_id=eq.\(task["id"] ?? "")&" + commentsParameters.joined(separator: "&") + commentsLimit)
                        embedded.append(task)
                    }
                    project["tasks"] = embedded
                    expected.append(project)
                }
                let embeddedPage = try await list(target)
                #expect(try canonical(embeddedPage) == canonical(expected), "seed \(seed) round \(round) after \(writes): \(target)")
                // A single item embeds alike.
                if let first = expected.first, let id = first["id"] {
                    let item = try await server.request("GET", target.replacingOccurrences(of: "/projects?", with: "/projects/\(id)?"))
                    #expect(try canonical(object(item)) == canonical(first), "seed \(seed) round \(round) after \(writes): the item \(id)")
                }

                // Comments with their task and its project: to-one, two levels, filtered; each
                // relation named by its key column without _id or by the referenced collection.
                let taskName = Bool.random(using: &random) ? "task" : "tasks"
                let projectName = Bool.random(using: &random) ? "project" : "projects"
                let projectFilter = Bool.random(using: &random) ? "&\(taskName).\(projectName).archived=is.false" : ""
                let taskFilter = Bool.random(using: &random) ? "&\(taskName).done=is.false" : ""
                let comments = "/comments?select=id,body,\(taskName)(title,done,tags,attachment,\(projectName)(name,archived,description))&order=id&limit=1000" + projectFilter + taskFilter
                var expectedComments: [[String: Any]] = []
                for comment in try await list("/comments?select=id,body,task_id&order=id&limit=1000") {
                    var comment = comment
                    // A key that is no integer (2.5, 'abc') is held by no row.
                    let taskID = comment.removeValue(forKey: "task_id") as? Int
                    var found: [[String: Any]] = []
                    if let taskID {
                        found = try await list("/tasks?select=title,done,tags,attachment,project_id&id=eq.\(taskID)" + taskFilter.replacingOccurrences(of: "\(taskName).", with: ""))
                    }
                    if var task = found.first {
                        let projectID = task.removeValue(forKey: "project_id") as? Int
                        var projects: [[String: Any]] = []
                        if let projectID {
                            projects = try await list(
                                "/projects?select=name,archived,description&id=eq.\(projectID)" + projectFilter.replacingOccurrences(of: "\(taskName).\(projectName).", with: ""))
                        }
                        task[projectName] = projects.first ?? NSNull()
                        comment[taskName] = task
                    } else {
                        comment[taskName] = NSNull()
                    }
                    expectedComments.append(comment)
                }
                #expect(try canonical(try await list(comments)) == canonical(expectedComments), "seed \(seed) round \(round) after \(writes): \(comments)")
            }
        }
    }

    static let people = EngineSQL(
        sqlite: """
            CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL);
            CREATE TABLE issues (
                id INTEGER PRIMARY KEY, title TEXT NOT NULL,
                author_id INTEGER NOT NULL REFERENCES people(id), assignee_id INTEGER REFERENCES people(id)
            );
            CREATE INDEX issues_author ON issues (author_id);
            CREATE INDEX issues_assignee ON issues (assignee_id);
            """,
        postgres: """
            CREATE TABLE people (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text COLLATE "C" NOT NULL, team text COLLATE "C" NOT NULL);
            CREATE TABLE issues (
                id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, title text COLLATE "C" NOT NULL,
                author_id bigint NOT NULL REFERENCES people(id), assignee_id bigint REFERENCES people(id)
            );
            CREATE INDEX issues_author ON issues (author_id);
            CREATE INDEX issues_assignee ON issues (assignee_id);
            """)

    /// Two foreign keys to one table: to-one names differ by column; to-many is picked by `!`.
    @Test(arguments: Engine.available) func twoKeysToOneTableAreToldApartAndMistakesNameTheirParameter(engine: Engine) async throws {
        try await withServer(engine, schema: Self.people) { server in
            _ = try await server.request("POST", "/people", json: #"[{"name":"ann","team":"a"},{"name":"bo","team":"b"}]"#)
            _ = try await server.request("POST", "/issues", json: #"[{"title":"x","author_id":1,"assignee_id":2},{"title":"y","author_id":2}]"#)
            let issues = try await server.request("GET", "/issues?select=title,author(name),assignee(name)&order=id")
            #expect(issues.text == #"[{"title":"x","author":{"name":"ann"},"assignee":{"name":"bo"}},{"title":"y","author":{"name":"bo"},"assignee":null}]"#)
            let people = try await server.request(
                "GET", "/people?select=name,wrote:issues!author_id(title),assigned:issues!assignee_id(title)&order=id")
            #expect(people.text == #"[{"name":"ann","wrote":[{"title":"x"}],"assigned":[]},{"name":"bo","wrote":[{"title":"y"}],"assigned":[{"title":"x"}]}]"#)

            for (query, parameter, detail) in [
                ("/people?select=name,issues(title)", "select", "'issues' is ambiguous in people: name the foreign key, as issues!assignee_id or issues!author_id"),
                ("/people?select=name,tickets(title)", "select", "people has no relation 'tickets'; its relations: issues"),
                ("/issues?select=title,author(nope)", "select", "people has no column 'nope'"),
                ("/people?select=name,w:issues!author_id(title)&w.nope=eq.1", "w.nope", "issues has no column 'nope'"),
                ("/people?select=name,w:issues!author_id(title)&w.or=(nope.eq.1)", "w.or", "nope: issues has no column 'nope'"),
                ("/people?select=name,w:issues!author_id(title)&w.limit=5000", "w.limit", "at most 1000 embedded rows"),
                ("/people?select=name,w:issues!author_id(title)&w.order=nope", "w.order", "issues has no column 'nope'"),
                ("/issues?select=title,author(name)&author.limit=1", "author.limit", "order, limit and offset apply to embedded lists only"),
                ("/issues?select=title,author(name,w:issues!author_id(author(w:issues!author_id(author(name)))))", "select", "nested deeper than 4"),
                ("/issues?select=title,author(name),author(team)", "select", "'author' is embedded twice"),
                ("/issues?select=title,author(name", "select", "unbalanced parentheses"),
            ] {
                let response = try await server.request("GET", query)
                #expect(response.status == 400, "\(query): \(response.text)")
                #expect(response.text.contains(detail) && response.text.contains(#""parameter":"\#(parameter)""#), "\(query): \(response.text)")
            }
            // A band's items are one row each: embedding is refused there.
            let band = try await server.request("GET", "/_changes/issues?select=title,author(name)&wait=0")
            #expect(band.status == 400 && band.text.contains("cannot embed"), "\(band.text)")
        }
    }

    /// Embedded rows obey their own collection's read rule, as if listed directly; a collection
    /// the caller may not list refuses the request as its listing would.
    @Test(arguments: Engine.available) func embeddedRowsObeyTheirCollectionsReadRule(engine: Engine) async throws {
        let rules = try AccessRules.parse("""
            allow read on people to user
            allow read on issues to user where author_id=eq.1
            allow read on issues to admin
            """, file: "rules.conf")
        try await withServer(engine, schema: Self.people, configure: { $0.rules = rules }) { server in
            let user = try await server.bearer(role: "user", subject: "u")
            let admin = try await server.bearer(role: "admin")
            try await server.foreignWrite("""
                INSERT INTO people (name, team) VALUES ('ann', 'a'), ('bo', 'b');
                INSERT INTO issues (title, author_id, assignee_id) VALUES ('x', 1, 2), ('y', 2, 2);
                """)
            let target = "/people?select=name,assigned:issues!assignee_id(title)&order=id"
            let listed = try await server.request("GET", target, headers: user)
            let direct = try await server.request("GET", "/issues?select=title&assignee_id=eq.2&order=id", headers: user)
            #expect(listed.text == #"[{"name":"ann","assigned":[]},{"name":"bo","assigned":\#(direct.text)}]"#, "\(listed.text)")
            #expect(direct.text == #"[{"title":"x"}]"#)
            let item = try await server.request("GET", "/people/2?select=name,assigned:issues!assignee_id(title)", headers: user)
            #expect(item.text == #"{"name":"bo","assigned":[{"title":"x"}]}"#)
            // The admin may not read people: embedding them is refused as listing them is.
            let refused = try await server.request("GET", "/issues?select=title,author(name)", headers: admin)
            let listing = try await server.request("GET", "/people", headers: admin)
            #expect(refused.status == listing.status && refused.status == 403, "\(refused.text)")
        }
    }
}
