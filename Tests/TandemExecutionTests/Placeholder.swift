import Testing
@testable import TandemExecution
