// What a band index needs from a predicate: a row read once and tested by many predicates of
// the same layout, and the equality a predicate demands of one column (its index term), so that
// an event is tested only against the predicates its values could satisfy.

/// A collection's columns in table order: how an item's JSON is read back into values.
public struct RowLayout: Sendable, Hashable {
    package let names: [String]
    package let types: [ColumnType]

    /// The row whose item JSON is `json`, or nil when it is not an object.
    public func row(_ json: [UInt8]) -> RowSnapshot? {
        RowImage.values(json, names: names, types: types).map(RowSnapshot.init)
    }

    package init(names: [String], types: [ColumnType]) {
        self.names = names
        self.types = types
    }
}

/// A row's values in its layout's column order.
public struct RowSnapshot: Sendable {
    package let values: [SQLValue]

    /// The key under which an index finds predicates that demand this column's value.
    public func key(at column: Int) -> IndexKey { IndexKey(values[column]) }
}

/// A value as an index key: two values SQLite compares as equal have equal keys (an INTEGER and
/// a REAL of the same value, for one); the converse need not hold, as the index only narrows
/// the predicates to test.
public struct IndexKey: Sendable, Hashable {
    private enum Value: Hashable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])
    }

    private let value: Value

    package init(_ value: SQLValue) {
        switch value {
        case .null: self.value = .null
        case .integer(let x): self.value = .integer(x)
        case .real(let x):
            // An integral REAL in range equals that INTEGER (RowPredicate.compare).
            if x.rounded() == x, x >= -9.223372036854775808e18, x < 9.223372036854775808e18 {
                self.value = .integer(Int64(x))
            } else {
                self.value = .real(x)
            }
        case .text(let x): self.value = .text(x)
        case .blob(let x): self.value = .blob(x)
        }
    }
}

extension RowPredicate {
    /// One column and the keys a row's value there must have for the predicate to hold (an
    /// `eq` or `in` condition, not negated; `in.()` gives no keys: no row holds), or nil when
    /// no condition demands equality. With several, the one with the fewest keys.
    public var indexTerm: (column: Int, keys: [IndexKey])? {
        var best: (column: Int, keys: [IndexKey])?
        for condition in conditions where !condition.negated {
            let keys: [IndexKey]
            switch condition.test {
            case .compare(.eq, let operand): keys = [IndexKey(operand)]
            case .oneOf(let operands): keys = Array(Set(operands.map(IndexKey.init)))
            case .never: keys = []
            default: continue
            }
            if keys.count < best?.keys.count ?? Int.max { best = (condition.column, keys) }
        }
        return best
    }
}
