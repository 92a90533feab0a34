import Testing
@Test func journalPlaceholder() {}
