// The small codecs of the store: SHA-256 checksums (swift-crypto) against the NIST vectors,
// strict base64, RFC 3339 normalisation, and time-ordered ids.

import Synchronization
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct CodecTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256MatchesTheNISTVectors(message: String, digest: String) {
        #expect(Checksum.sha256(Array(message.utf8)) == digest)
    }

    @Test func sha256OfAMillionAs() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Checksum.sha256(message) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func base64RoundTripsEveryLengthAndByte() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            let encoded = Base64.encode(bytes)
            #expect(encoded.utf8.count == (length + 2) / 3 * 4)
            #expect(Base64.decode(encoded) == bytes)
            let unpadded = String(encoded.prefix { $0 != "=" })
            #expect(Base64.decode(unpadded) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
    }

    @Test(arguments: ["Zm9=", "Zg=", "Z===", "Zm9v YmFy", "Zm9v\nYmFy", "Zm9v-_", "=Zm8", "Zm8==", "Z", "Zm8=Zm8="])
    func base64RejectsNonCanonicalText(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test(arguments: [
        ("2026-11-25T10:00:00Z", "2026-11-25T10:00:00.000Z"),
        ("2026-11-25t10:00:00.5z", "2026-11-25T10:00:00.500Z"),
        ("2026-11-25 10:00:00.123456789+02:00", "2026-11-25T08:00:00.123Z"),
        ("2024-02-29T23:30:00-01:00", "2024-03-01T00:30:00.000Z"),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
    ])
    func dateTimesNormaliseToUTCMilliseconds(input: String, output: String) {
        #expect(Timestamp.normalizeDateTime(input) == output)
    }

    @Test(arguments: [
        "2026-11-25", "2026-11-25T10:00:00", "2026-02-29T10:00:00Z", "2026-11-25T24:00:00Z",
        "2026-11-25T23:59:60Z", "2026-11-25T10:00Z", "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00+2:00",
        "0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "2026-11-25T10:00:00.1234567890Z", "",
        "２０２６-11-25T10:00:00Z", "2026-11-25T10:00:00Z ",
    ])
    func invalidDateTimesAreRejected(input: String) {
        #expect(Timestamp.normalizeDateTime(input) == nil)
    }

    @Test func datesAndTimes() {
        #expect(Timestamp.isValidDate("2000-02-29") && Timestamp.isValidDate("2026-12-31"))
        #expect(!Timestamp.isValidDate("1900-02-29") && !Timestamp.isValidDate("2026-13-01"))
        #expect(!Timestamp.isValidDate("2026-1-01") && !Timestamp.isValidDate("2026-01-01T00:00:00Z"))
        #expect(Timestamp.isValidTime("00:00:00") && Timestamp.isValidTime("23:59:59.123456789"))
        #expect(!Timestamp.isValidTime("24:00:00") && !Timestamp.isValidTime("12:00") && !Timestamp.isValidTime("12:00:00."))
        #expect(Timestamp.format(millisecondsSince1970: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(millisecondsSince1970: 1_764_064_867_123) == "2025-11-25T10:01:07.123Z")
    }

    @Test func idsAreUUIDv7AndStrictlyIncreasingEvenWhenTheClockStandsStillOrStepsBack() {
        let clock = Mutex<UInt64>(1_764_064_867_123)
        let generator = TimeOrderedIDGenerator(now: { clock.withLock { $0 } })
        var previous = ""
        for step in 0..<5_000 {
            if step == 2_000 { clock.withLock { $0 -= 10_000 } }
            if step == 4_000 { clock.withLock { $0 += 20_000 } }
            let id = generator.next()
            let characters = Array(id)
            #expect(characters.count == 36 && characters[14] == "7" && "89ab".contains(characters[19]))
            #expect(id == id.lowercased())
            #expect(id > previous, "\(id) after \(previous)")
            previous = id
        }
        // The last ids carry the clock's final reading, 1_764_064_877_123 ms, in their first 48 bits.
        #expect(previous.hasPrefix("019aba75-da43"))
    }
}
