// QuickFIX acceptor acting as a tiny exchange for the Tandem FIX interop test.
//
//   executor CONFIG [TIMEOUT_SECONDS=30]
//
// Every NewOrderSingle (35=D) is answered by one ExecutionReport (35=8) that
// fills it completely.  A ClOrdID starting with "GAP" makes the executor skip
// two outbound MsgSeqNums before that report, so the counterparty sees a gap,
// sends a ResendRequest and gets a SequenceReset-GapFill (nothing is stored
// under the skipped numbers).
//
// Exit codes: 0 one second after the counterparty's Logout, 3 on timeout,
// 1 on a configuration/runtime error.
#include "qfx_common.h"

#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>

#include <atomic>
#include <exception>
#include <thread>

namespace {

std::atomic<bool> g_counterpartyLogout(false);
std::atomic<long long> g_logoutAtMs(0);

long long monoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             qfx::Clock::now().time_since_epoch())
      .count();
}

class Executor : public FIX::Application {
 public:
  void onCreate(const FIX::SessionID&) override {}

  void onLogon(const FIX::SessionID& id) override {
    qfx::event("QFX LOGON %s", id.toString().c_str());
  }

  void onLogout(const FIX::SessionID& id) override {
    qfx::event("QFX LOGOUT %s", id.toString().c_str());
  }

  void toAdmin(FIX::Message& m, const FIX::SessionID&) override {
    const std::string type = qfx::msgType(m);
    if (type == "2") {
      qfx::event("QFX SENT_RESEND_REQUEST begin=%s end=%s", qfx::field(m, 7).c_str(),
                 qfx::field(m, 16).c_str());
    } else if (type == "4") {
      qfx::event("QFX SENT_SEQRESET gapFill=%s seq=%s newSeqNo=%s",
                 qfx::field(m, 123) == "Y" ? "Y" : "N", qfx::field(m.getHeader(), 34).c_str(),
                 qfx::field(m, 36).c_str());
    } else if (type == "3") {
      qfx::event("QFX SENT_REJECT refSeqNum=%s refTag=%s reason=%s text=%s",
                 qfx::orDash(qfx::field(m, 45)).c_str(), qfx::orDash(qfx::field(m, 371)).c_str(),
                 qfx::orDash(qfx::field(m, 373)).c_str(), qfx::field(m, 58).c_str());
    } else if (type == "5") {
      qfx::event("QFX SENT_LOGOUT text=%s", qfx::field(m, 58).c_str());
    }
  }

  void fromAdmin(const FIX::Message& m, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
            FIX::RejectLogon) override {
    const std::string type = qfx::msgType(m);
    if (type == "2") {
      qfx::event("QFX RESEND_REQUEST begin=%s end=%s", qfx::field(m, 7).c_str(),
                 qfx::field(m, 16).c_str());
    } else if (type == "4") {
      qfx::event("QFX SEQRESET gapFill=%s newSeqNo=%s", qfx::field(m, 123) == "Y" ? "Y" : "N",
                 qfx::field(m, 36).c_str());
    } else if (type == "3") {
      qfx::event("QFX REJECT refSeqNum=%s refTag=%s reason=%s text=%s",
                 qfx::orDash(qfx::field(m, 45)).c_str(), qfx::orDash(qfx::field(m, 371)).c_str(),
                 qfx::orDash(qfx::field(m, 373)).c_str(), qfx::field(m, 58).c_str());
    } else if (type == "5") {
      qfx::event("QFX LOGOUT_RECEIVED text=%s", qfx::field(m, 58).c_str());
      g_logoutAtMs = monoMs();
      g_counterpartyLogout = true;
    }
  }

  void toApp(FIX::Message& m, const FIX::SessionID&) throw(FIX::DoNotSend) override {
    if (qfx::msgType(m) == "j") {
      qfx::event("QFX SENT_BUSINESS_REJECT refSeqNum=%s reason=%s text=%s",
                 qfx::orDash(qfx::field(m, 45)).c_str(), qfx::orDash(qfx::field(m, 380)).c_str(),
                 qfx::field(m, 58).c_str());
    }
  }

