// QuickFIX initiator for the Tandem FIX interop test.
//
//   initiator CONFIG [TIMEOUT_SECONDS=30] [CLORDIDS=Q1,Q2,Q3,Q4,Q5]
//
// After logon it sends five NewOrderSingles (by default ClOrdID Q1..Q5).
// Between the third and the fourth it skips two of its own outbound
// MsgSeqNums, so the counterparty sees a gap and has to ResendRequest; QuickFIX
// answers with a SequenceReset-GapFill for the skipped numbers and resends the
// later orders with PossDupFlag=Y.  Once every order has an ExecutionReport it
// logs out.
//
// Exit codes: 0 after the logout completed, 3 on timeout, 1 on a
// configuration/runtime error.
#include "qfx_common.h"

#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>

#include <atomic>
#include <exception>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace {

// Orders sent before the self-inflicted gap; the rest follow it.
const size_t kOrdersBeforeGap = 3;

class Initiator : public FIX::Application {
 public:
  explicit Initiator(std::vector<std::string> clOrdIDs)
      : m_clOrdIDs(std::move(clOrdIDs)), m_expected(m_clOrdIDs.begin(), m_clOrdIDs.end()) {}

  std::atomic<int> execs{0};
  std::atomic<int> possDupExecs{0};
  std::atomic<bool> done{false};

  void onCreate(const FIX::SessionID&) override {}

  void onLogon(const FIX::SessionID& id) override {
    qfx::event("QFXI LOGON");
    // Sent from the callback on purpose: with a SocketInitiator every session
    // action (heartbeats included) happens on this one thread, so the
    // sequence-number skip below cannot race with another send.
    if (!m_ordersSent) {
      m_ordersSent = true;
      sendOrders(id);
    }
  }

  void onLogout(const FIX::SessionID&) override {
    qfx::event("QFXI LOGOUT");
    if (m_logoutRequested) done = true;
  }

  void toAdmin(FIX::Message& m, const FIX::SessionID&) override {
    const std::string type = qfx::msgType(m);
    if (type == "2") {
      qfx::event("QFXI SENT_RESEND_REQUEST begin=%s end=%s", qfx::field(m, 7).c_str(),
                 qfx::field(m, 16).c_str());
    } else if (type == "4") {
      qfx::event("QFXI SENT_SEQRESET gapFill=%s seq=%s newSeqNo=%s",
                 qfx::field(m, 123) == "Y" ? "Y" : "N", qfx::field(m.getHeader(), 34).c_str(),
                 qfx::field(m, 36).c_str());
    } else if (type == "3") {
      qfx::event("QFXI SENT_REJECT refSeqNum=%s refTag=%s reason=%s text=%s",
                 qfx::orDash(qfx::field(m, 45)).c_str(), qfx::orDash(qfx::field(m, 371)).c_str(),
                 qfx::orDash(qfx::field(m, 373)).c_str(), qfx::field(m, 58).c_str());
    } else if (type == "5") {
      qfx::event("QFXI SENT_LOGOUT text=%s", qfx::field(m, 58).c_str());
    }
  }

  void fromAdmin(const FIX::Message& m, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
            FIX::RejectLogon) override {
    const std::string type = qfx::msgType(m);
    if (type == "2") {
      qfx::event("QFXI RESEND_REQUEST begin=%s end=%s", qfx::field(m, 7).c_str(),
                 qfx::field(m, 16).c_str());
    } else if (type == "4") {
      qfx::event("QFXI SEQRESET gapFill=%s newSeqNo=%s", qfx::field(m, 123) == "Y" ? "Y" : "N",
                 qfx::field(m, 36).c_str());
    } else if (type == "3") {
      qfx::event("QFXI REJECT refSeqNum=%s refTag=%s reason=%s text=%s",
                 qfx::orDash(qfx::field(m, 45)).c_str(), qfx::orDash(qfx::field(m, 371)).c_str(),
                 qfx::orDash(qfx::field(m, 373)).c_str(), qfx::field(m, 58).c_str());
    } else if (type == "5") {
      qfx::event("QFXI LOGOUT_RECEIVED text=%s", qfx::field(m, 58).c_str());
    }
  }

  void toApp(FIX::Message& m, const FIX::SessionID&) throw(FIX::DoNotSend) override {
    if (qfx::msgType(m) == "j") {
      qfx::event("QFXI SENT_BUSINESS_REJECT refSeqNum=%s reason=%s text=%s",
                 qfx::orDash(qfx::field(m, 45)).c_str(), qfx::orDash(qfx::field(m, 380)).c_str(),
                 qfx::field(m, 58).c_str());
    }
  }

