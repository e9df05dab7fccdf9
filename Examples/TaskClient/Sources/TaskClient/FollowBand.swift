// A live query followed with the generated client: a local copy of one project's open tasks,
// loaded from the listing and kept up to date from `GET /_changes/tasks` with the same filter,
// then compared with a fresh listing. The band's messages say `enter` and `leave` when a task
// moves into or out of the filter, so the copy never needs to look at tasks outside it.

import Foundation
import OpenAPIRuntime

typealias TaskItem = Components.Schemas.TaskListItem

/// The band: the open tasks of one project, as the listing and `/_changes/tasks` both read it.
struct OpenTasks {
    let projectID: Int64
    var projectFilter: [String] { ["eq.\(projectID)"] }
    let doneFilter = ["is.false"]

    /// The listing of the band: its items by id, and the seq they were read at.
    func snapshot(_ client: Client) async throws -> (items: [String: TaskItem], seq: Int64) {
        switch try await client.listTasks(query: .init(projectId: projectFilter, done: doneFilter, limit: 1000)) {
        case .ok(let ok):
            // The listing's X-Change-Seq is optional in the document (its text/event-stream
            // answer has none); the JSON page always carries it.
            guard let seq = ok.headers.xChangeSeq else { throw UnexpectedResponse("list open tasks: no X-Change-Seq", ok) }
            var items: [String: TaskItem] = [:]
            for item in try ok.body.json {
                guard let id = item.id else { throw UnexpectedResponse("list open tasks: an item without id", ok) }
                items[String(id)] = item
            }
            return (items, seq)
        case let other:
            throw UnexpectedResponse("list open tasks", other)
        }
    }

    /// Applies the band's messages after `since` to `copy` until its `last_seq` reaches `target`,
    /// and returns the seq reached. `wait=1`: a page with nothing new is held up to a second.
    func catchUp(_ client: Client, copy: inout [String: TaskItem], since: Int64, target: Int64) async throws -> Int64 {
        var since = since
        var pages = 0
        while since < target {
            // Each page moves `last_seq` forward (past events not for the band too), so a few
            // pages reach any seq the writes returned; the bound stops a server that never does.
            pages += 1
            guard pages <= 20 else { throw UnexpectedResponse("changes of open tasks", "still at seq \(since) of \(target) after 20 pages") }
            let page: Components.Schemas.TaskBandChanges
            switch try await client.listTaskChanges(query: .init(projectId: projectFilter, done: doneFilter, since: since, wait: 1)) {
            case .ok(let ok): page = try ok.body.json
            case let other: throw UnexpectedResponse("changes of open tasks after \(since)", other)
            }
            for change in page.changes {
                switch change.op {
                case .create, .enter, .update: copy[change.id] = change.item
                case .delete, .leave: copy[change.id] = nil
                }
                print("  band: seq \(change.seq) \(change.op.rawValue) #\(change.id) \"\(change.item.title ?? "?")\"")
            }
            since = page.lastSeq
        }
        return since
    }
}

func describe(_ items: [String: TaskItem]) -> String {
    "[" + items.keys.sorted { Int($0) ?? 0 < Int($1) ?? 0 }.map { "#\($0) \(items[$0]?.title ?? "?")" }.joined(separator: ", ") + "]"
}

/// Creates a task and returns its id and the write's seq.
func createTask(_ client: Client, _ task: Components.Schemas.TaskCreate) async throws -> (id: Int64, seq: Int64) {
    switch try await client.createTask(body: .json(.TaskCreate(task))) {
    case .created(let created):
        guard case .Task(let item) = try created.body.json else { throw UnexpectedResponse("create task", created) }
        return (item.id, created.headers.xChangeSeq)
    case let other:
        throw UnexpectedResponse("create task", other)
    }
}

/// Merge-patches a task and returns the write's seq.
func patchTask(_ client: Client, _ id: Int64, _ patch: Components.Schemas.TaskPatch) async throws -> Int64 {
    switch try await client.patchTask(path: .init(id: id), body: .applicationMergePatchJson(patch)) {
    case .ok(let ok): return ok.headers.xChangeSeq
    case let other: throw UnexpectedResponse("patch task #\(id)", other)
    }
}

func followBand(_ client: Client) async throws {
    let project = try await createProject(client, "TaskClient band \(UInt64(Date().timeIntervalSince1970 * 1000))")
    let band = OpenTasks(projectID: project.id)
    let spec = try await createTask(client, .init(projectId: project.id, title: "Write the spec"))
    let chore = try await createTask(client, .init(projectId: project.id, title: "Old chore", done: true))

    var (copy, seq) = try await band.snapshot(client)
    print("snapshot of open tasks of project #\(project.id) at seq \(seq): \(describe(copy))")

    // A create in the band, an update inside it, a task that leaves (done) and one that enters
    // (reopened), a delete, and last a create outside the band, which the band never mentions:
    // only `last_seq` moving past it tells the client it has caught up.
    let review = try await createTask(client, .init(projectId: project.id, title: "Review the spec"))
    _ = try await patchTask(client, spec.id, .init(title: "Write the spec, v2"))
    _ = try await patchTask(client, review.id, .init(done: true))
    _ = try await patchTask(client, chore.id, .init(done: false))
    switch try await client.deleteTask(path: .init(id: spec.id)) {
    case .noContent: break
    case let other: throw UnexpectedResponse("delete task #\(spec.id)", other)
    }
    let last = try await createTask(client, .init(projectId: project.id, title: "Done already", done: true))
    print("wrote: created #\(review.id), renamed #\(spec.id), closed #\(review.id), reopened #\(chore.id), deleted #\(spec.id), created #\(last.id) done (outside the band) at seq \(last.seq)")

    seq = try await band.catchUp(client, copy: &copy, since: seq, target: last.seq)
    let fresh = try await band.snapshot(client)
    guard copy == fresh.items else {
        throw UnexpectedResponse("band copy at seq \(seq)", "\(describe(copy)) differs from the listing's \(describe(fresh.items)) at seq \(fresh.seq)")
    }
    print("local copy at seq \(seq) equals the listing: \(describe(copy))")

    // Its tasks go with it (ON DELETE CASCADE).
    switch try await client.deleteProject(path: .init(id: project.id)) {
    case .noContent: print("deleted project #\(project.id): 204")
    case let other: throw UnexpectedResponse("delete project", other)
    }
}
