// The PostgreSQL engine (docs/POSTGRES.md) on postgres-nio: its SQL text is written here and in
// the files beside this one, never from request input; identifiers come from the catalog.

/// Quoting for SQL text the engine writes (identifiers from the catalog, literals it owns).
public enum PostgresSQL {
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// A string literal; standard_conforming_strings is on (PostgreSQL's default since 9.1), so
    /// only the quote needs doubling.
    public static func literal(_ text: String) -> String {
        "'" + text.replacingAll("'", with: "''") + "'"
    }
}
