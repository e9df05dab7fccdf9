// The store as the layers above see it: collections of JSON items, addressed by collection name
// and item id. No SQL and no SQLite type crosses this boundary, so another engine (PostgreSQL)
// can implement it.

/// One item as stored: its id as text, and its JSON representation built by the database.
public struct Item: Sendable, Equatable {
    public var id: String
    /// UTF-8 JSON object bytes, passed through to clients unchanged.
    public var json: [UInt8]

    public init(id: String, json: [UInt8]) {
        self.id = id
        self.json = json
    }
}

public protocol ResourceStore: Sendable {
    /// The collections served, fixed for the life of the store.
    var schema: Schema { get }

    /// The item with `id`, or nil when there is none (an id that cannot be of the key's type
    /// is simply absent).
    func item(in collection: String, id: String) async throws -> Item?

    /// Creates an item from a JSON object body: validated against the schema, defaults and a
    /// server-assigned key filled in, committed durably before this returns.
    func create(in collection: String, body: [UInt8]) async throws -> Item

    /// Finishes queued work and releases the database.
    func close() async
}
