// A walk through one task's life with the client generated from Feedbase's openapi.yaml: create a
// project and a task, list with filters (one of them repeated), merge-patch, read with the ETag,
// delete. Then a live query followed over `/_changes/tasks` (FollowBand.swift). With
// FEEDBASE_TOKEN set, every request carries it (BearerToken.swift), and a request without it
// must be refused with 401. Any response
// other than the one expected ends the program with status 1.
//
//     swift run --scratch-path .build TaskClient [SERVER_URL]    (default http://127.0.0.1:8080)

import Foundation
import OpenAPIRuntime
import OpenAPIURLSession

/// A response the walk did not expect, with everything the client decoded of it.
struct UnexpectedResponse: Error, CustomStringConvertible {
    let step: String
    let response: String
    init(_ step: String, _ response: Any) {
        self.step = step
        self.response = String(describing: response)
    }
    var description: String { "\(step): unexpected response: \(response)" }
}

/// A JSON column's value as compact JSON text.
func jsonText(_ value: OpenAPIValueContainer) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

func describe(_ task: Components.Schemas.Task) throws -> String {
    let priority = task.priority.map(String.init) ?? "null"
    let due = task.due.map { $0.formatted(.iso8601) } ?? "null"
    return "#\(task.id) \"\(task.title)\" done=\(task.done) priority=\(priority) due=\(due) tags=\(try jsonText(task.tags))"
}

func createProject(_ client: Client, _ name: String) async throws -> Components.Schemas.Project {
    switch try await client.createProject(body: .json(.ProjectCreate(.init(name: name)))) {
    case .created(let created):
        guard case .Project(let item) = try created.body.json else { throw UnexpectedResponse("create project", created) }
        return item
    case let other:
        throw UnexpectedResponse("create project", other)
    }
}

