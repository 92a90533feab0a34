import Testing
@testable import TandemRisk
