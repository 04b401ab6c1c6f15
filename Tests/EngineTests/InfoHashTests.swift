import Testing

@testable import Engine

@Test func hexRoundTrip() {
    let hash = InfoHashV1(hex: "B61560C2918F463768CD122B6D2FDD47B77BDB35")
    #expect(hash?.hex == "b61560c2918f463768cd122b6d2fdd47b77bdb35")
    #expect(InfoHashV1(hex: "b61560c2918f463768cd122b6d2fdd47b77bdb3") == nil)
    #expect(InfoHashV1(hex: "x61560c2918f463768cd122b6d2fdd47b77bdb35") == nil)
}
