// A scratch copy of a database with its pending migrations applied, for the commands that must
// only read (`feedbase rules`): they check against the schema the database will have, on a
// copy that is thrown away, so the database is neither changed nor created.

import FeedbaseModel
import Foundation

extension SQLiteStore {
    /// Writes to the new file `scratch` a copy of the database at `path` (none when there is no
    /// file: the migrations alone) with the migrations of `migrationsDirectory` applied.
    public static func scratchCopy(of path: String, migrationsDirectory: String, to scratch: String) throws {
        let files = try Migrator.files(in: migrationsDirectory)
        let copy = try Connection(path: scratch)
        if FileManager.default.fileExists(atPath: path) {
            try copy.copy(from: try Connection(path: path, options: ConnectionOptions(queryOnly: true)))
        }
        _ = try Migrator.migrate(files, on: copy)
    }
}