func walk(_ client: Client) async throws {
    // A project name is UNIQUE, so each run makes its own.
    let name = "TaskClient example \(UInt64(Date().timeIntervalSince1970 * 1000))"
    let project = try await createProject(client, name)
    print("created project #\(project.id) \"\(project.name)\"")

    let newTask = Components.Schemas.TaskCreate(
        projectId: project.id,
        title: "Try the generated client",
        priority: 3,
        tags: try OpenAPIValueContainer(unvalidatedValue: ["labels": ["example", "openapi"], "points": 3] as [String: any Sendable])
    )
    var task: Components.Schemas.Task
    switch try await client.createTask(body: .json(.TaskCreate(newTask))) {
    case .created(let created):
        guard case .Task(let item) = try created.body.json else { throw UnexpectedResponse("create task", created) }
        task = item
        print("created task \(try describe(task)) at \(created.headers.location ?? "?") ETag \(created.headers.eTag ?? "?")")
    case let other:
        throw UnexpectedResponse("create task", other)
    }

    // The project's open tasks of priority 2 to 4, most urgent first, with the total count. Each
    // filter is an array: `priority` goes out twice (`priority=gte.2&priority=lte.4`) and the
    // server ANDs the two conditions.
    let listing = try await client.listTasks(
        query: .init(
            projectId: ["eq.\(project.id)"], done: ["is.false"], priority: ["gte.2", "lte.4"],
            order: "priority.desc", limit: 20
        ),
        headers: .init(prefer: "count=exact")
    )
    switch listing {
    case .ok(let ok):
        let items = try ok.body.json
        guard items.contains(where: { $0.id == task.id }), let range = ok.headers.contentRange else {
            throw UnexpectedResponse("list tasks: task or count missing", ok)
        }
        guard items.allSatisfy({ (2...4).contains($0.priority ?? 0) }) else {
            throw UnexpectedResponse("list tasks: a priority outside 2...4", ok)
        }
        let titles = items.map { "#\($0.id.map(String.init) ?? "?") \($0.title ?? "?")" }.joined(separator: ", ")
        print("listed open tasks of project #\(project.id) with priority 2 to 4: \(items.count) [\(titles)], Content-Range \(range)")
    case let other:
        throw UnexpectedResponse("list tasks", other)
    }

    // JSON Merge Patch: only the keys sent change, so the title stays; an object sent to a JSON
    // column merges into it, and a null member removes that key.
    let due = Date(timeIntervalSince1970: 1_798_761_600)  // 2027-01-01T00:00:00Z
    let tagsPatch = try OpenAPIValueContainer(unvalidatedValue: ["points": nil, "reviewed": true] as [String: (any Sendable)?])
    let patchETag: String
    switch try await client.patchTask(
        path: .init(id: task.id),
        body: .applicationMergePatchJson(.init(done: true, priority: 1, due: due, tags: tagsPatch))
    ) {
    case .ok(let ok):
        let patched = try ok.body.json
        guard patched.done, patched.priority == 1, patched.due == due, patched.title == task.title,
            try jsonText(patched.tags) == #"{"labels":["example","openapi"],"reviewed":true}"#
        else {
            throw UnexpectedResponse("patch task: not merged", ok)
        }
        task = patched
        patchETag = ok.headers.eTag
        print("patched task \(try describe(task)) ETag \(patchETag)")
    case let other:
        throw UnexpectedResponse("patch task", other)
    }

    // Read it: the ETag is the one the patch returned; sent back, it means "not modified".
    switch try await client.getTask(path: .init(id: task.id)) {
    case .ok(let ok):
        guard ok.headers.eTag == patchETag, try ok.body.json == task else { throw UnexpectedResponse("get task: changed", ok) }
        print("read task #\(task.id): ETag \(ok.headers.eTag), same as the patch's")
    case let other:
        throw UnexpectedResponse("get task", other)
    }
    switch try await client.getTask(path: .init(id: task.id), headers: .init(ifNoneMatch: patchETag)) {
    case .notModified:
        print("read task #\(task.id) with If-None-Match \(patchETag): 304 Not Modified")
    case let other:
        throw UnexpectedResponse("get task with If-None-Match", other)
    }

    // Delete only the version we read.
    switch try await client.deleteTask(path: .init(id: task.id), headers: .init(ifMatch: patchETag)) {
    case .noContent:
        print("deleted task #\(task.id) with If-Match \(patchETag): 204")
    case let other:
        throw UnexpectedResponse("delete task", other)
    }
    switch try await client.getTask(path: .init(id: task.id)) {
    case .notFound:
        print("read task #\(task.id) again: 404 Not Found")
    case let other:
        throw UnexpectedResponse("get deleted task", other)
    }

    switch try await client.deleteProject(path: .init(id: project.id)) {
    case .noContent:
        print("deleted project #\(project.id): 204")
    case let other:
        throw UnexpectedResponse("delete project", other)
    }
}

let argument = CommandLine.arguments.dropFirst().first ?? "http://127.0.0.1:8080"
guard let serverURL = URL(string: argument), serverURL.scheme == "http" || serverURL.scheme == "https" else {
    FileHandle.standardError.write(Data("usage: TaskClient [http://HOST:PORT]\n".utf8))
    exit(2)
}
// Feedbase returns date-times with milliseconds, which the default transcoder does not parse;
// RawHeaderValues keeps ETags and preferences as HTTP wants them (see its file).
// FEEDBASE_TOKEN: the API key (or JWT) every request carries; run.sh serves with access rules
// and makes a key for the example.
let token = ProcessInfo.processInfo.environment["FEEDBASE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
let client = Client(
    serverURL: serverURL,
    configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds),
    transport: URLSessionTransport(),
    middlewares: [RawHeaderValues()] + (token.map { [BearerToken(token: $0)] } ?? [])
)
do {
    print("server \(serverURL.absoluteString)")
    if token != nil {
        // Without the token the rules give nothing: the generated client sees the 401 the document describes.
        let anonymous = Client(
            serverURL: serverURL, configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds), transport: URLSessionTransport())
        switch try await anonymous.listTasks() {
        case .unauthorized(let refused):
            guard case .applicationProblemJson(let problem) = refused.body, problem.status == 401 else { throw UnexpectedResponse("anonymous list", refused) }
            print("anonymous: 401, as the rules say")
        case let other:
            throw UnexpectedResponse("anonymous list", other)
        }
    }
    try await walk(client)
    try await followBand(client)
    print("ok")
} catch {
    FileHandle.standardError.write(Data("TaskClient: \(error)\n".utf8))
    exit(1)
}
