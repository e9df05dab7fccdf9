// The relations `select` can embed in a listed item (Embedding.swift in the store), as optional
// properties of its list-item schema: a to-one relation's object (or null), a to-many one's array,
// each described by the related collection's own list-item schema, so nesting follows the refs.

import FeedbaseModel

/// One relation as the documents name it: the key it takes in an item and the related collection.
struct DocumentedRelation {
    var name: String
    var target: CollectionSchema
    var toMany: Bool
    var foreignKey: ForeignKey
}

extension CollectionSchema {
    /// The relations `select` can name without `!` (one foreign key each), minus those whose
    /// name is a column's (the key would clash).
    func documentedRelations(in schema: Schema) -> [DocumentedRelation] {
        var relations: [DocumentedRelation] = []
        var taken = Set(columns.map(\.name))
        for name in Relation.relationNames(of: self, in: schema) where !taken.contains(name) {
            guard let relation = try? Relation.resolve(name, hint: nil, from: self, in: schema) else { continue }
            taken.insert(name)
            relations.append(DocumentedRelation(name: name, target: relation.target, toMany: relation.toMany, foreignKey: relation.foreignKey))
        }
        return relations
    }
}

extension ItemSchemas {
    var relationProperties: [(String, DocumentValue)] {
        let all = CollectionNames.assign(schema)
        return collection.documentedRelations(in: schema).compactMap { relation in
            guard let names = all.first(where: { $0.collection.name == relation.target.name }) else { return nil }
            let item: DocumentValue = ["$ref": .string("#/components/schemas/" + names.listItem)]
            if relation.toMany {
                return (relation.name, [
                    "type": "array", "items": item,
                    "description": .string(
                        "The `\(relation.target.name)` items whose `\(relation.foreignKey.column)` refers to this one, when `select` embeds "
                            + "`\(relation.name)(...)`: filtered, ordered and limited by `\(relation.name).*` parameters (docs/API.md, Embedding)."),
                ])
            }
            return (relation.name, [
                "oneOf": [item, ["type": "null"]],
                "description": .string(
                    "The `\(relation.target.name)` item `\(relation.foreignKey.column)` refers to, when `select` embeds `\(relation.name)(...)`; "
                        + "null when there is none, or when `\(relation.name).*` filters or a read rule leave it out."),
            ])
        }
    }
}
