// A migration file cut into statements as SQLite reads it (string literals, comments and trigger
// bodies hold semicolons that end nothing), and which statements change the schema: the
// migrator rebuilds the change-log triggers around those and logs the others' row changes.

import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct MigrationScriptTests {
    @Test func statementsEndWhereSQLiteSaysTheyEnd() {
        let sql = """
            INSERT INTO t (x) VALUES ('a;b'); -- a comment; still one
            CREATE TRIGGER r AFTER INSERT ON t BEGIN UPDATE t SET x = 'c;'; DELETE FROM t WHERE 0; END;
            /* ; */ UPDATE t SET x = 'd'
            """
        let statements = MigrationScript.statements(of: sql)
        #expect(statements.count == 3, "\(statements)")
        #expect(statements.first == "INSERT INTO t (x) VALUES ('a;b');")
        #expect(statements.dropFirst().first?.hasSuffix("END;") == true)
        #expect(statements.last?.hasSuffix("UPDATE t SET x = 'd'") == true)
        #expect(MigrationScript.statements(of: "UPDATE t SET x = 1;\n\n").count == 1)
    }

    @Test func schemaChangesAreToldFromRowChanges() {
        for ddl in ["CREATE TABLE t (id INTEGER PRIMARY KEY);", "  -- why\n alter table t add column y;", "/* x */DROP TABLE t;", "\u{FEFF}Create index i on t(x);"] {
            #expect(MigrationScript.changesSchema(ddl), "\(ddl)")
        }
        for dml in ["INSERT INTO t VALUES (1);", "-- CREATE\nUPDATE t SET x = 1;", "WITH n AS (SELECT 1) INSERT INTO t SELECT * FROM n;", "DELETE FROM t;", "createx"] {
            #expect(!MigrationScript.changesSchema(dml), "\(dml)")
        }
    }
}
