import Testing
@testable import TandemCore
@Test func placeholder() { #expect(TandemCoreVersion.encoding == 1) }
