// Why a database file cannot be opened for writing, in words a person can act on: SQLite says
// "unable to open database file" for a missing directory and for one this user may not write
// alike, and "attempt to write a readonly database" later, without the path.

#if canImport(Glibc)
import FeedbaseModel
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum OpenDiagnosis {
    /// What keeps `path` from being opened read-write, or nil when nothing visible does.
    static func reason(_ path: String) -> String? {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return nil }
        let directory = path.lastIndex(of: "/").map { index in index == path.startIndex ? "/" : String(path[..<index]) } ?? "."
        var info = stat()
        guard stat(directory, &info) == 0 else { return "the directory \(directory) does not exist" }
        guard info.st_mode & S_IFMT == S_IFDIR else { return "\(directory) is not a directory" }
        let exists = stat(path, &info) == 0
        if exists, access(path, R_OK | W_OK) != 0 {
            return "the file is read-only for this user, and the server writes to it; change its permissions or pass --db with a writable file"
        }
        if access(directory, W_OK | X_OK) != 0 {
            return exists
                ? "its directory \(directory) is not writable for this user, and SQLite keeps its -wal and -shm files beside the database"
                : "the directory \(directory) is not writable for this user, so the database cannot be created there"
        }
        return nil
    }
}
