// A schema built by hand, as an engine's introspection would give it: the plan layer is tested
// without any database.

import FeedbaseModel

enum Fixtures {
    static func column(
        _ name: String, _ type: ColumnType, nullable: Bool = true, key: Bool = false, references: ForeignKey? = nil
    ) -> Column {
        Column(
            name: name, declaredType: type.rawValue.uppercased(), type: type, nullable: nullable && !key, defaultSQL: nil,
            isPrimaryKey: key, isUnique: key, isGenerated: false, references: references)
    }

    static let projects: CollectionSchema = {
        let id = column("id", .integer, key: true)
        return CollectionSchema(
            name: "projects", columns: [id, column("name", .string, nullable: false), column("archived", .boolean, nullable: false)],
            primaryKey: id, keyAssignment: .serverInteger, uniqueConstraints: [["id"]], foreignKeys: [], hasRowID: true)
    }()

    static let tasks: CollectionSchema = {
        let id = column("id", .integer, key: true)
        let project = ForeignKey(column: "project_id", table: "projects", parentColumn: "id", onDelete: "CASCADE", onUpdate: "NO ACTION")
        return CollectionSchema(
            name: "tasks",
            columns: [
                id, column("project_id", .integer, nullable: false, references: project), column("title", .string, nullable: false),
                column("done", .boolean, nullable: false), column("priority", .integer), column("estimate", .number),
                column("due", .dateTime), column("tags", .json), column("attachment", .blob),
            ],
            primaryKey: id, keyAssignment: .serverInteger, uniqueConstraints: [["id"]], foreignKeys: [project], hasRowID: true)
    }()

    static let schema = Schema(collections: [projects, tasks], skipped: [])
}
