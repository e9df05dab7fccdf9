// `POST /_batch`: writes to any collections in one transaction, all or nothing (docs/API.md,
// "Batches"). Each operation is authorized as its single route would be; the store runs them
// all as one write job; the answer lists each operation's status, item and ETag, or is the
// failing operation's problem with its pointers under the operation's index.

import FeedbaseAuth
import FeedbaseModel
import NIOHTTP1

struct BatchRoute: Sendable {
    let store: any ResourceStore
    let policy: AccessPolicy

    func apply(_ request: Request) async throws -> Response {
        guard !request.body.isEmpty else { throw Problem(.badRequest, "the request body is empty; send a JSON array of operations") }
        try CollectionRoutes.requireJSON(request)
        let identity = request.identity
        let policy = self.policy
        let schema = store.schema
        let result = try await store.batch(request.body) { action, collection in
            try Self.access(policy, identity, action, collection, schema: schema)
        }
        var body = Array(#"{"results":["#.utf8)
        for (index, outcome) in result.outcomes.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            switch outcome {
            case .created(let item), .changed(let item):
                let status = if case .created = outcome { "201" } else { "200" }
                body += Array(#"{"status":\#(status),"body":"#.utf8)
                body += item.json
                body += Array(#","etag":\#(JSONText.quote(item.etag))}"#.utf8)
            case .deleted:
                body += Array(#"{"status":204}"#.utf8)
            }
        }
        body += Array("]}".utf8)
        var headers = HTTPHeaders()
        if store.feedEnabled { headers.add(name: "X-Change-Seq", value: String(result.seq)) }
        return .json(.ok, body, headers: headers)
    }

    /// The identity's access to `collection` for `action`, refused as the single route refuses
    /// it (401 for the anonymous, 403 otherwise).
    static func access(_ policy: AccessPolicy, _ identity: Identity, _ action: BatchAction, _ collection: String, schema: Schema) throws -> Access {
        let access = schema[collection].map { policy.access(identity, $0) } ?? policy.access(identity, collection)
        let allowed: Bool
        let what: String
        switch action {
        case .create: (allowed, what) = (access.create.isAllowed, "create items in \(collection)")
        // PUT creates or replaces: either grant lets it through; the store tells which applies.
        case .put: (allowed, what) = (access.create.isAllowed || access.update.isAllowed, "replace items in \(collection)")
        case .patch: (allowed, what) = (access.update.isAllowed, "change items in \(collection)")
        case .delete: (allowed, what) = (access.delete.isAllowed, "delete items in \(collection)")
        }
        guard allowed else { throw Problem.denied(identity, what) }
        return access
    }
}

extension API {
    /// The failing operation's problem, as its single route would answer it, with every
    /// pointer under the operation's index (`/2/body/title`) and the index in the detail.
    func batchProblem(_ failure: BatchFailure, request: Request) -> Problem {
        var problem = problem(for: failure.error, request: request)
        if problem.errors.isEmpty, let error = failure.error as? StoreError {
            problem.errors = error.violations.map { Problem.Item(pointer: $0.pointer, detail: $0.detail) }
        }
        if problem.errors.isEmpty, (400..<500).contains(problem.status.code) {
            problem.errors = [Problem.Item(pointer: "", detail: problem.detail)]
        }
        for index in problem.errors.indices {
            if let pointer = problem.errors[index].pointer { problem.errors[index].pointer = "/\(failure.index)" + pointer }
        }
        problem.detail = "operation \(failure.index)\(failure.operation.map { " (\($0))" } ?? ""): \(problem.detail); nothing was written"
        return problem
    }
}
