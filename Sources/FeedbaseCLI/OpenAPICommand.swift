// `feedbase openapi`: the OpenAPI document that `feedbase serve` serves at /openapi.json and
// /openapi.yaml (or, with --asyncapi, the feed's AsyncAPI document), printed without serving.

import ArgumentParser
import FeedbaseModel
import FeedbaseOpenAPI
import FeedbaseSQLite
import Foundation

struct OpenAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the OpenAPI 3.1 document of the API that 'feedbase serve' would serve.",
        discussion: """
            The schema is the database's (--db) with the pending migrations applied, worked out in \
            memory: the database is neither changed nor created. Without a database file, the \
            migrations alone make it.
            """)

    @Option(name: .long, help: "The SQLite database file, if it exists (env FEEDBASE_DB).")
    var db: String = environment("DB") ?? "feedbase.sqlite"

    @Option(name: .customLong("config"), help: "A JSON file of settings, as serve takes it (env FEEDBASE_CONFIG).")
    var config: String?

    @OptionGroup var migrationOptions: MigrationOptions

    @Option(name: .long, help: "yaml or json.")
    var format: String = "yaml"

    @Flag(name: .customLong("no-feed"), help: "Describe a server run with --no-feed (env FEEDBASE_NO_FEED=1).")
    var noFeed = environment("NO_FEED").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false

    @Flag(name: .long, help: "Print the AsyncAPI 3.0 document of the WebSocket feed instead.")
    var asyncapi = false

    @Option(name: .customLong("server-url"), help: "The server URL the document names.")
    var serverURL: String = "http://localhost:8080"

    func run() async throws {
        try reportingErrors {
            guard format == "yaml" || format == "json" else { throw CLIError("\(source("format")) must be yaml or json, not '\(format)'") }
            if asyncapi && noFeed { throw CLIError("--asyncapi describes the feed, which --no-feed turns off") }
            try requireSQLite(db, for: "openapi", instead: "a node serves its document at /openapi.json, the same on both engines")
            let schema = try SQLiteStore.schemaAfterMigrations(path: db, migrationsDirectory: migrationOptions.migrations)
            let document = asyncapi
                ? OpenAPIDocument.asyncAPI(for: schema, serverURL: serverURL)
                : OpenAPIDocument.openAPI(for: schema, feed: !noFeed, serverURL: serverURL)
            let bytes = format == "json" ? document.json() : Array(document.yaml().utf8)
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}
