// Placeholder: replaced by the FIX codec.
import TandemCore
enum TandemFIXPlaceholder {}
