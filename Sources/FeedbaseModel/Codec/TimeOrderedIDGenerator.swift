// Server-generated ids for TEXT primary keys: UUID version 7 (RFC 9562 §5.7), lowercase.
// The first 48 bits are Unix milliseconds, so ids sort by creation time as text; within one
// millisecond (or if the clock steps back) the generator counts up, so ids from one process are
// strictly increasing. The remaining bits are random.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

package final class TimeOrderedIDGenerator: Sendable {
    private struct State {
        package var lastMilliseconds: UInt64 = 0
        package var counter: UInt64 = 0  // 42 bits: rand_a (12) and the top 30 bits of rand_b
        package var generator = SystemRandomNumberGenerator()
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> UInt64

    package init(now: @escaping @Sendable () -> UInt64 = TimeOrderedIDGenerator.currentMilliseconds) {
        self.now = now
    }

    package static func currentMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(max(0, spec.tv_sec)) * 1000 + UInt64(max(0, spec.tv_nsec)) / 1_000_000
    }

    package func next() -> String {
        let (milliseconds, counter, random) = state.withLock { state -> (UInt64, UInt64, UInt64) in
            let clock = now() & 0xffff_ffff_ffff
            if clock > state.lastMilliseconds {
                state.lastMilliseconds = clock
                // A random start with the top bit clear leaves room for 2^41 ids in this millisecond.
                state.counter = state.generator.next() & (1 << 41 - 1)
            } else {
                state.counter += 1
                if state.counter >= 1 << 42 {
                    // Counter exhausted (or the clock went back for long): borrow the next millisecond.
                    state.lastMilliseconds += 1
                    state.counter = 0
                }
            }
            return (state.lastMilliseconds, state.counter, state.generator.next() & 0xffff_ffff)
        }
        let randA = counter >> 30
        let randB = (counter & (1 << 30 - 1)) << 32 | random
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> UInt64(40 - index * 8)) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: randA >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: randA)
        let variantAndB = (0b10 << 62) | randB
        for index in 0..<8 { bytes[8 + index] = UInt8(truncatingIfNeeded: variantAndB >> UInt64(56 - index * 8)) }
        let hex = Array(Hex.lowercase(bytes).utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, digit) in hex.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append(UInt8(ascii: "-")) }
            out.append(digit)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
