// Where PostgreSQL's programs are, and as whom the server runs: what PostgresCluster needs
// before it can start, or the reason it cannot.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

struct Binaries: Sendable {
    var initdb: String
    var postgres: String
    var psql: String
    var pgIsReady: String
    /// As uid 0: the postgres user's ids, for the temporary directory's owner.
    var runAs: (uid: uid_t, gid: gid_t)?
    /// The prefix that runs a command as the server's user (empty when that is us).
    var asServerUser: [String]

    /// The programs PostgresCluster runs, all from one directory so their versions agree.
    static let programs = ["initdb", "postgres", "psql", "pg_isready"]

    /// FEEDBASE_POSTGRES_BIN, when set, is the only directory searched: a chosen PostgreSQL
    /// version, or (a directory without them) a run that shows the suites skipped.
    static func locate() -> Result<Binaries, ChildProcessError> {
        let environment = ProcessInfo.processInfo.environment
        if let chosen = environment["FEEDBASE_POSTGRES_BIN"] { return locate(in: [chosen], searched: "in FEEDBASE_POSTGRES_BIN (\(chosen))") }
        let path = environment["PATH"] ?? ""
        // initdb on PATH is often a symlink (Debian's /usr/bin wrappers, a /usr/local/bin link):
        // the other programs are beside its target.
        let onPath = path.split(separator: ":").compactMap { directory -> String? in
            guard let real = realpath(directory + "/initdb", nil) else { return nil }
            defer { free(real) }
            return String(String(cString: real).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
        }
        return locate(in: onPath + debianDirectories(), searched: "on PATH nor in /usr/lib/postgresql/*/bin")
    }

    private static func locate(in candidates: [String], searched: String) -> Result<Binaries, ChildProcessError> {
        guard let directory = candidates.first(where: { directory in
            programs.allSatisfy { access(directory + "/" + $0, X_OK) == 0 }
        }) else {
            return .failure(ChildProcessError(
                "PostgreSQL's server programs (\(programs.joined(separator: ", "))) are not \(searched): "
                    + "install Debian's `postgresql` to run the PostgreSQL tests"))
        }
        var binaries = Binaries(
            initdb: directory + "/initdb", postgres: directory + "/postgres", psql: directory + "/psql",
            pgIsReady: directory + "/pg_isready", runAs: nil, asServerUser: [])
        guard getuid() == 0 else { return .success(binaries) }
        // initdb and postgres refuse uid 0: run them as the `postgres` user.
        guard let entry = getpwnam("postgres") else {
            return .failure(ChildProcessError("running as root and there is no `postgres` user to run the PostgreSQL server as"))
        }
        binaries.runAs = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        if let setpriv = (["/usr/bin/setpriv", "/bin/setpriv"] as [String]).first(where: { access($0, X_OK) == 0 }) {
            binaries.asServerUser = [setpriv, "--reuid=\(entry.pointee.pw_uid)", "--regid=\(entry.pointee.pw_gid)", "--clear-groups", "--"]
        } else if let runuser = (["/usr/sbin/runuser", "/sbin/runuser"] as [String]).first(where: { access($0, X_OK) == 0 }) {
            binaries.asServerUser = [runuser, "-u", "postgres", "--"]
        } else {
            return .failure(ChildProcessError("running as root and neither setpriv nor runuser is here to run PostgreSQL as `postgres`"))
        }
        return .success(binaries)
    }

    /// Debian's /usr/lib/postgresql/<major>/bin, the newest major first.
    private static func debianDirectories() -> [String] {
        let root = "/usr/lib/postgresql"
        let majors = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init)
        return majors.sorted(by: >).map { "\(root)/\($0)/bin" }
    }
}
