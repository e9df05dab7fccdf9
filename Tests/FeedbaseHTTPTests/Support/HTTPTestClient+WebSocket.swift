// The WebSocket side of the test client: the handshake, reading server frames, sending masked
// client frames.

extension HTTPConnection {
    /// Sends a WebSocket handshake for `target` and reads the 101 (or the refusal).
    func upgradeToWebSocket(_ target: String, headers extra: [(String, String)] = []) async throws -> HTTPResponse {
        try await offload {
            try self.bounded {
            try self.writeNow("GET", target, headers: [
                ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ] + extra)
            return try self.readResponseNow(forHEAD: true)
            }
        }
    }

    struct Frame: Sendable {
        var opcode: UInt8
        var payload: [UInt8]
        var text: String { String(decoding: payload, as: UTF8.self) }
        /// The close code of a close frame.
        var closeCode: Int? { opcode == 8 && payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil }
    }

    /// The next WebSocket frame from the server (unmasked, unfragmented).
    func nextFrame() async throws -> Frame {
        try await offload { try self.bounded { try self.nextFrameNow() } }
    }

    /// The next frame, and every further frame already received: one thread for a burst of
    /// frames, so a reader on a loaded machine keeps up with a fast feed.
    func nextFrames() async throws -> [Frame] {
        try await offload {
            try self.bounded {
                var frames = [try self.nextFrameNow()]
                while self.holdsWholeFrame() { frames.append(try self.nextFrameNow()) }
                return frames
            }
        }
    }

    /// Whether the buffer holds a whole frame (header and payload).
    private func holdsWholeFrame() -> Bool {
        guard buffer.count >= 2 else { return false }
        switch Int(buffer[1] & 0x7f) {
        case 126: return buffer.count >= 4 && buffer.count >= 4 + (Int(buffer[2]) << 8 | Int(buffer[3]))
        case 127: return buffer.count >= 10 && buffer.count >= 10 + (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
        case let length: return buffer.count >= 2 + length
        }
    }

    private func nextFrameNow() throws -> Frame {
        try fill(2)
        let opcode = buffer[0] & 0x0f
        var length = Int(buffer[1] & 0x7f)
        var header = 2
        if length == 126 {
            try fill(4)
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            header = 4
        } else if length == 127 {
            try fill(10)
            length = (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
            header = 10
        }
        try fill(header + length)
        let payload = Array(buffer[header..<header + length])
        buffer.removeFirst(header + length)
        return Frame(opcode: opcode, payload: payload)
    }

    /// Sends a masked client frame.
    func sendFrame(opcode: UInt8, payload: [UInt8]) async throws {
        var frame: [UInt8] = [0x80 | opcode]
        precondition(payload.count <= 0xFFFF)
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask: [UInt8] = [1, 2, 3, 4]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try await send(frame)
    }
}
