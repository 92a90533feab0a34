// Shared helpers for the QuickFIX side of the Tandem FIX interop test.
//
// Built against Debian's libquickfix-dev 1.15.1, whose headers still use
// dynamic exception specifications: compile with -std=c++14 (not 17).
//
// Output convention (both programs):
//   stdout: one event line per protocol event, flushed immediately, for the
//           interop script to grep (see README.md for the exact formats).
//   stderr: every raw FIX message in and out (SOH shown as '|') plus
//           QuickFIX's own session events, for humans reading a failure.
#ifndef TANDEM_INTEROP_QFX_COMMON_H
#define TANDEM_INTEROP_QFX_COMMON_H

#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Log.h>
#include <quickfix/Message.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionID.h>
#include <quickfix/SessionSettings.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace qfx {

inline std::mutex& outMutex() {
  static std::mutex m;
  return m;
}

// One event line on stdout, flushed at once.
inline void event(const char* fmt, ...) {
  std::lock_guard<std::mutex> lock(outMutex());
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stdout, fmt, ap);
  va_end(ap);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

inline std::string printable(const std::string& raw) {
  std::string s(raw);
  for (char& c : s)
    if (c == '\001') c = '|';
  return s;
}

inline std::string nowStamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
  return buf;
}

// A QuickFIX Log that writes to stderr (QuickFIX's ScreenLog writes to stdout,
// which would mix with the event lines the interop script parses).
class StderrLog : public FIX::Log {
 public:
  StderrLog(const std::string& prefix, const std::string& session)
      : m_prefix(prefix), m_session(session) {}
  void clear() override {}
  void backup() override {}
  void onIncoming(const std::string& s) override { line("IN ", printable(s)); }
  void onOutgoing(const std::string& s) override { line("OUT", printable(s)); }
  void onEvent(const std::string& s) override { line("EVT", s); }

 private:
  void line(const char* kind, const std::string& text) {
    std::lock_guard<std::mutex> lock(outMutex());
    std::fprintf(stderr, "%s %s %s %s %s\n", m_prefix.c_str(), nowStamp().c_str(),
                 m_session.c_str(), kind, text.c_str());
    std::fflush(stderr);
  }
  std::string m_prefix;
  std::string m_session;
};

class StderrLogFactory : public FIX::LogFactory {
 public:
  explicit StderrLogFactory(const std::string& prefix) : m_prefix(prefix) {}
  FIX::Log* create() override { return new StderrLog(m_prefix, "global"); }
  FIX::Log* create(const FIX::SessionID& id) override {
    return new StderrLog(m_prefix, id.toString());
  }
  void destroy(FIX::Log* log) override { delete log; }

 private:
  std::string m_prefix;
};

// Raw field access that never throws: "" when absent.
inline std::string field(const FIX::FieldMap& map, int tag) {
  return map.isSetField(tag) ? map.getField(tag) : std::string();
}

inline std::string msgType(const FIX::Message& m) { return field(m.getHeader(), 35); }

// PossDupFlag (43) from the header as Y/N (N when absent).
inline char possDup(const FIX::Message& m) {
  return field(m.getHeader(), 43) == "Y" ? 'Y' : 'N';
}

inline std::string orDash(const std::string& s) { return s.empty() ? "-" : s; }

inline int parseTimeout(int argc, char** argv, int index, int fallback) {
  if (argc <= index) return fallback;
  const int v = std::atoi(argv[index]);
  return v > 0 ? v : fallback;
}

using Clock = std::chrono::steady_clock;

// FileStore when the config has FileStorePath, MemoryStore otherwise.
//
// Why not always MemoryStore: QuickFIX 1.15's MemoryStore::get(begin, end)
// starts at m_messages.find(begin), so when `begin` itself was never stored
// (exactly what setNextSenderMsgSeqNum(+2) produces) it returns nothing and
// Session::nextResendRequest answers with ONE GapFill up to the next sender
// seq, i.e. it gap-fills over application messages it did send after the
// skipped numbers.  FileStore::get looks every number up on its own and
// behaves as the FIX spec expects (GapFill for the hole, then the stored
// messages resent with PossDupFlag=Y).
inline std::unique_ptr<FIX::MessageStoreFactory> makeStoreFactory(
    const FIX::SessionSettings& settings, const char* who) {
  const std::set<FIX::SessionID> ids = settings.getSessions();
  for (const FIX::SessionID& id : ids) {
    const FIX::Dictionary& d = settings.get(id);
    if (d.has(FIX::FILE_STORE_PATH)) {
      std::fprintf(stderr, "%s store: FileStore in %s\n", who,
                   d.getString(FIX::FILE_STORE_PATH).c_str());
      return std::unique_ptr<FIX::MessageStoreFactory>(new FIX::FileStoreFactory(settings));
    }
  }
  std::fprintf(stderr, "%s store: MemoryStore\n", who);
  return std::unique_ptr<FIX::MessageStoreFactory>(new FIX::MemoryStoreFactory());
}

}  // namespace qfx

#endif