  void fromApp(const FIX::Message& m, const FIX::SessionID& id)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
            FIX::UnsupportedMessageType) override {
    const std::string type = qfx::msgType(m);
    if (type == "j") {
      qfx::event("QFXI BUSINESS_REJECT refSeqNum=%s reason=%s text=%s",
                 qfx::orDash(qfx::field(m, 45)).c_str(), qfx::orDash(qfx::field(m, 380)).c_str(),
                 qfx::field(m, 58).c_str());
      return;
    }
    if (type != "8") {
      qfx::event("QFXI UNSUPPORTED msgType=%s", type.c_str());
      throw FIX::UnsupportedMessageType();
    }
    const std::string clOrdID = qfx::field(m, 11);
    const char dup = qfx::possDup(m);
    ++execs;
    if (dup == 'Y') ++possDupExecs;
    qfx::event("QFXI EXEC clOrdID=%s ordStatus=%s possDup=%c", clOrdID.c_str(),
               qfx::orDash(qfx::field(m, 39)).c_str(), dup);

    m_expected.erase(clOrdID);
    if (m_expected.empty() && !m_logoutRequested) {
      m_logoutRequested = true;
      qfx::event("QFXI ALL_FILLED execs=%d", execs.load());
      // Only disables the session; QuickFIX sends the Logout from next(),
      // which runs right after this callback returns.
      if (FIX::Session* s = FIX::Session::lookupSession(id)) s->logout("done");
    }
  }

 private:
  void sendOrders(const FIX::SessionID& id) {
    FIX::Session* session = FIX::Session::lookupSession(id);
    if (!session) return;
    for (size_t i = 0; i < m_clOrdIDs.size(); ++i) {
      if (i == kOrdersBeforeGap) {
        const int next = session->getExpectedSenderNum();
        session->setNextSenderMsgSeqNum(next + 2);
        qfx::event("QFXI SKIP skipped=%d..%d", next, next + 1);
      }
      FIX::Message order;
      order.getHeader().setField(35, "D");
      order.setField(11, m_clOrdIDs[i]);  // ClOrdID
      order.setField(21, "1");            // HandlInst = automated, private
      order.setField(55, "TST");          // Symbol
      order.setField(54, "1");            // Side = Buy
      order.setField(FIX::UtcTimeStampField(60, FIX::UtcTimeStamp(), 3));  // TransactTime
      order.setField(38, "100");          // OrderQty
      order.setField(40, "2");            // OrdType = Limit
      order.setField(44, "10.25");        // Price
      order.setField(59, "0");            // TimeInForce = Day
      const int seq = session->getExpectedSenderNum();
      session->send(order);
      qfx::event("QFXI ORDER clOrdID=%s seq=%d", m_clOrdIDs[i].c_str(), seq);
    }
  }

  std::vector<std::string> m_clOrdIDs;
  std::set<std::string> m_expected;  // touched only on the socket thread
  bool m_ordersSent = false;
  bool m_logoutRequested = false;
};

std::vector<std::string> splitIDs(const std::string& list) {
  std::vector<std::string> ids;
  std::stringstream in(list);
  std::string id;
  while (std::getline(in, id, ','))
    if (!id.empty()) ids.push_back(id);
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG [TIMEOUT_SECONDS=30] [CLORDIDS=Q1,Q2,Q3,Q4,Q5]\n",
                 argv[0]);
    return 1;
  }
  const int timeoutSeconds = qfx::parseTimeout(argc, argv, 2, 30);
  std::vector<std::string> ids = splitIDs(argc > 3 ? argv[3] : "Q1,Q2,Q3,Q4,Q5");
  if (ids.empty()) {
    std::fprintf(stderr, "no ClOrdIDs given\n");
    return 1;
  }

  try {
    FIX::SessionSettings settings(argv[1]);
    Initiator app(ids);
    std::unique_ptr<FIX::MessageStoreFactory> storeFactory =
        qfx::makeStoreFactory(settings, "QFXI");
    qfx::StderrLogFactory logFactory("QFXI");
    FIX::SocketInitiator initiator(app, *storeFactory, settings, logFactory);
    initiator.start();

    const auto deadline = qfx::Clock::now() + std::chrono::seconds(timeoutSeconds);
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (app.done) {
        qfx::event("QFXI DONE execs=%d possDupExecs=%d", app.execs.load(),
                   app.possDupExecs.load());
        initiator.stop(true);
        return 0;
      }
      if (qfx::Clock::now() >= deadline) {
        qfx::event("QFXI TIMEOUT execs=%d", app.execs.load());
        std::fflush(nullptr);
        std::_Exit(3);  // don't wait for the socket thread
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "QFXI ERROR %s\n", e.what());
    qfx::event("QFXI ERROR %s", e.what());
    return 1;
  }
}
