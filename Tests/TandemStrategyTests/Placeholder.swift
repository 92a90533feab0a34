import Testing
@testable import TandemStrategy