  void fromApp(const FIX::Message& m, const FIX::SessionID& id)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
            FIX::UnsupportedMessageType) override {
    const std::string type = qfx::msgType(m);
    if (type != "D") {
      qfx::event("QFX UNSUPPORTED msgType=%s", type.c_str());
      throw FIX::UnsupportedMessageType();  // answered with a BusinessMessageReject
    }
    const std::string clOrdID = qfx::field(m, 11);
    qfx::event("QFX ORDER clOrdID=%s possDup=%c", clOrdID.c_str(), qfx::possDup(m));
    fill(m, id, clOrdID);
  }

 private:
  void fill(const FIX::Message& order, const FIX::SessionID& id, const std::string& clOrdID) {
    FIX::Session* session = FIX::Session::lookupSession(id);
    if (!session) return;

    if (clOrdID.compare(0, 3, "GAP") == 0) {
      // The callbacks run on the acceptor's single socket thread, which is
      // also the only thread that sends on this session, so nothing else can
      // take a sequence number between the read and the write.
      const int next = session->getExpectedSenderNum();
      session->setNextSenderMsgSeqNum(next + 2);
      qfx::event("QFX SKIP skipped=%d..%d clOrdID=%s", next, next + 1, clOrdID.c_str());
    }

    const int n = ++m_orders;
    const std::string qty = order.isSetField(38) ? order.getField(38) : std::string("0");
    std::string px = qfx::field(order, 44);
    if (px.empty()) px = "100";

    FIX::Message report;
    report.getHeader().setField(35, "8");
    report.setField(37, "QFX-" + std::to_string(n));   // OrderID
    report.setField(17, "QFX-E" + std::to_string(n));  // ExecID
    report.setField(150, "F");                         // ExecType = Trade
    report.setField(39, "2");                          // OrdStatus = Filled
    report.setField(11, clOrdID);                      // ClOrdID
    if (order.isSetField(55)) report.setField(55, order.getField(55));  // Symbol
    if (order.isSetField(54)) report.setField(54, order.getField(54));  // Side
    report.setField(38, qty);   // OrderQty
    report.setField(32, qty);   // LastQty
    report.setField(31, px);    // LastPx
    report.setField(151, "0");  // LeavesQty
    report.setField(14, qty);   // CumQty
    report.setField(6, px);     // AvgPx
    report.setField(FIX::UtcTimeStampField(60, FIX::UtcTimeStamp(), 3));  // TransactTime

    const int seq = session->getExpectedSenderNum();
    session->send(report);
    qfx::event("QFX FILL clOrdID=%s orderID=QFX-%d seq=%d", clOrdID.c_str(), n, seq);
  }

  int m_orders = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG [TIMEOUT_SECONDS=30]\n", argv[0]);
    return 1;
  }
  const int timeoutSeconds = qfx::parseTimeout(argc, argv, 2, 30);

  try {
    FIX::SessionSettings settings(argv[1]);
    Executor app;
    std::unique_ptr<FIX::MessageStoreFactory> storeFactory =
        qfx::makeStoreFactory(settings, "QFX");
    qfx::StderrLogFactory logFactory("QFX");
    FIX::SocketAcceptor acceptor(app, *storeFactory, settings, logFactory);
    acceptor.start();
    qfx::event("QFX READY");

    const auto deadline = qfx::Clock::now() + std::chrono::seconds(timeoutSeconds);
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (g_counterpartyLogout && monoMs() - g_logoutAtMs >= 1000) {
        qfx::event("QFX EXIT");
        acceptor.stop(true);
        return 0;
      }
      if (qfx::Clock::now() >= deadline) {
        qfx::event("QFX TIMEOUT seconds=%d", timeoutSeconds);
        qfx::event("QFX EXIT");
        std::fflush(nullptr);
        std::_Exit(3);  // don't wait for the socket thread
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "QFX ERROR %s\n", e.what());
    qfx::event("QFX ERROR %s", e.what());
    return 1;
  }
}
