// Limits, rates and expiries at the ends of their ranges must not turn into arithmetic that
// overflows (a trap kills the process): a body larger than a `--max-body` past a quarter of
// Int.max is a 413 and the server lives on; an expiry timer and a Retry-After stay in range for
// every value their inputs can take.

import Foundation
import NIOCore
import Testing

@testable import FeedbaseHTTP

@Suite struct LimitOverflowTests {
    @Test func aBodyPastAHugeMaxBodyIsA413AndTheServerLives() async throws {
        try await withServer(sql: AccessMatrixTests.sql, maxBodySize: Int.max / 2) { server in
            let connection = try await HTTPConnection(port: server.port)
            defer { connection.close() }
            try await connection.write("POST", "/notes", headers: [("Content-Type", "application/json"), ("Content-Length", String(Int.max))])
            #expect(try await connection.readResponse().status == 413)
            #expect(try await server.request("GET", "/notes").status == 200)
        }
    }

    @Test func anExpiryTimerWaitsBetween10MillisecondsAndADayForAnyTimes() {
        let day = TimeAmount.milliseconds(CredentialWatch.longestWait * 1000 + 10)
        let extremes: [Int64] = [.min, .min + 1, -1, 0, 1, 1_800_000_000, 13_569_465_600, .max / 1000, .max - 1, .max]
        for expiresAt in extremes {
            for now in extremes {
                let wait = CredentialWatch.wait(until: expiresAt, nowMilliseconds: now)
                #expect(wait >= .milliseconds(10) && wait <= day, "expires \(expiresAt), now \(now): \(wait)")
            }
        }
        #expect(CredentialWatch.wait(until: 1_800_000_002, nowMilliseconds: 1_800_000_000_500) == .milliseconds(1_510))
        #expect(CredentialWatch.wait(until: 13_569_465_600, nowMilliseconds: 1_800_000_000_000) == day)
    }

    @Test func retryAfterIsOneSecondToADayForAnyWait() {
        for seconds in [-Double.infinity, -1, 0, 0.2, 1, 86_400, 1e19, .infinity, .nan] {
            let answer = RateLimiter.retryAfter(seconds)
            #expect((1...RateLimiter.longestRetryAfter).contains(answer), "\(seconds): \(answer)")
        }
        #expect(RateLimiter.retryAfter(2.5) == 3)
    }
}
