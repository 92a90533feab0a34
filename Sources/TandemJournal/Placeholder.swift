// Placeholder: replaced by the journal.
import TandemCore
enum TandemJournalPlaceholder {}
