// The OpenAPI and AsyncAPI documents generated from a schema opened the way the server opens it
// (the shipped migrations, or a test's own SQL): names, column types, required lists, statuses
// and headers per operation, the feed switch, determinism, and JSON and YAML that read back as
// the same value. With FEEDBASE_WRITE_DOCS=/some/dir the shipped schema's documents are written
// there for the external validators.

import FeedbaseStore
import Foundation
import Logging
import Testing

@testable import FeedbaseHTTP

@Suite struct OpenAPIDocumentTests {
    /// The schema the store introspects from `sql`, or from a migrations directory (by default the shipped one).
    static func schema(sql: String? = nil) async throws -> Schema {
        let (directory, migrations) = try TestServer.scratch(sql: sql)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "feedbase-test")
        logger.logLevel = .warning
        let store = try SQLiteStore(StoreConfiguration(path: directory + "/test.sqlite", migrationsDirectory: migrations, readers: 1), logger: logger)
        let schema = store.schema
        await store.close()
        return schema
    }

    static func operation(_ document: DocumentValue, _ path: String, _ method: String) -> DocumentValue? {
        document["paths"]?[path]?[method]
    }

    static func statuses(_ document: DocumentValue, _ path: String, _ method: String) -> [String] {
        operation(document, path, method)?["responses"]?.keys ?? []
    }

    @Test func everyCollectionHasItsSixOperationsWithStableIDs() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let expected: [(String, String, String)] = [
            ("/tasks", "get", "listTasks"), ("/tasks", "post", "createTask"), ("/tasks/{id}", "get", "getTask"),
            ("/tasks/{id}", "put", "replaceTask"), ("/tasks/{id}", "patch", "patchTask"), ("/tasks/{id}", "delete", "deleteTask"),
            ("/projects", "get", "listProjects"), ("/projects/{id}", "delete", "deleteProject"),
            ("/comments", "post", "createComment"), ("/comments/{id}", "patch", "patchComment"),
            ("/", "get", "getIndex"), ("/_health", "get", "getHealth"), ("/_changes", "get", "listChanges"),
            ("/_feed", "get", "subscribeFeed"), ("/openapi.json", "get", "getOpenAPIJSON"),
            ("/openapi.yaml", "get", "getOpenAPIYAML"), ("/asyncapi.json", "get", "getAsyncAPIJSON"),
        ]
        for (path, method, id) in expected {
            #expect(Self.operation(document, path, method)?["operationId"]?.stringValue == id, "\(method) \(path)")
        }
        var ids: [String] = []
        for path in document["paths"]?.keys ?? [] {
            for method in document["paths"]?[path]?.keys ?? [] where method != "parameters" {
                ids += [Self.operation(document, path, method)?["operationId"]?.stringValue ?? "missing"]
            }
        }
        #expect(ids.count == 3 * 6 + 7)
        #expect(Set(ids).count == ids.count)
        #expect(document["openapi"] == "3.1.0")
        #expect(document["servers"]?[0]?["url"] == "http://localhost:8080")
        #expect(OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: "https://api.example/v1")["servers"]?[0]?["url"]
            == "https://api.example/v1")
    }

    @Test func taskColumnsAreTypedAndNullableColumnsAdmitNull() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let task = try #require(document["components"]?["schemas"]?["Task"])
        let properties = try #require(task["properties"])
        #expect(properties.keys == ["id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at"])
        #expect(properties["id"]?["type"] == "integer")
        #expect(properties["id"]?["format"] == "int64")
        #expect(properties["id"]?["minimum"] == .integer(Int64.min))
        #expect(properties["id"]?["maximum"] == .integer(Int64.max))
        #expect(properties["project_id"]?["type"] == "integer")
        #expect(properties["title"]?["type"] == "string")
        #expect(properties["done"]?["type"] == "boolean")
        #expect(properties["priority"]?["type"] == ["integer", "null"])
        #expect(properties["estimate"]?["type"] == ["number", "null"])
        #expect(properties["due"]?["type"] == ["string", "null"])
        #expect(properties["due"]?["format"] == "date-time")
        #expect(properties["attachment"]?["type"] == ["string", "null"])
        #expect(properties["attachment"]?["contentEncoding"] == "base64")
        #expect(properties["created_at"]?["type"] == "string")
        #expect(properties["created_at"]?["format"] == "date-time")
        // A nullable JSON column takes any JSON value: the empty schema (generators cannot map an
        // `anyOf` with a null branch), like JSONValue.
        #expect(properties["tags"]?["type"] == nil)
        #expect(properties["tags"]?["anyOf"] == nil)
        #expect(document["components"]?["schemas"]?["JSONValue"]?.keys == ["description"])
        #expect(properties["project_id"]?["description"]?.stringValue?.contains("References `projects(id)`") == true)
        #expect(properties["project_id"]?["description"]?.stringValue?.contains("CASCADE") == true)
        #expect(task["required"] == ["id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at"])
        #expect(task["additionalProperties"] == false)

        let comment = try #require(document["components"]?["schemas"]?["Comment"]?["properties"])
        #expect(comment["id"]?["type"] == "string")
        #expect(comment["posted_on"]?["format"] == "date")
        // TIME columns hold HH:MM:SS[.fraction] without an offset: JSON Schema's `time` format would demand one.
        #expect(comment["remind_at"]?["format"] == nil)
        #expect(comment["remind_at"]?["pattern"]?.stringValue?.hasPrefix("^(?:[01][0-9]|2[0-3]):") == true)
        let project = try #require(document["components"]?["schemas"]?["Project"]?["properties"])
        #expect(project["name"]?["description"]?.stringValue?.contains("Unique") == true)
    }

    @Test func writeSchemasRequireWhatTheStoreRequires() async throws {
        let schemas = try #require(OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)["components"]?["schemas"])
        let create = try #require(schemas["TaskCreate"])
        #expect(create["required"] == ["project_id", "title"])
        #expect(create["additionalProperties"] == false)
        // A server-assigned key may be sent, or null ("assign one").
        #expect(create["properties"]?["id"]?["type"] == ["integer", "null"])
        #expect(create["properties"]?["done"]?["default"] == false)
        #expect(create["properties"]?["created_at"]?["default"] == nil)
        let replace = try #require(schemas["TaskReplace"])
        #expect(replace["properties"]?["id"] == nil)
        #expect(replace["required"] == ["project_id", "title"])
        let patch = try #require(schemas["TaskPatch"])
        #expect(patch["properties"]?["id"] == nil)
        #expect(patch["required"] == nil)
        #expect(patch["properties"]?["title"]?["type"] == "string")
        #expect(patch["properties"]?["priority"]?["type"] == ["integer", "null"])
        #expect(schemas["TaskListItem"]?["required"] == nil)
        #expect(schemas["CommentCreate"]?["required"] == ["task_id", "body"])
        #expect(schemas["ProjectCreate"]?["required"] == ["name"])
    }

    @Test func operationsDeclareTheStatusesAndHeadersTheHandlersProduce() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        #expect(Self.statuses(document, "/tasks", "get") == ["200", "400", "500", "503"])
        #expect(Self.statuses(document, "/tasks", "post") == ["201", "400", "409", "413", "415", "422", "500", "503"])
        #expect(Self.statuses(document, "/tasks/{id}", "get") == ["200", "304", "400", "404", "500", "503"])
        #expect(Self.statuses(document, "/tasks/{id}", "put") == ["200", "201", "400", "404", "412", "413", "415", "422", "500", "503"])
        #expect(Self.statuses(document, "/tasks/{id}", "patch") == ["200", "400", "404", "412", "413", "415", "422", "500", "503"])
        #expect(Self.statuses(document, "/tasks/{id}", "delete") == ["204", "400", "404", "412", "500", "503"])
        // projects.name is UNIQUE: a replace or patch can conflict.
        #expect(Self.statuses(document, "/projects/{id}", "put").contains("409"))
        #expect(Self.statuses(document, "/_health", "get") == ["200", "400", "503"])
        // A request the HTTP decoder refuses is a 400 problem on any route.
        for path in document["paths"]?.keys ?? [] {
            for method in document["paths"]?[path]?.keys ?? [] where method != "parameters" {
                #expect(Self.statuses(document, path, method).contains("400"), "\(method) \(path)")
            }
        }
        #expect(Self.statuses(document, "/_changes", "get") == ["200", "400", "404", "410", "500", "503"])
        #expect(Self.statuses(document, "/_feed", "get") == ["101", "200", "400", "404", "410", "500", "503"])
        #expect(Self.operation(document, "/_feed", "get")?["responses"]?["200"]?["content"]?.keys == ["text/event-stream"])

        let read = try #require(Self.operation(document, "/tasks/{id}", "get"))
        #expect(read["responses"]?["200"]?["headers"]?.keys == ["X-Request-Id", "ETag", "X-Change-Seq"])
        #expect(read["responses"]?["304"]?["content"] == nil)
        #expect(document["components"]?["headers"]?["ETagRequired"]?["required"] == true)
        let replace = try #require(Self.operation(document, "/tasks/{id}", "put"))
        #expect(replace["responses"]?["201"]?["headers"]?["Location"] == ["$ref": "#/components/headers/LocationRequired"])
        // POST with an array answers without Location or ETag: they are optional there.
        let create = try #require(Self.operation(document, "/tasks", "post"))
        #expect(create["responses"]?["201"]?["headers"]?["Location"] == ["$ref": "#/components/headers/Location"])
        #expect(document["components"]?["headers"]?["Location"]?["required"] == nil)
        #expect(create["requestBody"]?["content"]?["application/json"]?["schema"]?["oneOf"]?.arrayValue?.count == 2)
        let patch = try #require(Self.operation(document, "/tasks/{id}", "patch"))
        #expect(patch["requestBody"]?["content"]?.keys == ["application/merge-patch+json", "application/json"])
        #expect(Self.operation(document, "/tasks/{id}", "delete")?["responses"]?["204"]?["content"] == nil)
        let problems = try #require(document["components"]?["responses"])
        #expect(problems["NotFound"]?["content"]?.keys == ["application/problem+json"])
        #expect(problems["UnsupportedMediaType"]?["headers"]?.keys == ["X-Request-Id", "Accept-Patch"])
        #expect(problems["ServiceUnavailable"]?["headers"]?.keys == ["X-Request-Id", "Retry-After"])
        #expect(document["components"]?["schemas"]?["Problem"]?["required"] == ["type", "title", "status", "detail", "instance", "requestId"])
        let id = try #require(document["paths"]?["/tasks/{id}"]?["parameters"]?[0])
        #expect(id["schema"]?["type"] == "integer")
        #expect(document["paths"]?["/comments/{id}"]?["parameters"]?[0]?["schema"]?["type"] == "string")
    }

    @Test func listingTakesAFilterPerColumnAndThePagingParameters() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let parameters = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        let names = parameters.compactMap { $0["name"]?.stringValue ?? $0["$ref"]?.stringValue }
        #expect(names == [
            "id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at", "order", "select",
            "#/components/parameters/Limit", "#/components/parameters/Offset", "#/components/parameters/After",
            "#/components/parameters/Prefer", "#/components/parameters/RequestId",
        ])
        let limit = try #require(document["components"]?["parameters"]?["Limit"]?["schema"])
        #expect(limit["maximum"] == 1000)
        #expect(limit["type"] == "integer")
        let okHeaders = Self.operation(document, "/tasks", "get")?["responses"]?["200"]?["headers"]?.keys
        #expect(okHeaders == ["X-Request-Id", "Link", "Content-Range", "Preference-Applied", "X-Change-Seq"])
    }

    /// A filter is an array of conditions sent as repeated parameters
    /// (`priority=gte.2&priority=lte.4`), so that a generated client can send several; each item
    /// keeps its type's pattern.
    @Test func eachFilterIsAnArrayOfConditionsRepeatedInTheQuery() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let parameters = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        let priority = try #require(parameters.first { $0["name"] == "priority" })
        #expect(priority["in"] == "query")
        #expect(priority["style"] == "form")
        #expect(priority["explode"] == true)
        #expect(priority["required"] == nil)
        #expect(priority["schema"] == [
            "type": "array",
            "items": ["type": "string", "pattern": .string(ValueSyntax.filter(.integer))],
            "minItems": 1,
        ])
        #expect(priority["description"]?.stringValue?.contains("`priority=...&priority=...`) and the conditions AND together") == true)
        let title = try #require(parameters.first { $0["name"] == "title" })
        #expect(title["schema"]?["items"]?["pattern"]?.stringValue == ValueSyntax.filter(.string))
        // Every column's filter has the array form; the other listing parameters keep one value.
        for name in ["id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at"] {
            #expect(parameters.first { $0["name"]?.stringValue == name }?["schema"]?["type"] == "array", "\(name)")
        }
        #expect(parameters.first { $0["name"] == "order" }?["schema"]?["type"] == "string")
        #expect(parameters.first { $0["name"] == "select" }?["schema"]?["type"] == "string")
        #expect(parameters.first { $0["name"] == "order" }?["explode"] == nil)
        let components = try #require(document["components"]?["parameters"])
        #expect(components["Limit"]?["schema"]?["type"] == "integer")
        #expect(components["Offset"]?["schema"]?["type"] == "integer")
        #expect(components["After"]?["schema"]?["type"] == "string")
    }

    /// The filter patterns as the server parses them: what the pattern admits, the server takes.
    @Test func filterPatternsFollowTheOperatorSyntaxOfEachType() throws {
        func matches(_ type: ColumnType, _ value: String) throws -> Bool {
            try Regex(ValueSyntax.filter(type)).wholeMatch(in: value) != nil
        }
        #expect(try matches(.integer, "eq.5"))
        #expect(try matches(.integer, "not.in.(1,2,-3)"))
        #expect(try matches(.integer, "gte.+7"))
        #expect(try !matches(.integer, "eq.abc"))
        #expect(try !matches(.integer, "like.5*"))
        #expect(try !matches(.integer, "is.true"))
        #expect(try matches(.boolean, "is.true"))
        #expect(try !matches(.boolean, "gt.true"))
        #expect(try matches(.string, "ilike.*fence*"))
        #expect(try matches(.string, #"in.("a,b",c,"say \"hi\"")"#))
        #expect(try !matches(.string, #"in.("a"b)"#))
        #expect(try matches(.string, "eq."))
        #expect(try !matches(.string, "equals.x"))
        #expect(try matches(.dateTime, "lt.2026-12-01T00:00:00+02:00"))
        #expect(try matches(.date, "eq.2024-02-29"))
        #expect(try !matches(.date, "eq.2023-02-29"))
        #expect(try !matches(.date, "eq.2026-04-31"))
        #expect(try matches(.time, "gt.23:59:59.123456789"))
        #expect(try !matches(.time, "gt.24:00:00"))
        #expect(try matches(.blob, "eq.QQ=="))
        #expect(try !matches(.blob, "eq.QR=="))
        #expect(try !matches(.json, "gt.1"))
    }

    @Test func orderAdmitsDistinctSortableColumnsOnly() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let parameters = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        let order = try #require(parameters.first { $0["name"] == "order" }?["schema"]?["pattern"]?.stringValue)
        let regex = try Regex(order)
        for accepted in ["priority.desc,title", "title", "id.desc", "done,priority.asc,id"] {
            #expect(accepted.wholeMatch(of: regex) != nil, "\(accepted)")
        }
        for refused in ["title,title.desc", "tags", "attachment.asc", "nope", "", "title.up", "priority,,title"] {
            #expect(refused.wholeMatch(of: regex) == nil, "\(refused)")
        }
    }

    @Test func withoutTheFeedTheFeedRoutesAndHeadersAreLeftOut() async throws {
        let schema = try await Self.schema()
        let document = OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil)
        let paths = document["paths"]?.keys ?? []
        #expect(!paths.contains("/_changes"))
        #expect(!paths.contains("/_feed"))
        #expect(!paths.contains("/asyncapi.json"))
        #expect(paths.contains("/openapi.yaml"))
        #expect(Self.operation(document, "/tasks/{id}", "get")?["responses"]?["200"]?["headers"]?.keys == ["X-Request-Id", "ETag"])
        #expect(document["components"]?["schemas"]?["ChangeEvent"] == nil)
        #expect(document["components"]?["schemas"]?["Index"]?["required"] == ["collections", "health", "openapi"])
        #expect(OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil)["components"]?["schemas"]?["Index"]?["required"]
            == ["collections", "health", "feed", "changes", "openapi", "asyncapi"])
    }

    @Test func changeEventsAreTypedPerCollection() async throws {
        let schemas = try #require(OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)["components"]?["schemas"])
        let event = try #require(schemas["ChangeEvent"])
        #expect(event["oneOf"] == [
            ["$ref": "#/components/schemas/CommentChange"], ["$ref": "#/components/schemas/ProjectChange"],
            ["$ref": "#/components/schemas/TaskChange"],
        ])
        #expect(event["discriminator"]?["mapping"]?["tasks"] == "#/components/schemas/TaskChange")
        #expect(schemas["TaskChange"]?["properties"]?["collection"] == ["type": "string", "const": "tasks"])
        #expect(schemas["TaskChange"]?["properties"]?["item"] == ["$ref": "#/components/schemas/Task"])
        #expect(schemas["TaskChange"]?["properties"]?["op"]?["enum"] == ["create", "update", "delete"])
    }

    @Test func asyncAPIDescribesTheWebSocketChannel() async throws {
        let schema = try await Self.schema()
        let document = OpenAPIDocument.asyncAPI(for: schema, serverURL: "https://feeds.example:8443/base/")
        #expect(document["asyncapi"] == "3.0.0")
        #expect(document["servers"]?["feedbase"] == [
            "host": "feeds.example:8443", "protocol": "wss",
            "description": "The Feedbase server; the feed shares the port of the REST API.", "pathname": "/base",
        ])
        let local = OpenAPIDocument.asyncAPI(for: schema, serverURL: nil)["servers"]?["feedbase"]
        #expect(local?["host"] == "localhost:8080")
        #expect(local?["protocol"] == "ws")
        #expect(local?["pathname"] == nil)
        let channel = try #require(document["channels"]?["feed"])
        #expect(channel["address"] == "/_feed")
        #expect(channel["messages"]?.keys == ["change", "ready", "reset"])
        #expect(channel["bindings"]?["ws"]?["query"]?["properties"]?.keys == ["since", "collections"])
        let operation = try #require(document["operations"]?["receiveChanges"])
        #expect(operation["action"] == "receive")
        #expect(operation["channel"] == ["$ref": "#/channels/feed"])
        #expect(operation["messages"]?[0] == ["$ref": "#/channels/feed/messages/change"])
        #expect(document["components"]?["messages"]?["change"]?["payload"] == ["$ref": "#/components/schemas/ChangeEvent"])
        #expect(document["components"]?["schemas"]?["ChangeEvent"]?["oneOf"]?.arrayValue?.count == 3)
        #expect(document["components"]?["schemas"]?["ChangeEvent"]?["discriminator"] == nil)
        #expect(document["components"]?["schemas"]?["Ready"]?["properties"]?["type"] == ["const": "ready"])
    }

    @Test func everyReferenceOfEveryDocumentResolves() async throws {
        let schema = try await Self.schema()
        let documents = [
            OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil), OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil),
            OpenAPIDocument.asyncAPI(for: schema, serverURL: nil),
        ]
        for document in documents {
            var references: [String] = []
            func collect(_ value: DocumentValue) {
                switch value {
                case .object(let members):
                    for member in members {
                        if member.key == "$ref", let target = member.value.stringValue { references.append(target) } else { collect(member.value) }
                    }
                case .array(let elements): elements.forEach(collect)
                default: break
                }
            }
            collect(document)
            #expect(references.count > 10)
            for reference in Set(references) {
                #expect(reference.hasPrefix("#/"), "\(reference)")
                var node: DocumentValue? = document
                for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
                    node = node?[String(token).replacing("~1", with: "/").replacing("~0", with: "~")]
                }
                #expect(node != nil, "\(reference) resolves to nothing")
            }
        }
    }

    @Test func collidingAndUnusualTablesGetUniqueNames() async throws {
        let schema = try await Self.schema(sql: """
            CREATE TABLE task (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
            CREATE TABLE tasks (id INTEGER PRIMARY KEY, task_id INTEGER REFERENCES task(id));
            CREATE TABLE problems (code TEXT PRIMARY KEY);
            CREATE TABLE categories (slug INT PRIMARY KEY, name TEXT NOT NULL DEFAULT 'it''s', sum INTEGER GENERATED ALWAYS AS (slug + 1));
            CREATE TABLE statuses (id INTEGER PRIMARY KEY, "order" INTEGER, "select" TEXT);
            """)
        let document = OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil)
        let schemas = try #require(document["components"]?["schemas"])
        #expect(Self.operation(document, "/task/{id}", "get")?["operationId"] == "getTask")
        #expect(Self.operation(document, "/tasks/{id}", "get")?["operationId"] == "getTasks")
        #expect(Self.operation(document, "/tasks", "get")?["operationId"] == "listTasks")
        #expect(Self.operation(document, "/task", "get")?["operationId"] == "listTask")
        #expect(schemas["Tasks"] != nil)
        #expect(Self.operation(document, "/problems/{id}", "get")?["operationId"] == "getProblems")
        #expect(schemas["Problem"]?["required"] == ["type", "title", "status", "detail", "instance", "requestId"])
        #expect(Self.operation(document, "/statuses", "get")?["operationId"] == "listStatuses")
        #expect(schemas["Status"] != nil)
        #expect(Self.operation(document, "/categories/{id}", "get")?["operationId"] == "getCategory")

        // A client-chosen key is required on create; a generated column is read-only and not writable.
        let category = try #require(schemas["CategoryCreate"])
        #expect(category["required"] == ["slug"])
        #expect(category["properties"]?["sum"] == nil)
        #expect(category["properties"]?["name"]?["default"] == "it's")
        #expect(schemas["Category"]?["properties"]?["sum"]?["readOnly"] == true)
        // A reference that does not cascade can refuse the parent's delete.
        #expect(Self.statuses(document, "/task/{id}", "delete").contains("422"))
        #expect(!Self.statuses(document, "/tasks/{id}", "delete").contains("422"))
        // Columns named like reserved parameters cannot be filtered.
        let filters = Self.operation(document, "/statuses", "get")?["parameters"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(filters?.filter { $0 == "order" }.count == 1)
        #expect(filters?.contains("id") == true)
    }

    @Test func pathIdsAreTypedByTheKeyAndNeverEmpty() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(sql: """
            CREATE TABLE files (hash BLOB PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE days (day DATE PRIMARY KEY, note TEXT);
            CREATE TABLE flags (on_off BOOLEAN PRIMARY KEY);
            """), feed: false, serverURL: nil)
        func id(_ path: String) -> DocumentValue? { document["paths"]?[path]?["parameters"]?[0]?["schema"] }
        // An empty id would address the listing (`/files/`), so every text-like id has a first character.
        #expect(id("/files/{id}") == ["type": "string", "format": "byte", "contentEncoding": "base64", "minLength": 1])
        #expect(id("/days/{id}") == ["type": "string", "format": "date", "minLength": 1])
        #expect(id("/flags/{id}")?["type"] == "integer")
        #expect(document["components"]?["schemas"]?["FileCreate"]?["required"] == ["hash", "name"])
        #expect(document["components"]?["schemas"]?["DayCreate"]?["required"] == ["day"])
    }

    @Test func notNullJSONColumnsHaveOneSingleTypedBranchPerJSONType() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(sql: """
            CREATE TABLE settings (id INTEGER PRIMARY KEY, value JSON NOT NULL);
            """), feed: false, serverURL: nil)
        let value = try #require(document["components"]?["schemas"]?["Setting"]?["properties"]?["value"])
        // One type per branch: swift-openapi-generator keeps only the first type of a type list.
        #expect(value["anyOf"]?.arrayValue?.map { $0["type"] } == ["boolean", "number", "string", "array", "object"])
        #expect(value["anyOf"]?[3]?["items"] == ["$ref": "#/components/schemas/JSONValue"])
    }

    @Test func generationIsDeterministic() async throws {
        let schema = try await Self.schema()
        #expect(OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil).json()
            == OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil).json())
        #expect(OpenAPIDocument.asyncAPI(for: schema, serverURL: nil).yaml() == OpenAPIDocument.asyncAPI(for: schema, serverURL: nil).yaml())
    }

    @Test func jsonAndYAMLReadBackAsTheSameValue() async throws {
        let schema = try await Self.schema()
        for document in [
            OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil), OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil),
            OpenAPIDocument.asyncAPI(for: schema, serverURL: nil),
        ] {
            var json = DocumentReader(String(decoding: document.json(), as: UTF8.self))
            #expect(try json.readJSON() == document)
            #expect(try DocumentReader.readYAML(document.yaml()) == document)
        }
        let awkward: DocumentValue = [
            "yes": "no", "null": "~", "1.0": "1e5", "a: b": "#x", "-x": "", "On": "2026-01-01", "0x1F": "1_000", "tab": "a\tb\n",
            "quote": "say \"hi\" \\ ok", "unicode": "café ✓ \u{2028}\u{85}\u{7F}", "empty": [], "object": [:],
            "nested": [[1, 2], ["k": [true, false, nil]], -3, 1.5, 2e20],
        ]
        var json = DocumentReader(String(decoding: awkward.json(), as: UTF8.self))
        #expect(try json.readJSON() == awkward)
        #expect(try DocumentReader.readYAML(awkward.yaml()) == awkward)
        #expect(awkward.json().last == UInt8(ascii: "\n"))
    }

    @Test func yamlQuotesEveryStringAResolverCouldMisread() {
        for text in ["yes", "No", "ON", "off", "y", "n", "null", "Null", "~", "true", "False", "1.0", "1", "-1", ".5", "1e5", "0x1F", "0o7",
            "1_000", "12:30", "2026-01-01", ".inf", ".NaN", "a: b", "a #b", "#x", "-x", "- x", "?x", "&a", "*a", "!t", "|", ">", "%d", "@x",
            "`x", "'x'", "\"x\"", "[a]", "{a}", "", " a", "a ", "a\nb", "<<", "=", "x: ", "café"]
        {
            #expect(!DocumentValue.isPlainYAMLSafe(text), "\(text)")
        }
        for text in ["Feedbase", "application/json", "/tasks", "get", "A string (SQL type `TEXT`).".replacing("`", with: ""), "seq"] {
            #expect(DocumentValue.isPlainYAMLSafe(text), "\(text)")
        }
        #expect(DocumentValue.object(ordered: [("a", 1), ("b", 2), ("a", 3)]) == ["a": 3, "b": 2])
    }

    /// Writes the documents of the shipped schema for openapi-spec-validator and friends.
    @Test func writeDocumentsWhenAsked() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let directory = environment["FEEDBASE_WRITE_DOCS"], !directory.isEmpty else { return }
        let schema = try await Self.schema()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openAPI = OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil)
        try Data(openAPI.json()).write(to: URL(fileURLWithPath: directory + "/openapi.json"))
        try openAPI.yaml().write(toFile: directory + "/openapi.yaml", atomically: true, encoding: .utf8)
        let noFeed = OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil)
        try Data(noFeed.json()).write(to: URL(fileURLWithPath: directory + "/openapi-nofeed.json"))
        try noFeed.yaml().write(toFile: directory + "/openapi-nofeed.yaml", atomically: true, encoding: .utf8)
        let asyncAPI = OpenAPIDocument.asyncAPI(for: schema, serverURL: nil)
        try Data(asyncAPI.json()).write(to: URL(fileURLWithPath: directory + "/asyncapi.json"))
        try asyncAPI.yaml().write(toFile: directory + "/asyncapi.yaml", atomically: true, encoding: .utf8)
    }
}

