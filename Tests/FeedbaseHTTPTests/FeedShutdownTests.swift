// A server that stops (SIGTERM runs the same `stop`) answers its open long-polls at once with
// what they have, instead of leaving them to the shutdown grace period and an empty reply.

import FeedbaseApp
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct FeedShutdownTests {
    @Test(arguments: Engine.available) func aStoppingServerAnswersItsLongPollsAtOnce(engine: Engine) async throws {
        // A grace period far past the bound below: an answer within it came from the stop, not
        // from the grace period running out, however loaded the machine.
        let server = try await TestServer.start(engine: engine, configure: { $0.server.shutdownGrace = .seconds(120) })
        var connections: [HTTPConnection] = []
        let targets = ["/_changes?since=1&wait=60", "/_changes/tasks?done=is.false&since=1&wait=60"]
        do {
            _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)  // seq 1
            guard let hub = server.hub else { throw HTTPTestClientError(message: "no hub") }
            for target in targets {
                let connection = try await HTTPConnection(port: server.port, timeout: .seconds(30))
                try await connection.write("GET", target)
                connections.append(connection)
            }
            // Both long-polls wait in the hub.
            let waiting = ContinuousClock.now + .seconds(10)
            while await hub.waitingCount < targets.count && ContinuousClock.now < waiting { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await hub.waitingCount == targets.count)
        } catch {
            // Stopped on every path: on PostgreSQL a server left running holds one of the few slots.
            await server.stop()
            throw error
        }

        let started = ContinuousClock.now
        let stopping = Task { await server.stop() }
        for (target, connection) in zip(targets, connections) {
            do {
                let response = try await connection.readResponse()
                #expect(response.status == 200, "\(target)")
                #expect(response.text == #"{"changes":[],"last_seq":1}"#, "\(target)")
            } catch {
                Issue.record(error, "\(target)")
            }
            connection.close()
        }
        // The answers came long before the grace period (an empty reply after it, before).
        #expect(ContinuousClock.now - started < .seconds(60))
        await stopping.value
    }
}
