// The store as the layers above see it: collections of JSON items, addressed by collection name
// and item id. No SQL and no SQLite type crosses this boundary, so another engine (PostgreSQL)
// can implement it.

/// One item as stored: its id as text, and its JSON representation built by the database.
public struct Item: Sendable, Equatable {
    public var id: String
    /// UTF-8 JSON object bytes, passed through to clients unchanged.
    public var json: [UInt8]
    /// The change seq this representation is as of: the log's head in the snapshot it was read
    /// from, or the seq of the write's last event (0 when the feed is off).
    public var seq: Int64

    public init(id: String, json: [UInt8], seq: Int64 = 0) {
        self.id = id
        self.json = json
        self.seq = seq
    }

    /// The strong entity tag of this representation.
    public var etag: String { ETag.of(json) }
}

/// What a POST created: one item for an object body, every item (in order) for an array body.
public struct Created: Sendable {
    public var items: [Item]
    public var isArray: Bool
    /// The seq of the last event of this write.
    public var seq: Int64 = 0

    package init(items: [Item], isArray: Bool, seq: Int64 = 0) {
        self.items = items
        self.isArray = isArray
        self.seq = seq
    }
}

/// The change log as the feed reads it.
public protocol ChangeSource: Sendable {
    /// Events after `seq` (of some collections, or all), oldest first, with the log's head and
    /// oldest retained seq from the same snapshot: at most `limit` events, and no more once
    /// their JSON reaches `maxBytes` (so one page is at least one event, and at most `maxBytes`
    /// plus one event).
    func changes(after seq: Int64, collections: Set<String>?, limit: Int, maxBytes: Int) async throws -> ChangeBatch

    /// Calls `observer` (on the writer's thread: it must return at once) after every commit.
    func observeCommits(_ observer: @escaping @Sendable () -> Void)
}

public protocol ResourceStore: ChangeSource {
    /// The collections served, fixed for the life of the store.
    var schema: Schema { get }

    /// The item with `id`, or nil when there is none (an id that cannot be of the key's type
    /// is simply absent).
    func item(in collection: String, id: String, access: Access) async throws -> Item?

    /// One page of a collection, filtered and ordered, from one snapshot.
    func list(in collection: String, query: ListQuery) async throws -> Page

    /// Creates items from a JSON object body, or from an array of objects (all or nothing):
    /// validated against the schema, defaults and server-assigned keys filled in, committed
    /// durably before this returns.
    func create(in collection: String, body: [UInt8], access: Access) async throws -> Created

    /// Replaces the item with `id` by the body (absent keys become their default or NULL), or
    /// creates it; `created` says which.
    func replace(in collection: String, id: String, body: [UInt8], preconditions: Preconditions, access: Access) async throws
        -> (item: Item, created: Bool)

    /// Applies a JSON Merge Patch (RFC 7396) to the item with `id`.
    func patch(in collection: String, id: String, body: [UInt8], preconditions: Preconditions, access: Access) async throws -> Item

    /// Deletes the item with `id`; a missing item is `.notFound`. Returns the seq of its event.
    func delete(in collection: String, id: String, preconditions: Preconditions, access: Access) async throws -> Int64

    /// Applies a batch body (a JSON array of operations on any collections, docs/API.md
    /// "Batches") in one transaction, all or nothing, committed durably before this returns.
    /// `authorize` gives each operation's access, or throws to refuse it; any failure is
    /// thrown as a `BatchFailure` naming the operation, and nothing is written.
    func batch(_ body: [UInt8], authorize: @escaping @Sendable (BatchAction, String) throws -> Access) async throws -> BatchResult

    /// `filters` as a predicate over items of the collection, checked and typed as a listing
    /// with those filters would be (the same errors for the same mistakes).
    func predicate(in collection: String, filters: [Filter], groups: [FilterGroup], rule: [Filter]) async throws -> RowPredicate

    /// Whether writes are recorded in the change log (`--no-feed` turns it off).
    var feedEnabled: Bool { get }

    /// Deletes events older than `age` and beyond the newest `keep`, in small batches; returns
    /// how many were deleted.
    func pruneChanges(olderThan age: Duration?, keep: Int?) async throws -> Int

    /// Whether the database answers a query.
    func isHealthy() async -> Bool

    /// Whether a write could be committed now: the database is open for writing (not read-only,
    /// not a standby) and the write lock or a connection can be had. Writes nothing.
    func isWritable() async -> Bool

    /// Finishes queued work and releases the database.
    func close() async

    /// `item(in:id:)` with a completion instead of `async`, for callers on an event loop: an
    /// engine with its own threads calls `completion` from them, sparing the hops through the
    /// Swift concurrency pool. `completion` runs on any thread.
    func item(in collection: String, id: String, access: Access, completion: @escaping @Sendable (Result<Item?, any Error>) -> Void)

    /// `list(in:query:)` with a completion; see `item(in:id:completion:)`.
    func list(in collection: String, query: ListQuery, completion: @escaping @Sendable (Result<Page, any Error>) -> Void)
}

extension ResourceStore {
    public func item(
        in collection: String, id: String, access: Access, completion: @escaping @Sendable (Result<Item?, any Error>) -> Void
    ) {
        Task {
            do { completion(.success(try await item(in: collection, id: id, access: access))) } catch { completion(.failure(error)) }
        }
    }

    // Without access rules: every row, every action (tools, tests, an open server).

    public func item(in collection: String, id: String) async throws -> Item? {
        try await item(in: collection, id: id, access: .unrestricted)
    }

    public func create(in collection: String, body: [UInt8]) async throws -> Created {
        try await create(in: collection, body: body, access: .unrestricted)
    }

    public func replace(in collection: String, id: String, body: [UInt8], preconditions: Preconditions) async throws
        -> (item: Item, created: Bool)
    {
        try await replace(in: collection, id: id, body: body, preconditions: preconditions, access: .unrestricted)
    }

    public func patch(in collection: String, id: String, body: [UInt8], preconditions: Preconditions) async throws -> Item {
        try await patch(in: collection, id: id, body: body, preconditions: preconditions, access: .unrestricted)
    }

    public func delete(in collection: String, id: String, preconditions: Preconditions) async throws -> Int64 {
        try await delete(in: collection, id: id, preconditions: preconditions, access: .unrestricted)
    }

    public func predicate(in collection: String, filters: [Filter]) async throws -> RowPredicate {
        try await predicate(in: collection, filters: filters, groups: [], rule: [])
    }

    public func predicate(in collection: String, filters: [Filter], rule: [Filter]) async throws -> RowPredicate {
        try await predicate(in: collection, filters: filters, groups: [], rule: rule)
    }

    public func list(in collection: String, query: ListQuery, completion: @escaping @Sendable (Result<Page, any Error>) -> Void) {
        Task {
            do { completion(.success(try await list(in: collection, query: query))) } catch { completion(.failure(error)) }
        }
    }
}