/// Reads back what DocumentValue writes: JSON (RFC 8259), and the block YAML subset the emitter
/// produces (mappings, sequences, `[]`, `{}`, plain and double-quoted scalars), resolving plain
/// scalars the way YAML 1.2's core schema does.
struct DocumentReader {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    // MARK: JSON

    mutating func readJSON() throws -> DocumentValue {
        let value = try value()
        skipWhitespace()
        guard index == scalars.count else { throw Failure(description: "trailing text at \(index)") }
        return value
    }

    private mutating func skipWhitespace() {
        while index < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[index]) { index += 1 }
    }

    private mutating func expect(_ text: String) throws {
        for scalar in text.unicodeScalars {
            guard index < scalars.count, scalars[index] == scalar else { throw Failure(description: "expected \(text) at \(index)") }
            index += 1
        }
    }

    private mutating func value() throws -> DocumentValue {
        skipWhitespace()
        guard index < scalars.count else { throw Failure(description: "unexpected end") }
        switch scalars[index] {
        case "{":
            index += 1
            var members: [DocumentValue.Member] = []
            skipWhitespace()
            if scalars[index] == "}" {
                index += 1
                return .object([])
            }
            while true {
                skipWhitespace()
                let key = try string()
                skipWhitespace()
                try expect(":")
                members.append(DocumentValue.Member(key, try value()))
                skipWhitespace()
                if scalars[index] == "," { index += 1 } else { break }
            }
            try expect("}")
            return .object(members)
        case "[":
            index += 1
            var elements: [DocumentValue] = []
            skipWhitespace()
            if scalars[index] == "]" {
                index += 1
                return .array([])
            }
            while true {
                elements.append(try value())
                skipWhitespace()
                if scalars[index] == "," { index += 1 } else { break }
            }
            try expect("]")
            return .array(elements)
        case "\"":
            return .string(try string())
        case "t":
            try expect("true")
            return true
        case "f":
            try expect("false")
            return false
        case "n":
            try expect("null")
            return .null
        default:
            let start = index
            while index < scalars.count, "+-0123456789.eE".unicodeScalars.contains(scalars[index]) { index += 1 }
            return try Self.number(String(String.UnicodeScalarView(scalars[start..<index])))
        }
    }

    private static func number(_ text: String) throws -> DocumentValue {
        if let integer = Int64(text) { return .integer(integer) }
        guard let number = Double(text) else { throw Failure(description: "not a number: \(text)") }
        return .number(number)
    }

    /// A double-quoted string with JSON's escapes (YAML's double-quoted style is a superset).
    private mutating func string() throws -> String {
        try expect("\"")
        var out = String.UnicodeScalarView()
        while index < scalars.count, scalars[index] != "\"" {
            if scalars[index] == "\\" {
                index += 1
                let escape = scalars[index]
                index += 1
                switch escape {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{C}")
                case "u":
                    let hex = String(String.UnicodeScalarView(scalars[index..<index + 4]))
                    index += 4
                    guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw Failure(description: "bad escape \(hex)")
                    }
                    out.append(scalar)
                default: out.append(escape)
                }
            } else {
                out.append(scalars[index])
                index += 1
            }
        }
        try expect("\"")
        return String(out)
    }

    // MARK: YAML

    static func readYAML(_ text: String) throws -> DocumentValue {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        lines.reverse()  // a stack: the next line is last
        let indent = lines.last.map(Self.indentation) ?? 0
        let value = try block(&lines, indent: indent)
        guard lines.isEmpty else { throw Failure(description: "unread lines: \(lines.reversed().prefix(3))") }
        return value
    }

    private static func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }

    /// The block (mapping or sequence) whose entries start at `indent`.
    private static func block(_ lines: inout [String], indent: Int) throws -> DocumentValue {
        guard let first = lines.last else { return .null }
        let body = first.dropFirst(indent)
        if body.hasPrefix("- ") || body == "-" {
            var elements: [DocumentValue] = []
            while let line = lines.last, indentation(line) == indent, line.dropFirst(indent).hasPrefix("- ") {
                lines.removeLast()
                let rest = String(line.dropFirst(indent + 2))
                if rest.hasPrefix("- ") || splitKey(rest) != nil {
                    // A nested block begins on the dash's line: re-read it at the deeper indent.
                    lines.append(String(repeating: " ", count: indent + 2) + rest)
                    elements.append(try block(&lines, indent: indent + 2))
                } else {
                    elements.append(try scalar(rest))
                }
            }
            return .array(elements)
        }
        var members: [DocumentValue.Member] = []
        while let line = lines.last, indentation(line) == indent, !line.dropFirst(indent).hasPrefix("- ") {
            lines.removeLast()
            guard let (key, rest) = splitKey(String(line.dropFirst(indent))) else { throw Failure(description: "not a mapping entry: \(line)") }
            if rest.isEmpty {
                guard let next = lines.last, indentation(next) > indent else { throw Failure(description: "empty value for \(key)") }
                members.append(DocumentValue.Member(key, try block(&lines, indent: indentation(next))))
            } else {
                members.append(DocumentValue.Member(key, try scalar(rest)))
            }
        }
        return .object(members)
    }

    /// `key: rest` or `key:` with a plain or double-quoted key.
    private static func splitKey(_ text: String) -> (String, String)? {
        if text.hasPrefix("\"") {
            var reader = DocumentReader(text)
            guard let key = try? reader.string() else { return nil }
            let rest = String(String.UnicodeScalarView(reader.scalars[reader.index...]))
            if rest == ":" { return (key, "") }
            guard rest.hasPrefix(": ") else { return nil }
            return (key, String(rest.dropFirst(2)))
        }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let rest = text[text.index(after: colon)...]
        guard rest.isEmpty || rest.hasPrefix(" ") else { return nil }
        return (String(text[..<colon]), String(rest.dropFirst()))
    }

    private static func scalar(_ text: String) throws -> DocumentValue {
        switch text {
        case "[]": return .array([])
        case "{}": return .object([])
        case "null": return .null
        case "true": return true
        case "false": return false
        default: break
        }
        if text.hasPrefix("\"") {
            var reader = DocumentReader(text)
            let value = try reader.string()
            guard reader.index == reader.scalars.count else { throw Failure(description: "text after a quoted scalar: \(text)") }
            return .string(value)
        }
        if let first = text.unicodeScalars.first, "+-0123456789.".unicodeScalars.contains(first) { return try number(text) }
        return .string(text)
    }
}
