import Testing

@testable import Engine

/// Announce tokens: bound to the querier's address, valid across one rotation of the secret, not two.
@Suite(.timeLimit(.minutes(1))) struct AnnounceTokensTests {
    @Test func aTokenHoldsForItsAddressForOneRotation() {
        let start = ContinuousClock.now
        var tokens = AnnounceTokens(now: start)
        let address: [UInt8] = [127, 0, 0, 5]
        let token = tokens.token(for: address, at: start)
        #expect(token.count == AnnounceTokens.length)
        let now = tokens.isValid(token, for: address, at: start)
        let elsewhere = tokens.isValid(token, for: [127, 0, 0, 6], at: start)
        let afterOne = tokens.isValid(token, for: address, at: start + AnnounceTokens.rotation + .seconds(1))
        let afterTwo = tokens.isValid(token, for: address, at: start + AnnounceTokens.rotation * 2 + .seconds(2))
        #expect(now)
        #expect(!elsewhere)
        #expect(afterOne)
        #expect(!afterTwo)
    }

    @Test func aLongSilenceInvalidatesEveryEarlierToken() {
        let start = ContinuousClock.now
        var tokens = AnnounceTokens(now: start)
        let token = tokens.token(for: [10, 0, 0, 1], at: start)
        let later = tokens.isValid(token, for: [10, 0, 0, 1], at: start + AnnounceTokens.rotation * 3)
        #expect(!later)
    }
}
