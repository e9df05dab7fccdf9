// Keys a client gives to a table whose keys PostgreSQL assigns (an identity column): the next
// assigned key follows the largest given, as SQLite's does, so a create after a PUT or a create
// with its own key never collides with it, whichever writers race.

import FeedbaseModel
import FeedbasePostgres
import Foundation
import Testing

@Suite(.needsPostgres)
struct KeySequenceTests {
    @Test func anAssignedKeyFollowsTheLargestKeyAClientGave() async throws {
        let store = try await PostgresWriteTests.store()
        let first = try await store.create(in: "projects", body: Array(#"{"name":"first"}"#.utf8)).items[0].id
        #expect(first == "1")
        let put = try await store.replace(in: "projects", id: "50", body: Array(#"{"name":"fifty"}"#.utf8), preconditions: Preconditions())
        #expect(put.created)
        let given = try await store.create(in: "projects", body: Array(#"[{"id":70,"name":"seventy"},{"id":60,"name":"sixty"}]"#.utf8))
        #expect(given.items.map(\.id) == ["70", "60"])
        let next = try await store.create(in: "projects", body: Array(#"{"name":"next"}"#.utf8)).items[0].id
        #expect(next == "71", "the next assigned key after 70 was \(next)")
        // A smaller key given later does not move the sequence back.
        _ = try await store.create(in: "projects", body: Array(#"{"id":3,"name":"three"}"#.utf8))
        #expect(try await store.create(in: "projects", body: Array(#"{"name":"after three"}"#.utf8)).items[0].id == "72")
    }

    @Test func racingWritersWithTheirOwnKeysLeaveNoCollision() async throws {
        let store = try await PostgresWriteTests.store()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for step in 0..<15 {
                        if (writer + step) % 2 == 0 {
                            let key = 1000 + writer * 100 + step * 5
                            _ = try await store.create(in: "projects", body: Array(#"{"id":\#(key),"name":"given \#(key)"}"#.utf8))
                        } else {
                            _ = try await store.create(in: "projects", body: Array(#"{"name":"assigned \#(writer)-\#(step)"}"#.utf8))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        var query = ListQuery()
        query.limit = 1000
        let page = try await store.list(in: "projects", query: query)
        #expect(page.itemCount == 60)
    }
}
