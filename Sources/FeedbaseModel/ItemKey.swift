// Item ids as URLs and batch operations write them, typed like the collection's key column.

extension Column {
    /// The value of an id taken from a URL, typed like this key column; nil when it cannot be one
    /// (such an item is simply absent).
    package func keyValue(_ id: String) -> SQLValue? {
        switch type {
        case .integer, .boolean:
            return Int64(id).map { .integer($0) }
        case .number:
            if let integer = Int64(id) { return .integer(integer) }
            // Decimal notation only, as in a filter: Double also reads `nan`, `inf` and hex.
            guard id.utf8.allSatisfy({ "0123456789.eE+-".utf8.contains($0) }), let value = Double(id), value.isFinite
            else { return nil }
            return .real(value)
        case .blob:
            return Base64.decode(id).map { .blob($0) }
        case .dateTime:
            return Timestamp.normalizeDateTime(id).map { .text($0) }
        case .date:
            return Timestamp.isValidDate(id) ? .text(id) : nil
        case .time:
            return Timestamp.isValidTime(id) ? .text(id) : nil
        case .json, .string:
            // Text with U+0000 cannot be stored (RequestBody refuses it in bodies).
            return id.utf8.contains(0) ? nil : .text(id)
        }
    }
}
