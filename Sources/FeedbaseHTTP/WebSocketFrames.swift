// WebSocket frames written as bytes: the handler that puts a batch's encoded frames on the
// socket below NIO's frame encoder, and the encoding of text and close frames.

import NIOCore
import NIOWebSocket

/// Writes WebSocket frames already encoded as bytes. It sits at the front of the pipeline, below
/// NIO's frame encoder, so that a batch of events is one write to the socket rather than one
/// trip through the pipeline (and two buffers) per frame. Control frames (ping, pong, close)
/// still go through the encoder; both paths end in the socket's one queue, in call order.
final class FrameBytesWriter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let context: NIOLoopBoundBox<ChannelHandlerContext?>

    init(eventLoop: any EventLoop) {
        context = NIOLoopBoundBox(nil, eventLoop: eventLoop)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context.value = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context.value = nil }

    /// On the event loop. Without a context (the handler was removed: the channel closed) the
    /// promise fails.
    func write(_ frames: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let context = context.value else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(NIOAny(frames), promise: promise)
    }

    /// On the event loop.
    func flush() { context.value?.flush() }
}

extension ByteBuffer {
    /// A close frame with `code` and as much of `reason` as fits a control frame (123 bytes),
    /// cut between characters.
    mutating func writeWebSocketCloseFrame(code: WebSocketErrorCode, reason: String) {
        var payload = ByteBuffer()
        payload.write(webSocketErrorCode: code)
        var text = ""
        for character in reason {
            guard text.utf8.count + character.utf8.count <= 123 else { break }
            text.append(character)
        }
        payload.writeString(text)
        writeInteger(UInt8(0x88))
        writeInteger(UInt8(payload.readableBytes))
        writeBuffer(&payload)
    }

    /// A final, unmasked text frame (RFC 6455 §5.2: servers do not mask).
    mutating func writeWebSocketTextFrame(_ payload: [UInt8]) {
        writeInteger(UInt8(0x81))
        switch payload.count {
        case ..<126:
            writeInteger(UInt8(payload.count))
        case ...0xFFFF:
            writeInteger(UInt8(126))
            writeInteger(UInt16(payload.count))
        default:
            writeInteger(UInt8(127))
            writeInteger(UInt64(payload.count))
        }
        writeBytes(payload)
    }
}
