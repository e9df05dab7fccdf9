// The band protocol's client messages read on their own (BandMessage), as WebSocketBands and the
// fuzz target of Tests/Fuzz read them: what is taken, and the id and problem of what is refused.

import Testing

@testable import FeedbaseHTTP

@Suite struct BandMessageTests {
    func refusal(_ text: String) -> BandMessage.Refusal? {
        do {
            _ = try BandMessage.parse(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func subscribeAndUnsubscribeAreRead() throws {
        #expect(try BandMessage.parse(Array(#"{"type":"subscribe","id":"mine","url":"/tasks?done=is.false","since":120}"#.utf8))
            == .subscribe(id: "mine", url: "/tasks?done=is.false", since: 120))
        #expect(try BandMessage.parse(Array(#" { "id" : "a\u00e9" , "type" : "unsubscribe" } "#.utf8)) == .unsubscribe(id: "aé"))
    }

    @Test func refusalsCarryTheIdWhenItIsUsable() {
        #expect(refusal("[]")?.id == nil)
        #expect(refusal(#"{"type":"subscribe","id":""}"#)?.problem.errors.first?.pointer == "/id")
        #expect(refusal(#"{"type":"subscribe","id":"a"}"#)?.id == "a")
        #expect(refusal(#"{"type":"subscribe","id":"a","url":"/t","since":-1}"#)?.problem.errors.first?.pointer == "/since")
        #expect(refusal(#"{"type":"unsubscribe","id":"a","url":"/t"}"#)?.problem.errors.first?.pointer == "/url")
        #expect(refusal(#"{"type":"resubscribe","id":"a"}"#)?.problem.errors.first?.pointer == "/type")
    }

    @Test func anAuthCarriesATokenAndNothingElse() throws {
        #expect(try BandMessage.parse(Array(#"{"type":"auth","token":"fbk_x"}"#.utf8)) == .auth(token: "fbk_x"))
        #expect(refusal(#"{"type":"auth"}"#)?.problem.errors.first?.pointer == "/token")
        #expect(refusal(#"{"type":"auth","token":""}"#)?.problem.errors.first?.pointer == "/token")
        #expect(refusal(#"{"type":"auth","token":"t","id":"a"}"#)?.problem.errors.first?.pointer == "/id")
        #expect(refusal(#"{"type":"auth","token":7}"#)?.problem.status == .badRequest)
    }
}
