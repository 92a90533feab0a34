import Testing
@testable import TandemNode
