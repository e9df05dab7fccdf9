// The operations of the OpenAPI document: ids, statuses and headers per operation as the handlers
// answer them, the feed switch, and names and path ids for unusual tables.

import Testing

@testable import FeedbaseOpenAPI

@Suite struct OperationTests: DocumentTesting {
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
            ("/_changes/tasks", "get", "listTaskChanges"), ("/_changes/projects", "get", "listProjectChanges"),
            ("/_changes/comments", "get", "listCommentChanges"), ("/_batch", "post", "applyBatch"),
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
        #expect(ids.count == 3 * 7 + 9)
        #expect(Set(ids).count == ids.count)
        #expect(document["openapi"] == "3.1.0")
        #expect(document["servers"]?[0]?["url"] == "http://localhost:8080")
        #expect(OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: "https://api.example/v1")["servers"]?[0]?["url"]
            == "https://api.example/v1")
    }

    @Test func operationsDeclareTheStatusesAndHeadersTheHandlersProduce() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        // The listing's URL is also its live query (text/event-stream), which can answer 410.
        #expect(Self.statuses(document, "/tasks", "get") == ["200", "400", "401", "403", "410", "429", "500", "503"])
        #expect(Self.statuses(document, "/tasks", "post") == ["201", "400", "401", "403", "409", "413", "415", "422", "429", "500", "503", "507"])
        #expect(Self.statuses(document, "/tasks/{id}", "get") == ["200", "304", "400", "401", "403", "404", "429", "500", "503"])
        #expect(Self.statuses(document, "/tasks/{id}", "put")
            == ["200", "201", "400", "401", "403", "404", "412", "413", "415", "422", "429", "500", "503", "507"])
        #expect(Self.statuses(document, "/tasks/{id}", "patch") == ["200", "400", "401", "403", "404", "412", "413", "415", "422", "429", "500", "503", "507"])
        #expect(Self.statuses(document, "/tasks/{id}", "delete") == ["204", "400", "401", "403", "404", "412", "429", "500", "503", "507"])
        // projects.name is UNIQUE: a replace or patch can conflict.
        #expect(Self.statuses(document, "/projects/{id}", "put").contains("409"))
        #expect(Self.statuses(document, "/_health", "get") == ["200", "400", "503"])
        // A request the HTTP decoder refuses is a 400 problem on any route.
        for path in document["paths"]?.keys ?? [] {
            for method in document["paths"]?[path]?.keys ?? [] where method != "parameters" {
                #expect(Self.statuses(document, path, method).contains("400"), "\(method) \(path)")
            }
        }
        #expect(Self.statuses(document, "/_changes", "get") == ["200", "400", "401", "403", "404", "410", "429", "500", "503"])
        #expect(Self.statuses(document, "/_feed", "get") == ["101", "200", "400", "401", "403", "404", "410", "429", "500", "503"])
        #expect(Self.statuses(document, "/_changes/tasks", "get") == ["200", "400", "401", "403", "410", "429", "500", "503"])
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

    @Test func withoutTheFeedTheFeedRoutesAndHeadersAreLeftOut() async throws {
        let schema = try await Self.schema()
        let document = OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil)
        let paths = document["paths"]?.keys ?? []
        #expect(!paths.contains("/_changes"))
        #expect(!paths.contains("/_feed"))
        #expect(!paths.contains("/_changes/tasks"))
        #expect(Self.statuses(document, "/tasks", "get") == ["200", "400", "401", "403", "429", "500", "503"])
        #expect(Self.operation(document, "/tasks", "get")?["responses"]?["200"]?["content"]?.keys == ["application/json"])
        #expect(!paths.contains("/asyncapi.json"))
        #expect(paths.contains("/openapi.yaml"))
        #expect(Self.operation(document, "/tasks/{id}", "get")?["responses"]?["200"]?["headers"]?.keys == ["X-Request-Id", "ETag"])
        #expect(document["components"]?["schemas"]?["ChangeEvent"] == nil)
        #expect(document["components"]?["schemas"]?["Index"]?["required"] == ["collections", "health", "ready", "openapi"])
        #expect(OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil)["components"]?["schemas"]?["Index"]?["required"]
            == ["collections", "health", "ready", "feed", "changes", "openapi", "asyncapi"])
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
        #expect(Self.operation(document, "/_changes/task", "get")?["operationId"] == "listTaskChanges")
        #expect(Self.operation(document, "/_changes/tasks", "get")?["operationId"] == "listTasksChanges")
        #expect(schemas["TasksBandChange"]?["properties"]?["item"] == ["$ref": "#/components/schemas/TasksListItem"])
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
        // A reference that does not cascade can refuse the parent's delete: a conflict (409).
        #expect(Self.statuses(document, "/task/{id}", "delete").contains("409"))
        #expect(!Self.statuses(document, "/task/{id}", "delete").contains("422"))
        #expect(!Self.statuses(document, "/tasks/{id}", "delete").contains("409"))
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
}
