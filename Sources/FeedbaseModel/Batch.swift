// An atomic batch of writes across collections (`POST /_batch`), in the store's terms: what
// each operation did, and the failure of one operation that undid them all.

/// What an operation of a batch asks for: the single routes' POST, PUT, PATCH and DELETE.
public enum BatchAction: String, Sendable, CaseIterable {
    case create, put, patch, delete
}

/// What one operation of a committed batch did.
public enum BatchOutcome: Sendable, Equatable {
    /// A create, or a PUT that found no item.
    case created(Item)
    /// A PUT of an existing item, or a PATCH.
    case changed(Item)
    case deleted

    /// The stored item after the operation (nil for a delete).
    public var item: Item? {
        switch self {
        case .created(let item), .changed(let item): item
        case .deleted: nil
        }
    }
}

/// A committed batch: one outcome per operation, in order, and the seq of its last event.
public struct BatchResult: Sendable {
    public var outcomes: [BatchOutcome]
    public var seq: Int64

    package init(outcomes: [BatchOutcome], seq: Int64) {
        self.outcomes = outcomes
        self.seq = seq
    }
}

/// The operation that failed a batch (nothing of it was written). `error` is what the single
/// route would have failed with (a `StoreError`, or what `authorize` threw); its violations'
/// pointers are relative to the operation's object (`/body/title`, `/id`, `/ifMatch`).
public struct BatchFailure: Error, CustomStringConvertible {
    public var index: Int
    /// `patch tasks/5`, as far as the operation could be read.
    public var operation: String?
    public var error: any Error

    public init(index: Int, operation: String?, error: any Error) {
        self.index = index
        self.operation = operation
        self.error = error
    }

    public var description: String { "operation \(index)\(operation.map { " (\($0))" } ?? ""): \(error)" }
}
