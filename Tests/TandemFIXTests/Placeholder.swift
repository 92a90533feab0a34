import Testing
@Test func fixPlaceholder() {}
