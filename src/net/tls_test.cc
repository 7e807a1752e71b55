#include "net/tls.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace herald::net {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/herald_tls_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TlsTest, SelfSignedCreatedOnceThenReused) {
  StatusOr<CertificatePaths> first = EnsureSelfSignedCertificate(dir_, "mail.example.test");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(first->key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/tls").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const std::string cert = ReadFile(first->cert_file);
  EXPECT_NE(cert.find("BEGIN CERTIFICATE"), std::string::npos);
  StatusOr<CertificatePaths> second = EnsureSelfSignedCertificate(dir_, "mail.example.test");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ReadFile(second->cert_file), cert);
  StatusOr<std::unique_ptr<TlsContext>> ctx =
      TlsContext::CreateServer({"", "", dir_, "mail.example.test"});
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_NE((*ctx)->get(), nullptr);
}

TEST_F(TlsTest, LoadsConfiguredFiles) {
  StatusOr<CertificatePaths> paths = EnsureSelfSignedCertificate(dir_, "h.test");
  ASSERT_TRUE(paths.ok());
  StatusOr<std::unique_ptr<TlsContext>> ctx =
      TlsContext::CreateServer({paths->cert_file, paths->key_file, "", "ignored"});
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ((*ctx)->cert_file(), paths->cert_file);
}

TEST_F(TlsTest, RejectsBadConfigurations) {
  EXPECT_EQ(TlsContext::CreateServer({"/nonexistent/cert.pem", "", "", "h"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(TlsContext::CreateServer({"", "", "", "h"}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(TlsContext::CreateServer({dir_ + "/missing.pem", dir_ + "/missing.key", "", "h"})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(EnsureSelfSignedCertificate(dir_, "bad host").ok());
  // A key that does not match the certificate.
  StatusOr<CertificatePaths> a = EnsureSelfSignedCertificate(dir_ + "/a", "a.test");
  std::filesystem::create_directory(dir_ + "/a");
  std::filesystem::create_directory(dir_ + "/b");
  a = EnsureSelfSignedCertificate(dir_ + "/a", "a.test");
  StatusOr<CertificatePaths> b = EnsureSelfSignedCertificate(dir_ + "/b", "b.test");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(TlsContext::CreateServer({a->cert_file, b->key_file, "", "h"}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace herald::net
