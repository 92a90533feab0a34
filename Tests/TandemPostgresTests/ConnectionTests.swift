import Testing
import TandemPostgres
