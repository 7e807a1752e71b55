// api/api_test_util.h: fakes and request helpers for the api unit tests.
//
// Contract: FakeSending records every Submission and answers with `next`;
// FakeCredentials maps access key ids to keys; FakeVerifier records verification mails
// and answers CheckDomain and LookupTxt from a map (every lookup fails with dns_failure).
// ApiHarness wires a SesV2Api to them, a MemStore and a FakeClock, and signs requests as boto3 or
// the JS SDK v3 would. Thread-safety: single-threaded tests only. Trust: test-only.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/sesv2_api.h"
#include "auth/sigv4.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_store.h"

namespace herald::api::testing {

class FakeSending final : public sending::SendingService {
 public:
  sending::SubmitResult Submit(const sending::Submission& s) override {
    submissions.push_back(s);
    return next;
  }
  StatusOr<int64_t> SentLast24Hours(int64_t /*account_id*/) override { return sent_last_24h; }
  int64_t sent_last_24h = 0;
  std::vector<sending::Submission> submissions;
  sending::SubmitResult next = sending::Accepted{"0100018c-test-message-id-000000"};
};

class FakeCredentials final : public sending::CredentialLookup {
 public:
  std::optional<Key> LookupAccessKey(const std::string& id) override {
    auto it = keys.find(id);
    if (it == keys.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  std::optional<sending::Principal> AuthenticateSmtp(const std::string&,
                                                     const std::string&) override {
    return std::nullopt;
  }
  std::map<std::string, Key> keys;
};

class FakeVerifier final : public IdentityVerifier {
 public:
  struct Mail {
    std::string account_name;
    std::string address;
    std::string token;
  };
  void SendVerificationEmail(const sending::Principal& p, const std::string& address,
                             const std::string& token) override {
    mails.push_back({p.account_name, address, token});
  }
  store::VerificationStatus CheckDomain(const std::string& domain,
                                        const std::string& token) override {
    ++dns_checks;
    auto it = txt.find("_amazonses." + domain);
    if (it == txt.end()) {
      return dns_failure ? store::VerificationStatus::kTemporaryFailure
                         : store::VerificationStatus::kPending;
    }
    return it->second == token ? store::VerificationStatus::kSuccess
                               : store::VerificationStatus::kPending;
  }
  StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) override {
    ++txt_lookups;
    if (dns_failure) {
      return UnavailableError("dns: SERVFAIL");
    }
    std::vector<std::string> out;
    if (auto it = txt.find(name); it != txt.end()) {
      out.push_back(it->second);
    }
    return out;
  }
  std::vector<Mail> mails;
  std::map<std::string, std::string> txt;  // record name -> TXT value
  bool dns_failure = false;
  int dns_checks = 0;
  int txt_lookups = 0;
};

enum class Sdk { kBoto3, kJsV3 };

inline constexpr char kKeyId[] = "AKIAHERALDTEST000001";
inline constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
inline constexpr char kRegion[] = "us-east-1";

class ApiHarness {
 public:
  ApiHarness() {
    account_id = store.CreateAccount("acme", clock.Now()).value().id;
    sending::CredentialLookup::Key key;
    key.secret = kSecret;
    key.active = true;
    key.principal.account_id = account_id;
    key.principal.account_name = "acme";
    credentials.keys[kKeyId] = key;
    config.region = kRegion;
    // 1024-bit Easy DKIM keys are generated several times faster than 2048-bit ones.
    config.default_dkim_key_length = "RSA_1024_BIT";
  }

  SesV2Api& api() {
    if (!api_) {
      api_.emplace(config, store, sending, credentials, verifier, clock);
    }
    return *api_;
  }

  // An unsigned request as a client would send it (Host and Content-Type set).
  HttpRequest Unsigned(std::string method, std::string target, std::string body = "",
                       Sdk sdk = Sdk::kBoto3) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_addr = "192.0.2.7";
    r.headers.emplace_back("Host", "email.us-east-1.amazonaws.com");
    if (sdk == Sdk::kBoto3) {
      if (r.method != "GET" && r.method != "DELETE") {
        r.headers.emplace_back("Content-Type", "application/json");
      }
      r.headers.emplace_back("User-Agent", "Boto3/1.26.27 Python/3.11.2");
    } else {
      r.headers.emplace_back("amz-sdk-invocation-id", "6f5ab2d6-3b63-4a1b-9a77-0b1b3c4e5f60");
      r.headers.emplace_back("amz-sdk-request", "attempt=1; max=3");
      r.headers.emplace_back("content-length", std::to_string(r.body.size()));
      r.headers.emplace_back("content-type", "application/json");
      r.headers.emplace_back("x-amz-user-agent", "aws-sdk-js/3.400.0");
      r.headers.emplace_back("user-agent", "aws-sdk-js/3.400.0 ua/2.0 os/linux");
    }
    return r;
  }

  void Sign(HttpRequest& r, Sdk sdk = Sdk::kBoto3, const std::string& key_id = kKeyId,
            const std::string& secret = kSecret, const std::string& region = kRegion,
            const std::string& service = "ses") {
    auth::HttpRequestView view{r.method, r.target, r.headers, r.body};
    for (auto& h : auth::SignRequestForTest(view, key_id, secret, region, service, clock.Now(),
                                            sdk == Sdk::kJsV3)) {
      r.headers.push_back(std::move(h));
    }
  }

  HttpRequest Signed(std::string method, std::string target, std::string body = "",
                     Sdk sdk = Sdk::kBoto3) {
    HttpRequest r = Unsigned(std::move(method), std::move(target), std::move(body), sdk);
    Sign(r, sdk);
    return r;
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    Sdk sdk = Sdk::kBoto3) {
    return api().Handle(Signed(std::move(method), std::move(target), std::move(body), sdk));
  }

  FakeClock clock;
  store::MemStore store;
  FakeSending sending;
  FakeCredentials credentials;
  FakeVerifier verifier;
  ApiConfig config;
  int64_t account_id = 0;

 private:
  std::optional<SesV2Api> api_;
};

inline nlohmann::json Body(const HttpResponse& r) {
  return nlohmann::json::parse(r.body, nullptr, false);
}

inline std::string Header(const HttpResponse& r, std::string_view name) {
  const std::string* v = r.FindHeader(name);
  return v == nullptr ? std::string() : *v;
}

}  // namespace herald::api::testing
