// The JSON reading that planning needs (FeedbaseModel's JSONReading), done by SQLite's own JSON
// functions on the connection the plan is rendered on.

import FeedbaseModel

struct SQLiteJSON: JSONReading {
    let connection: Connection

    func normalized(_ text: String) throws -> String {
        try connection.scalarText("SELECT CASE WHEN json_valid(?1) THEN json(?1) ELSE json_quote(?1) END", [.text(text)]) ?? text
    }

    func arrayElements(_ text: String) throws -> [(type: String, value: SQLValue)]? {
        // json_type raises an error on text that is not JSON, and AND does not short-circuit in
        // SQLite: the CASE keeps it from ever seeing such text.
        guard try connection.scalarInt("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'array' ELSE 0 END", [.text(text)]) == 1
        else { return nil }
        return try connection.query(
            "SELECT type, CASE WHEN type = 'object' THEN value ->> '$.base64' ELSE atom END FROM json_each(?1)", [.text(text)]
        ) { (type: $0.text(0) ?? "", value: $0.value(1)) }
    }
}
